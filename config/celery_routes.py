"""Which queue every Celery job runs on: the one table (after Grafana OnCall's
``settings/celery_task_routes.py``).

Guarantees: every job of ``hub``, ``spokes`` and ``safeguarding`` has exactly one entry here,
and every entry names a queue in ``QUEUES`` (``tests/hub/test_celery_routes.py`` fails on a
job without a route, a route to an undeclared queue, or a route to a job that does not exist).
The Celery app routes by this table, both for ``apply_async`` and beat and for
``hub.jobs.enqueue_now`` (``send_task`` by name), so no call site names a queue.

Queues by criticality (style.md §4.8): ``safeguarding`` (deadline sweeps, escalations, the
heartbeat), ``default`` (emails, webhooks, verification), ``retry``; ``audit`` is consumed only
by the worker that holds the checkpoint signing key (docs/deploy.md). A worker must consume
every queue a route names, or those jobs wait forever: ``Procfile.dev`` consumes all four.

Pure data, no imports: importable before Django or Celery are configured.
"""

from __future__ import annotations

QUEUES: tuple[str, ...] = ("safeguarding", "default", "retry", "audit")

CELERY_TASK_ROUTES: dict[str, dict[str, str]] = {
    # hub
    "hub.tasks.heartbeat_job": {"queue": "safeguarding"},
    "hub.tasks.deadline_sweep_job": {"queue": "safeguarding"},
    "safeguarding.tasks.monthly_summaries_job": {"queue": "default"},
    "hub.tasks.notification_email_job": {"queue": "default"},
    "hub.tasks.notification_emails_job": {"queue": "default"},
    "hub.tasks.audit_checkpoint_job": {"queue": "audit"},
    "hub.tasks.audit_verify_job": {"queue": "default"},
    "hub.tasks.audit_chain_job": {"queue": "default"},
    # A threat to life: the on-call page is as critical as an escalation.
    "hub.tasks.page_send_job": {"queue": "safeguarding"},
    "hub.tasks.pages_drain_job": {"queue": "safeguarding"},
    # First-generation material and cross-force matches are found here: safeguarding-critical.
    "hub.tasks.media_match_job": {"queue": "safeguarding"},
    "hub.tasks.media_match_drain_job": {"queue": "safeguarding"},
    "hub.tasks.media_match_sweep_job": {"queue": "safeguarding"},
    # spokes: a child nobody has accepted is a safeguarding matter
    "spokes.tasks.handoffs_overdue_job": {"queue": "safeguarding"},
    # safeguarding
    "safeguarding.tasks.webhook_deliver_job": {"queue": "default"},
    "safeguarding.tasks.outbox_drain_job": {"queue": "default"},
}
