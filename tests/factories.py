"""Builders for workflow states, through the real services (so every state is one a user can reach)."""

from __future__ import annotations

import uuid

from hub.models import Membership, Organisation, Referral, Task, User
from hub.services.organisations import membership_set
from hub.services.referrals import referral_create, referral_triage
from hub.services.tasks import task_allocate
from spokes.services import task_accept


def org(code: str) -> Organisation:
    return Organisation.objects.get(code=code)


def system_user() -> User:
    """A user with no organisation: fine as ``created_by`` of bulk-made rows, refused by every
    row of the policy registry."""
    user, _ = User.objects.get_or_create(username="factory-system")
    return user


def acting(org_code: str, role: str = Membership.Role.OFFICER) -> User:
    """Someone the policy registry allows to act for ``org_code`` in ``role``: the test's own
    persona when there is one (so inbox counts stay what the test expects), else a factory user."""
    existing = (
        User.objects.filter(is_active=True, membership__organisation__code=org_code, membership__role=role)
        .order_by("date_joined", "username")
        .first()
    )
    if existing is not None:
        return existing
    return membership_set(
        username=f"factory-{org_code.lower()}-{role}", org_code=org_code, role=role, actor=None
    ).user


def hub_user() -> User:
    return acting("NCA", Membership.Role.COORDINATOR)


def make_referral(*, agency: str = "NCMEC", external_id: str | None = None, urgent: bool = False) -> Referral:
    return referral_create(
        agency=org(agency),
        external_id=external_id or f"CT-{uuid.uuid4().hex[:10]}",
        actor=acting(agency, Membership.Role.AGENCY),
        summary="Hash match on upload; account linked to a UK IP address.",
        suspect_force=org("KENT"),
        is_urgent=urgent,
        media=[{"sha256": "a" * 64}],
    ).referral


def make_triaged(*, grade: int = 2, risk: str = "high", agency: str = "NCMEC") -> Referral:
    referral = make_referral(agency=agency)
    return referral_triage(
        referral=referral,
        actor=hub_user(),
        grade=grade,
        risk=risk,
        access_to_children=["family"],
        is_information_incomplete=False,
        rationale="First-generation images; suspect lives with children.",
    )


def make_task(
    *, holder: str = "KENT", accepted: bool = False, grade: int = 2, risk: str = "high", agency: str = "NCMEC"
) -> Task:
    referral = make_triaged(grade=grade, risk=risk, agency=agency)
    task = task_allocate(referral=referral, to_org=org(holder), actor=hub_user())
    if accepted:
        task = task_accept(task=task, actor=acting(holder))
    return task
