"""``seed_demo``'s outcome-feedback part (registered in ``SafeguardingConfig.ready``): the demo
agency (NCMEC) gets an endpoint on a loopback receiver (``manage.py demo_receiver``, allowed by
the embedded default's ``VIHUB_ALLOW_LOOPBACK_WEBHOOKS``), its signing secret is kept in the data
dir for that receiver to check signatures with, and one case at Kent has its outcome recorded,
so the delivery log has a delivery from the first minute."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

from hub.models import Organisation, Referral, Task, User
from hub.services.referrals import referral_create, referral_triage
from hub.services.tasks import task_allocate
from safeguarding.feedback import webhook_endpoint_set, webhook_secret_rotate
from safeguarding.models import Outcome, WebhookEndpoint
from safeguarding.services import outcome_record

EXTERNAL_ID = "CT-DEMO-0006"
RECEIVER_PORT = 8766


def receiver_port() -> int:
    return int(os.environ.get("VIHUB_DEMO_RECEIVER_PORT", RECEIVER_PORT))


def secret_path() -> Path:
    return Path(settings.DATA_DIR) / "demo-webhook-secret"


def _keep_secret(secret: str) -> None:
    path = secret_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(secret + "\n", encoding="utf-8")
    path.chmod(0o600)


def seed_feedback() -> str:
    """Idempotent: a second run keeps the endpoint (and its secret) and the case."""
    ncmec, kent = Organisation.objects.get(code="NCMEC"), Organisation.objects.get(code="KENT")
    url = f"http://127.0.0.1:{receiver_port()}/vihub-hook"
    endpoint = WebhookEndpoint.objects.filter(agency=ncmec).first()
    if endpoint is None or endpoint.url != url or not secret_path().exists():
        endpoint, secret = webhook_endpoint_set(agency=ncmec, url=url, actor=None)
        if secret is None:  # re-pointed, or the kept copy was lost: a new secret for the receiver
            secret = webhook_secret_rotate(endpoint=endpoint, actor=None)
        _keep_secret(secret)
    _worked_to_outcome(ncmec, kent)
    return (
        f"{EXTERNAL_ID}: outcome recorded at Kent and sent to NCMEC's demo endpoint {url} "
        f"(start the receiver with `make demo-receiver`; its signing secret is in {secret_path()}; "
        "the hub's delivery log is under Feedback, NCMEC's under Our referrals)."
    )


def _worked_to_outcome(ncmec: Organisation, kent: Organisation) -> None:
    """Each step only if it has not happened yet, so a run stopped half-way is finished by the
    next (the steps are separate transactions: accepting a task is a durable one)."""
    # The demo walks a case through the force's hands too; only this seeder reaches across.
    from spokes.services import task_accept

    coordinator = User.objects.get(username="demo-coordinator")
    officer = User.objects.get(username="demo-kent-officer")
    referral = Referral.objects.filter(agency=ncmec, external_id=EXTERNAL_ID).first()
    if referral is None:
        referral = referral_create(
            agency=ncmec, external_id=EXTERNAL_ID, actor=User.objects.get(username="demo-ncmec"),
            summary="Account uploading known images from a Kent address.", suspect_force=kent,
            media=[{"sha256": "6" * 64}],
        ).referral  # fmt: skip
    if referral.grade is None:
        referral = referral_triage(
            referral=referral, actor=coordinator, grade=3, risk="medium", access_to_children=["family"],
            is_information_incomplete=False, rationale="Known images only; a child lives at the address.",
        )  # fmt: skip
    task = Task.objects.filter(referral=referral, assignee_org=kent).first()
    if task is None:
        task = task_allocate(
            referral=referral, to_org=kent, actor=coordinator, instructions="Check the household."
        )
    if task.status == Task.Status.OFFERED:
        task = task_accept(task=task, actor=officer)
    if not Outcome.objects.filter(referral=referral).exists():
        outcome_record(
            referral=referral, actor=officer, justice_outcome="charge_summons",
            safeguarding_outcome="child_safeguarded", arrests=1, children_safeguarded=1, victims_identified=1,
            suspect_has_access_to_children=True, is_safeguarding_needed=True,
            summary="Charged; the child is safe with her grandparents.",
        )  # fmt: skip
