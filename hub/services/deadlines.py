"""The deadline policy: defaults, lookup, and the clocks a task gets at allocation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from hub.exceptions import DomainError
from hub.models import DeadlinePolicy, Referral

_H = timedelta(hours=1)
_D = timedelta(days=1)
# Domain brief §3: NCA grade 1 "immediate threat to life", grade 2 "≤ 2 days", grade 3 by KIRAT
# risk with Kent's timescales (very high 24 h, high 7 d, medium 14 d, low 30 d).
_M = timedelta(minutes=1)
DEFAULT_POLICY: tuple[tuple[int, str, timedelta, timedelta, timedelta, timedelta, timedelta], ...] = (
    # grade, risk ("" = any), accept within, act within, escalation step wait,
    # acknowledgement grace (then the chain climbs again), longest pause
    (1, "", 1 * _H, 24 * _H, 15 * _M, 30 * _M, 4 * _H),
    (2, "", 4 * _H, 2 * _D, 1 * _H, 2 * _H, 2 * _D),
    (3, "very_high", 4 * _H, 24 * _H, 1 * _H, 2 * _H, 2 * _D),
    (3, "high", 1 * _D, 7 * _D, 4 * _H, 8 * _H, 7 * _D),
    (3, "medium", 2 * _D, 14 * _D, 1 * _D, 1 * _D, 14 * _D),
    (3, "low", 3 * _D, 30 * _D, 1 * _D, 1 * _D, 30 * _D),
)


@transaction.atomic
def deadline_policy_ensure_defaults() -> int:
    """Create any missing default rows; never overwrite a row the hub has edited."""
    created = 0
    for grade, risk, accept, act, wait, grace, pause in DEFAULT_POLICY:
        _, was_created = DeadlinePolicy.objects.get_or_create(
            grade=grade,
            risk=risk,
            defaults={
                "accept_within": accept,
                "act_within": act,
                "escalation_step_wait": wait,
                "acknowledgement_grace": grace,
                "max_pause": pause,
            },
        )
        created += int(was_created)
    return created


def deadline_policy_for(*, grade: int, risk: str) -> DeadlinePolicy:
    """The risk-specific row for this grade if there is one, else the grade's any-risk row."""
    rows = {p.risk: p for p in DeadlinePolicy.objects.filter(grade=grade, risk__in=[risk, ""])}
    policy = rows.get(risk) or rows.get("")
    if policy is None:
        raise DomainError(f"No deadline policy for grade {grade} and risk {risk!r}", code="no_policy")
    return policy


@dataclass(frozen=True)
class Clocks:
    accept_due_at: datetime
    due_at: datetime


def clocks_for(*, referral: Referral, start: datetime) -> Clocks:
    if referral.grade is None:
        raise DomainError("Triage the referral (grade and risk) before allocating it", code="not_triaged")
    policy = deadline_policy_for(grade=referral.grade, risk=referral.risk)
    return Clocks(accept_due_at=start + policy.accept_within, due_at=start + policy.act_within)
