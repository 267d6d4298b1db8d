"""A realistic working day for the browser journeys, built through the real services (so every
state is one a user can reach). Deadlines are moved in the database where a journey needs a
task that is due soon or overdue without waiting days for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from hub.models import Organisation, Referral, Task, User
from hub.services.referrals import referral_create, referral_triage
from hub.services.tasks import task_allocate
from safeguarding.services import outcome_record, safeguarding_action_record
from spokes.services import lead_create, task_accept
from tests.conftest import Persona, make_persona
from tests.factories import acting, hub_user

PEOPLE = {
    # username: (org, role, first name, last name)
    "priya.coord": ("NCA", "coordinator", "Priya", "Shah"),
    "omar.coord": ("NCA", "coordinator", "Omar", "Haddad"),
    "dan.audit": ("NCA", "auditor", "Daniel", "Okafor"),
    "kent.vid": ("KENT", "officer", "Sam", "Fletcher"),
    "kent.sup": ("KENT", "supervisor", "Jo", "Okafor"),
    "essex.vid": ("ESSEX", "officer", "Jo", "Marsh"),
    "ersou.rc": ("ERSOU", "regional_coordinator", "Alex", "Byrne"),
    "ncmec.api": ("NCMEC", "agency", "NCMEC", "CyberTipline"),
    "nca.admin": ("NCA", "administrator", "Morgan", "Ellis"),
}

SUMMARIES = [
    "CyberTipline report: 14 images uploaded to a cloud account; 3 look first-generation; IP in Kent.",
    "Chat logs show an adult arranging to meet a 13-year-old; account email linked to a UK mobile number.",
    "Hash match on 2 known images shared in a group chat; subscriber details requested from the ISP.",
    "Livestream platform report: account flagged by classifier; no media retained, IP geolocates to Essex.",
    "Known-image match on upload; account holder appears to work at a primary school.",
    "Industry referral: sextortion messages sent to a 15-year-old; payment account in the UK.",
    "Public report via IWF: forum post links to a file-sharing folder hosted in the UK.",
    "Peer-to-peer download of known material from a residential IP address.",
]


def person(username: str) -> Persona:
    org, role, first, last = PEOPLE[username]
    persona = make_persona(username, org, role)
    User.objects.filter(pk=persona.user.pk).update(first_name=first, last_name=last)
    return persona


def org(code: str) -> Organisation:
    return Organisation.objects.get(code=code)


_counter = iter(range(4101, 99999))


def referral(
    *,
    agency: str = "NCMEC",
    force: str = "KENT",
    urgent: bool = False,
    hours_ago: float = 3,
    summary: int = 0,
) -> Referral:
    number = next(_counter)
    return referral_create(
        agency=org(agency),
        external_id=f"CT-2025-{number:06d}" if agency == "NCMEC" else f"IWF-{number}",
        actor=acting(agency, "agency"),
        received_at=timezone.now() - timedelta(hours=hours_ago),
        summary=SUMMARIES[summary % len(SUMMARIES)],
        suspect_force=org(force),
        is_urgent=urgent,
        media=[{"sha256": f"{number:064x}"}, {"sha256": f"{number + 7:064x}"}],
    ).referral


def graded(
    *,
    grade: int = 2,
    risk: str = "high",
    access: tuple[str, ...] = ("family",),
    incomplete: bool = False,
    **kwargs: object,
) -> Referral:
    return referral_triage(
        referral=referral(**kwargs),  # type: ignore[arg-type]
        actor=hub_user(),
        grade=grade,
        risk=risk,
        access_to_children=list(access),
        is_information_incomplete=incomplete,
        rationale="First-generation images; the suspect lives with children.",
    )


def task(holder: str, *, accepted: bool = False, **kwargs: object) -> Task:
    made = task_allocate(
        referral=graded(**kwargs),  # type: ignore[arg-type]
        to_org=org(holder),
        actor=hub_user(),
        instructions="Confirm the suspect's address and check for children in the household.",
    )
    if accepted:
        made = task_accept(task=made, actor=acting(holder))
    return made


def make_overdue(t: Task, *, minutes: int = 90) -> None:
    Task.objects.filter(pk=t.pk).update(due_at=timezone.now() - timedelta(minutes=minutes))


def backdate(t: Task, *, days: float, accept_hours: float) -> None:
    """As if the task had been offered ``days`` ago (grade 2: accept within 4 hours, act within
    2 days) and accepted ``accept_hours`` later: the reports then have real spreads to show."""
    start = timezone.now() - timedelta(days=days)
    Task.objects.filter(pk=t.pk).update(
        created_at=start,
        offered_at=start,
        accepted_at=start + timedelta(hours=accept_hours),
        accept_due_at=start + timedelta(hours=4),
        due_at=start + timedelta(days=2),
    )


def make_due_soon(t: Task) -> None:
    now = timezone.now()
    Task.objects.filter(pk=t.pk).update(created_at=now - timedelta(days=6), due_at=now + timedelta(hours=3))


@dataclass
class Day:
    tasks: dict[str, Task] = field(default_factory=dict)
    referrals: dict[str, Referral] = field(default_factory=dict)


def busy_board() -> Day:
    """Tasks across several regions and forces, in every deadline state."""
    day = Day()
    specs = [
        ("KENT", True, 2, "high", 1),
        ("ESSEX", False, 3, "medium", 2),
        ("GMP", True, 2, "very_high", 3),
        ("ERSOU", False, 3, "high", 4),
        ("MERSEYSIDE", False, 3, "low", 5),
        ("HERTS", True, 3, "medium", 6),
        ("TITAN", False, 1, "very_high", 7),
        ("SUFFOLK", True, 3, "high", 0),
    ]
    for i, (holder, accepted, grade, risk, summary) in enumerate(specs):
        day.tasks[f"{holder.lower()}-{i}"] = task(
            holder, accepted=accepted, grade=grade, risk=risk, summary=summary
        )
    make_overdue(day.tasks["gmp-2"])
    make_overdue(day.tasks["merseyside-4"], minutes=600)
    make_due_soon(day.tasks["herts-5"])
    make_due_soon(day.tasks["kent-0"])
    return day


def worked_task(holder: str = "KENT") -> Task:
    """A task that has been accepted and worked: a lead, a safeguarding action, an outcome."""
    t = task(holder, accepted=True, summary=4, access=("work",), incomplete=True)
    lead_create(task=t, actor=acting(holder), kind="school_or_club", description="School staff list check")
    safeguarding_action_record(
        task=t,
        actor=acting(holder),
        action="referred_mash",
        children_identified=2,
        children_safeguarded=2,
        referred_to="Kent MASH",
    )
    return t


def record_outcome(t: Task, *, summary: str = "Internal: suspect interviewed; devices seized.") -> None:
    outcome_record(
        referral=t.referral,
        actor=acting(t.assignee_org.code),
        justice_outcome="charge_summons",
        safeguarding_outcome="child_safeguarded",
        arrests=1,
        children_safeguarded=2,
        victims_identified=2,
        suspect_has_access_to_children=True,
        is_safeguarding_needed=True,
        summary=summary,
    )
