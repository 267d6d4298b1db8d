"""Row locks, in one order everywhere: referral → task(s) → alerts → audit chain (last).

``FOR NO KEY UPDATE`` (``no_key=True``) and ``of=("self",)``: we lock only the row we change,
never the organisation or referral rows a ``select_related`` joins, and never in a mode that
blocks other transactions' foreign-key checks (``KEY SHARE``) on commit. Both matter: a plain
``FOR UPDATE`` on a joined organisation row deadlocks against any transaction inserting a row
that points at that organisation.
"""

from __future__ import annotations

from uuid import UUID

from hub.exceptions import NotFound
from hub.models import Referral, Task


def referral_lock(referral_id: UUID) -> Referral:
    return (
        Referral.objects.select_for_update(no_key=True, of=("self",))
        .select_related("agency")
        .get(pk=referral_id)
    )


def task_lock(task_id: UUID) -> Task:
    return (
        Task.objects.select_for_update(no_key=True, of=("self",))
        .select_related("assignee_org__parent", "referral__agency", "accepted_by")
        .get(pk=task_id)
    )


def task_lock_as_seen(task: Task) -> Task:
    """Lock the task and make sure it is still held by the organisation the caller's
    permission check saw. If it moved meanwhile (reassigned, handed down), the caller is now
    an outsider: the same 404 as a missing id, and nothing is changed."""
    locked = task_lock(task.pk)
    if locked.assignee_org_id != task.assignee_org_id:
        raise NotFound("Not found.")
    return locked
