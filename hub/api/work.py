"""Base for viewsets whose detail routes live under /tasks/{id}/ (spokes' work, safeguarding)."""

from __future__ import annotations

from django.db.models import QuerySet

from hub.api.base import HubViewSet
from hub.models import Membership, Task
from hub.selectors import task_list_for


class TaskScopedViewSet(HubViewSet):
    """Looks tasks up in the caller's scoped queryset (404 outside it); what the caller may do
    to a task it sees is the policy registry's decision (``policies``)."""

    queryset = Task.objects.all()

    def scoped_queryset(self, membership: Membership) -> QuerySet[Task]:
        return task_list_for(membership).select_related("assignee_org", "referral")
