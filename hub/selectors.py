"""Reads: tenant-scoped QuerySets and small lookups. Nothing here writes."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from hub.models import Membership, Organisation, Referral, Task, TaskGroupObjectPermission
from hub.policies import READ_ALL_ROLES, SPOKE_ROLES
from hub.services.permissions import VIEW, permission_id


def membership_for(user: Any) -> Membership | None:
    """The user's membership (organisation and role), cached on the user object per request."""
    if user is None or not user.is_authenticated:
        return None
    cached = getattr(user, "_vihub_membership", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    membership = (
        Membership.objects.select_related("organisation", "organisation__parent").filter(user=user).first()
    )
    user._vihub_membership = membership
    return membership


def organisation_list() -> QuerySet[Organisation]:
    return Organisation.objects.select_related("parent").filter(is_active=True).order_by("kind", "code")


def task_list_for(membership: Membership) -> QuerySet[Task]:
    """Tasks the member may see. Hub coordinators and auditors see all; agencies none; everyone
    else exactly the tasks whose ``view_task`` grant (django-guardian) names their group.

    The grant lookup is one indexed semi-join on the direct-FK permission table
    (group, permission, task), instead of guardian's generic OR across user and group
    permissions, which scans the whole table at national scale.
    """
    role = membership.role
    if role in READ_ALL_ROLES:
        return Task.objects.all()
    if role not in SPOKE_ROLES:
        return Task.objects.none()
    granted = TaskGroupObjectPermission.objects.filter(
        group_id=membership.organisation.group_id, permission_id=permission_id(VIEW)
    ).values("content_object_id")
    return Task.objects.filter(pk__in=granted)


def referral_list_for(membership: Membership) -> QuerySet[Referral]:
    """Referrals the member may see: all for the hub and auditors, its own for an agency, and
    for a region or force those it holds (or oversees) a task for."""
    role = membership.role
    if role in READ_ALL_ROLES:
        return Referral.objects.all()
    if role == Membership.Role.AGENCY:
        return Referral.objects.filter(agency_id=membership.organisation_id)
    if role in SPOKE_ROLES:
        return Referral.objects.filter(pk__in=task_list_for(membership).values("referral_id"))
    return Referral.objects.none()
