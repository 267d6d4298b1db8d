"""Who sees what: the member's organisation and role, and the tenant-scoped querysets every
list, page and policy check starts from. Nothing here writes."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from django.db.models import (
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)

from hub.models import (
    Alert,
    Membership,
    Notification,
    Organisation,
    Referral,
    Task,
    TaskGroupObjectPermission,
    User,
)
from hub.policies.roles import ADMIN_ROLES, READ_ALL_ROLES, SPOKE_ROLES
from hub.selectors.deadlines import with_escalation_flag
from hub.selectors.rows import one_or_none
from hub.services.permissions import VIEW, permission_id

_NOT_LOADED = object()


def membership_for(user: Any) -> Membership | None:
    """The user's membership (organisation and role), cached on the user object per request."""
    if user is None or not user.is_authenticated:
        return None
    if hasattr(user, "_vihub_membership"):
        return cast(Membership | None, user._vihub_membership)
    loaded = user._state.fields_cache.get("membership", _NOT_LOADED)
    if loaded is not _NOT_LOADED and (loaded is None or "parent" in loaded.organisation._state.fields_cache):
        # Already fetched with the user (the API token's select_related): no second query.
        membership = cast(Membership | None, loaded)
    else:
        membership = one_or_none(
            Membership.objects.select_related("organisation", "organisation__parent").filter(user=user)
        )
    user._vihub_membership = membership
    return membership


def organisation_list() -> QuerySet[Organisation]:
    return Organisation.objects.select_related("parent").filter(is_active=True).order_by("kind", "code")


def membership_shape(membership: Membership) -> tuple[Any, ...]:
    """Everything ``task_list_for`` and ``referral_list_for`` put into their query for a member
    (the organisation, its kind and group, the role): the key under which a compiled read of
    either is shared (hub.selectors.prepared). A change to what they read of the member must
    be added here."""
    org = membership.organisation
    return (org.pk, org.kind, org.group_id, membership.role)


def task_list_for(membership: Membership) -> QuerySet[Task]:
    """Tasks the member may see. Hub coordinators and auditors see all; agencies none; everyone
    else exactly the tasks whose ``view_task`` grant (django-guardian) names their group.

    The grant is checked per row by a correlated subquery on the direct-FK permission table's
    unique (group, permission, task) index, and the rows are narrowed by the holder filter the
    grant rule implies (``hub.services.permissions`` grants a group ``view_task`` only on tasks
    held by its organisation or, for a region, by one of its forces; a test pins that rule).
    Together they let PostgreSQL walk the (assignee_org, due_at, id) index in page order, as a
    plain holder filter does: measured within 1.1-1.3x of it at 1M tasks (bench/), where
    guardian's stock ``get_objects_for_user`` is 12x slower for a small force.
    """
    role = membership.role
    if role in READ_ALL_ROLES:
        return Task.objects.all()
    if role not in SPOKE_ROLES:
        return Task.objects.none()
    org = membership.organisation
    grant = TaskGroupObjectPermission.objects.filter(
        content_object_id=OuterRef("pk"), group_id=org.group_id, permission_id=permission_id(VIEW)
    ).values("pk")[:1]
    if org.kind == Organisation.Kind.REGION:
        tasks = Task.objects.filter(assignee_org_id__in=region_holder_ids(org.pk))
    else:
        tasks = Task.objects.filter(assignee_org_id=org.pk)
    return tasks.alias(view_grant=Subquery(grant)).filter(view_grant__isnull=False)


_region_holders: dict[UUID, tuple[UUID, ...]] = {}


def region_holder_ids(region_id: UUID) -> tuple[UUID, ...]:
    """The region and its forces, cached per process by the region's id: the reference tree
    changes only through ``seed_reference`` at a release, and the scoped list should stay one
    query. (A force moving region needs a restart; ``seed_reference`` says so.)"""
    if region_id not in _region_holders:
        forces = Organisation.objects.filter(parent_id=region_id).values_list("pk", flat=True)
        _region_holders[region_id] = (region_id, *forces)
    return _region_holders[region_id]


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


def notification_list_for(user: Any) -> QuerySet[Notification]:
    """The user's inbox, limited to messages about tasks they may still see: after a task moves
    away (or the user moves organisation) its reminders leave the old holder's inbox too."""
    membership = membership_for(user)
    visible = Q(task__isnull=True)
    if membership is not None:
        visible |= Q(task__in=task_list_for(membership))
    return (
        Notification.objects.filter(visible, recipient=user)
        .select_related("task__referral__agency")
        .order_by("-created_at")
    )


def escalation_list_for(membership: Membership) -> QuerySet[Alert]:
    """Fired escalation steps on tasks the member may see (accountability: who was told, when,
    who acknowledged)."""
    return (
        Alert.objects.filter(
            kind=Alert.Kind.ESCALATION, fired_at__isnull=False, task__in=task_list_for(membership)
        )
        .select_related("task__assignee_org", "task__referral", "acknowledged_by")
        .order_by("-fired_at", "id")
    )


def tasks_for(membership: Membership) -> QuerySet[Task]:
    """The member's scoped tasks, ready to show: holder, referral and the escalation flag."""
    return with_escalation_flag(task_list_for(membership)).select_related(
        "assignee_org", "assignee_org__parent", "referral", "referral__agency", "accepted_by"
    )


def people_for(membership: Membership) -> QuerySet[User]:
    """The people a member may see: the hub and auditors everyone with a membership, others the
    people of their own organisation (the registry's visibility of a person, as a queryset)."""
    people = User.objects.filter(membership__isnull=False).select_related("membership__organisation")
    if membership.role not in READ_ALL_ROLES | ADMIN_ROLES:
        people = people.filter(membership__organisation_id=membership.organisation_id)
    return people.order_by("membership__organisation__code", "last_name", "first_name", "username")
