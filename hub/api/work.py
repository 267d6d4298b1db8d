"""Base for viewsets whose detail actions act on a task held by the caller's organisation."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import QuerySet
from rest_framework.request import Request

from hub.api.base import HubViewSet
from hub.models import Membership, Task
from hub.policies import can_work_task
from hub.selectors import membership_for, task_list_for


class TaskScopedViewSet(HubViewSet):
    """Looks tasks up in the caller's scoped queryset (404 outside it); actions listed in
    ``worker_actions`` also need the holder's ``work_task`` grant (403 for onlookers, such as
    a region overseeing a force's task)."""

    queryset = Task.objects.all()
    worker_actions: ClassVar[frozenset[str]] = frozenset()

    def scoped_queryset(self, membership: Membership) -> QuerySet[Task]:
        return task_list_for(membership).select_related("assignee_org", "referral")

    def check_object_policy(self, request: Request, obj: Any) -> bool:
        if self.action in self.worker_actions:
            task = obj if isinstance(obj, Task) else obj.task
            return can_work_task(request.user, membership_for(request.user), task)
        return True
