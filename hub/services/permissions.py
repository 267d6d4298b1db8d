"""Object permissions on tasks, through django-guardian grants to organisation groups.

The holder's group gets ``view_task`` and ``work_task``; the holder's region (when the holder
is a force) gets ``view_task`` for oversight. Moving a task moves the grants; callers do it in
the same transaction as the move, so nobody keeps access past the commit.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from hub.models import Organisation, Task, TaskGroupObjectPermission

VIEW = "view_task"
WORK = "work_task"


_permission_ids: dict[str, int] = {}


def permission_id(codename: str) -> int:
    """The auth_permission id for a task codename, cached per process (a hot-path lookup)."""
    if codename not in _permission_ids:
        content_type = ContentType.objects.get_for_model(Task)
        _permission_ids[codename] = (
            Permission.objects.only("id").get(content_type=content_type, codename=codename).pk
        )
    return _permission_ids[codename]


@receiver(post_migrate)
def _forget_permission_ids(**kwargs: Any) -> None:
    # Permissions are recreated after a migrate or flush, possibly with new ids.
    _permission_ids.clear()
    ContentType.objects.clear_cache()


def task_grants_for_holder(holder: Organisation) -> list[tuple[int, str]]:
    """(group id, codename) pairs that holding a task gives."""
    grants = [(holder.group_id, VIEW), (holder.group_id, WORK)]
    region = holder.region
    if holder.kind == Organisation.Kind.FORCE and region is not None:
        grants.append((region.group_id, VIEW))
    return grants


def task_grant_holder(*, task: Task, holder: Organisation) -> None:
    TaskGroupObjectPermission.objects.bulk_create(
        [
            TaskGroupObjectPermission(
                group_id=group_id, permission_id=permission_id(codename), content_object=task
            )
            for group_id, codename in task_grants_for_holder(holder)
        ],
        ignore_conflicts=True,
    )


def task_revoke_all(*, task: Task) -> int:
    deleted, _ = TaskGroupObjectPermission.objects.filter(content_object=task).delete()
    return deleted


def task_move_grants(*, task: Task, holder: Organisation) -> None:
    """Revoke every group grant on the task and grant the new holder's, atomically with the caller."""
    task_revoke_all(task=task)
    task_grant_holder(task=task, holder=holder)
