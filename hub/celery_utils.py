"""The house decorator for Celery jobs: time limits, acks_late and bounded retries on every
job, so no job can be declared without them. A job's queue is not set here but in the one
routing table, ``config.celery_routes.CELERY_TASK_ROUTES``."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import Token
from typing import Any

from celery import shared_task  # noqa: TID251  (this module is the one sanctioned wrapper)
from celery.signals import task_postrun, task_prerun, worker_ready
from django.conf import settings

from hub.context import request_id_var

MAX_COUNTDOWN_SECONDS = 300  # far below the Redis visibility timeout (3600 s)
REQUEST_ID_HEADER = "vihub_request_id"
# Options that would override the routing table for one job; refused (config.celery_routes).
ROUTING_OPTIONS = frozenset({"queue", "exchange", "routing_key"})
_request_tokens: dict[str, Token[str]] = {}


@task_prerun.connect  # type: ignore[untyped-decorator]  # celery signals are untyped
def _bind_request_id(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    """A job runs under the request id of the request that enqueued it (or a fresh one)."""
    incoming = getattr(task.request, REQUEST_ID_HEADER, None) if task is not None else None
    if task_id is not None:
        _request_tokens[task_id] = request_id_var.set(str(incoming) if incoming else f"job-{task_id}")


@task_postrun.connect  # type: ignore[untyped-decorator]
def _unbind_request_id(task_id: str | None = None, **kwargs: Any) -> None:
    token = _request_tokens.pop(task_id or "", None)
    if token is not None:
        request_id_var.reset(token)


def vihub_job(
    *,
    soft_time_limit: int = 60,
    time_limit: int = 90,
    autoretry_for: tuple[type[BaseException], ...] = (),
    max_retries: int = 5,
    **options: Any,
) -> Callable[[Callable[..., Any]], Any]:
    """Declare a job with soft/hard time limits, late acks, requeue on a lost worker and at
    most ``max_retries`` backed-off retries of ``autoretry_for`` (empty: none). The queue is
    deliberately not a parameter: add the job to ``config.celery_routes`` (a test fails
    until you do); passing ``queue=`` (or another routing option) raises ``TypeError``."""
    overridden = ROUTING_OPTIONS & options.keys()
    if overridden:
        raise TypeError(
            f"vihub_job() does not route jobs ({', '.join(sorted(overridden))}): use config.celery_routes"
        )

    def decorator(func: Callable[..., Any]) -> Any:
        return shared_task(
            soft_time_limit=soft_time_limit,
            time_limit=time_limit,
            acks_late=True,
            reject_on_worker_lost=True,
            autoretry_for=autoretry_for,
            retry_backoff=True,
            retry_jitter=True,
            max_retries=max_retries,
            **options,
        )(func)

    return decorator


# Jobs a fresh worker runs at once instead of waiting for beat's first tick, so /healthz is
# healthy within seconds of start-up (both are idempotent: a second worker doing it too is fine).
STARTUP_JOBS = ("hub.tasks.heartbeat_job", "hub.tasks.deadline_sweep_job")


@worker_ready.connect  # type: ignore[untyped-decorator]  # celery signals are untyped
def _run_startup_jobs(sender: Any = None, **kwargs: Any) -> None:
    app = getattr(sender, "app", None)
    if app is None or not settings.VIHUB_STARTUP_JOBS:
        return
    for name in STARTUP_JOBS:
        app.send_task(name)
