"""Six months of demo history (issue 16), so the trends and the monthly summaries show
something on a fresh `make run`: Kent and Essex steady, West Midlands drifting from 5 to 20 days
to an outcome (the drift the inspectors could not see). Each case goes through the services as a
real one would (its audit events carry today's time); its task's and outcome's timestamps are
then set back to the month it belongs to. Idempotent: a second run finds the history and leaves it.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from hub.models import Organisation, Referral, Task, User
from hub.services.organisations import membership_set
from hub.services.referrals import referral_create, referral_triage
from hub.services.tasks import task_allocate
from safeguarding.models import Outcome
from safeguarding.monthly import last_month, monthly_summaries_produce
from safeguarding.services import outcome_record
from safeguarding.trends import _at, month_starts

PREFIX = "HIST-"
# force: (days to accept, days to an outcome for each of the six months, oldest first)
SPOKES = {
    "KENT": (1, [7, 6, 8, 7, 6, 7]),
    "ESSEX": (2, [9, 10, 9, 8, 9, 10]),
    "WMP": (2, [5, 8, 11, 14, 17, 20]),
}


def seed_history() -> str:
    from spokes.services import task_accept  # the demo walks the force's steps too

    if Referral.objects.filter(external_id__startswith=PREFIX).exists():
        return "History: six months for Kent, Essex and West Midlands are already there."
    ncmec = Organisation.objects.get(code="NCMEC")
    agency = User.objects.get(username="demo-ncmec")
    coordinator = User.objects.get(username="demo-coordinator")
    months = month_starts(last_month(), 6)
    for code, (accept_days, outcome_days) in SPOKES.items():
        force = Organisation.objects.get(code=code)
        officer = (
            User.objects.get(username="demo-kent-officer")
            if code == "KENT"
            else membership_set(
                username=f"demo-{code.lower()}-officer", org_code=code, role="officer", actor=None
            ).user
        )
        for month, days in zip(months, outcome_days, strict=True):
            for n in range(2):
                referral = referral_create(
                    agency=ncmec,
                    external_id=f"{PREFIX}{code}-{month:%Y%m}-{n}",
                    actor=agency,
                    summary="Demo history: a closed case.",
                    suspect_force=force,
                    media=[{"sha256": secrets.token_hex(32)}],
                ).referral
                referral = referral_triage(
                    referral=referral,
                    actor=coordinator,
                    grade=3,
                    risk="medium",
                    access_to_children=[],
                    is_information_incomplete=False,
                    rationale="Demo history.",
                )
                task = task_accept(
                    task=task_allocate(referral=referral, to_org=force, actor=coordinator), actor=officer
                )
                outcome_record(
                    referral=referral,
                    actor=officer,
                    justice_outcome="charge_summons",
                    safeguarding_outcome="child_safeguarded",
                    arrests=1,
                    children_safeguarded=n + 1,
                    victims_identified=1,
                    suspect_has_access_to_children=bool(n),
                    is_safeguarding_needed=bool(n),
                )
                created = _at(month) + timedelta(days=2 + 3 * n, hours=10)
                done = created + timedelta(days=days + n)
                Task.objects.filter(pk=task.pk).update(
                    created_at=created,
                    offered_at=created,
                    accepted_at=created + timedelta(days=accept_days),
                    completed_at=done,
                )
                Referral.objects.filter(pk=referral.pk).update(received_at=created - timedelta(hours=6))
                Outcome.objects.filter(referral=referral).update(recorded_at=done)
    made = sum(monthly_summaries_produce(month) for month in months)
    return (
        f"History: {len(SPOKES) * len(months) * 2} closed cases over six months for Kent, Essex and "
        f"West Midlands (its time to an outcome drifting from 5 to 20 days; see Reports › Trends) "
        f"and {made} monthly summaries."
    )
