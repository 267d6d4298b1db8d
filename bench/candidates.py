"""Candidate variants of ``hub.selectors.task_list_for``, measured beside it (never used by the app).

``candidate_prefix_grant_probe`` keeps the django-guardian grant as the authority (a task is
listed only if a ``view_task`` grant names the member's group) and adds the holder filter the
grant invariant implies: the only writers of grants (``hub.services.permissions``) give a
group ``view_task`` on tasks held by its own organisation or, for a region, by one of its
forces. Two things together give PostgreSQL the plain filter's plan:

* ``assignee_org_id = <org>`` (a region: ``IN (region, its forces)``) lets it walk the
  ``(assignee_org, due_at, id)`` index in page order, as the plain filter does;
* the grant is checked by a correlated scalar subquery, ``(SELECT id FROM grants WHERE
  content_object_id = task.id AND group_id = … AND permission_id = … LIMIT 1) IS NOT NULL``,
  one probe of the unique ``(group, permission, task)`` index per row read. PostgreSQL never
  turns a scalar subquery into a join, so it cannot misjudge it as a semi-join that keeps
  only ~5 % of the holder's tasks (it does, with ``pk IN (grants)``, because it cannot know
  that the grants and the holder filter select the same rows), and then sort every task the
  holder has, or start parallel workers, to serve 51 rows.

Same rows as ``task_list_for`` for every role (the bench checks it on every run).
"""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from hub.models import Membership, Organisation, Task, TaskGroupObjectPermission
from hub.policies import READ_ALL_ROLES, SPOKE_ROLES
from hub.services.permissions import VIEW, permission_id


def holders_seen_by(org: Organisation) -> list[Any]:
    """The organisations whose tasks ``org``'s group may hold a ``view_task`` grant on."""
    if org.kind == Organisation.Kind.REGION:
        return [org.pk, *Organisation.objects.filter(parent_id=org.pk).values_list("pk", flat=True)]
    return [org.pk]


def task_list_for_prefix_grant_probe(membership: Membership) -> QuerySet[Task]:
    role = membership.role
    if role in READ_ALL_ROLES:
        return Task.objects.all()
    if role not in SPOKE_ROLES:
        return Task.objects.none()
    org = membership.organisation
    grant = TaskGroupObjectPermission.objects.filter(
        content_object_id=OuterRef("pk"), group_id=org.group_id, permission_id=permission_id(VIEW)
    ).values("pk")[:1]
    holders = holders_seen_by(org)
    tasks = (
        Task.objects.filter(assignee_org_id=holders[0])
        if len(holders) == 1
        else Task.objects.filter(assignee_org_id__in=holders)
    )
    return tasks.alias(view_grant=Subquery(grant)).filter(view_grant__isnull=False)


CANDIDATES = {"candidate_prefix_grant_probe": task_list_for_prefix_grant_probe}
