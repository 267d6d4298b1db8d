"""The spokes' reads: leads on the tasks a member may see. Nothing here writes."""

from __future__ import annotations

from django.db.models import QuerySet

from hub.models import Membership, Task
from hub.selectors import task_list_for
from spokes.models import Lead


def lead_list_for(membership: Membership) -> QuerySet[Lead]:
    """Leads on tasks in the member's scope (a lead is as visible as its task)."""
    return Lead.objects.filter(task__in=task_list_for(membership)).select_related("task", "created_by")


def leads_of(task: Task) -> list[Lead]:
    return list(Lead.objects.filter(task=task).select_related("created_by", "task"))
