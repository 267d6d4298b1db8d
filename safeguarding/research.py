"""The anonymised research extract (issue 16): one row per referral received in a period, for
the approved research the inquiry's recommendations call for, with nothing that names or points
at a person or a case:

- no names, no free text (summaries, rationales, notes, reasons are left out entirely);
- ids replaced: each referral gets a pseudonym that is an HMAC of its id under a key made for
  this one extract and then thrown away, so rows cannot be linked back, nor to another extract;
- dates coarsened to the month, durations to whole days;
- where the work was held, to the region (never the force).

Releasing it is a disclosure: ``research_export`` records it on the audit trail with the
recipient and the approval it was released under (``research.exported``)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterator
from typing import Any

from hub.constants import AuditAction
from hub.exceptions import DomainError
from hub.models import Organisation, Referral, Task, User
from hub.policies.rules import Act, authorize
from hub.services.audit import audit_record
from safeguarding.models import Outcome
from safeguarding.reports import Period

COLUMNS = [
    "case", "agency", "received_month", "urgent", "grade", "risk", "access_to_children", "risk_factors",
    "offence_type", "first_generation", "known_victim", "holder_region", "days_to_accept",
    "days_to_outcome", "outcome_month", "justice_outcome", "safeguarding_outcome", "arrests",
    "children_safeguarded", "victims_identified",
]  # fmt: skip


def _month(moment: Any) -> str:
    return moment.strftime("%Y-%m") if moment else ""


def _days(start: Any, end: Any) -> str:
    return str(int((end - start).total_seconds() // 86400)) if start and end else ""


def research_rows(*, period: Period) -> Iterator[dict[str, str]]:
    key = secrets.token_bytes(32)  # this extract's only: never stored
    regions: dict[Any, str] = {}
    for org in Organisation.objects.select_related("parent"):
        region = org if org.kind == Organisation.Kind.REGION else org.parent
        regions[org.pk] = region.code if region is not None else ""
    received = {"referral__received_at__gte": period.since, "referral__received_at__lt": period.until}
    first_task: dict[Any, Task] = {}
    for held in Task.objects.filter(**received).order_by("created_at"):
        first_task.setdefault(held.referral_id, held)
    outcomes = {o.referral_id: o for o in Outcome.objects.filter(**received)}
    referrals = Referral.objects.filter(received_at__gte=period.since, received_at__lt=period.until)
    referrals = referrals.select_related("agency")
    for referral in referrals.order_by("received_at", "id").iterator(chunk_size=2000):
        task = first_task.get(referral.pk)
        outcome = outcomes.get(referral.pk)
        yield {
            "case": hmac.new(key, str(referral.pk).encode(), hashlib.sha256).hexdigest()[:16],
            "agency": referral.agency.code,
            "received_month": _month(referral.received_at),
            "urgent": "yes" if referral.is_urgent else "no",
            "grade": str(referral.grade or ""),
            "risk": referral.risk,
            "access_to_children": "|".join(sorted(referral.access_to_children or [])),
            "risk_factors": "|".join(sorted(referral.risk_factors or [])),
            "offence_type": referral.triage_offence_type or referral.offence_type,
            "first_generation": "yes" if referral.is_first_generation else "no",
            "known_victim": "yes" if referral.is_known_victim else "no",
            "holder_region": regions.get(task.assignee_org_id, "") if task else "",
            "days_to_accept": _days(task.offered_at, task.accepted_at) if task else "",
            "days_to_outcome": _days(referral.received_at, outcome.recorded_at) if outcome else "",
            "outcome_month": _month(outcome.recorded_at) if outcome else "",
            "justice_outcome": outcome.justice_outcome if outcome else "",
            "safeguarding_outcome": outcome.safeguarding_outcome if outcome else "",
            "arrests": str(outcome.arrests) if outcome else "",
            "children_safeguarded": str(outcome.children_safeguarded) if outcome else "",
            "victims_identified": str(outcome.victims_identified) if outcome else "",
        }


def research_export(*, actor: User, period: Period, recipient: str, approval: str) -> list[dict[str, str]]:
    """The extract's rows, recorded as a disclosure to ``recipient`` under ``approval`` (the
    research approval's reference and purpose). Both are required."""
    authorize(actor, Act.RESEARCH_EXPORT)
    recipient, approval = recipient.strip(), approval.strip()
    if len(recipient) < 3:
        raise DomainError("Name who receives the extract (the research team)", field="recipient")
    if len(approval) < 10:
        raise DomainError("Give the research approval it is released under (reference and purpose)",
                          field="approval")  # fmt: skip
    rows = list(research_rows(period=period))
    audit_record(
        actor=actor,
        action=AuditAction.RESEARCH_EXPORTED,
        object_type="research_extract",
        recipient=recipient[:200],
        justification=approval[:2000],
        changes={
            "since": period.since.isoformat(),
            "until": period.until.isoformat(),
            "rows": len(rows),
            "columns": COLUMNS,
        },  # fmt: skip
    )
    return rows
