"""Pure permission predicates, shared by the API, the web UI, services called from jobs and
management commands. Role sets say *what kind of person* may do a thing; object grants
(django-guardian) say *on which objects*."""

from __future__ import annotations

from typing import Any

from hub.models import Membership, Organisation, Task

R = Membership.Role

ALL_ROLES = frozenset(R.values)
HUB_ROLES = frozenset({R.COORDINATOR})
READ_ALL_ROLES = frozenset({R.COORDINATOR, R.AUDITOR})
SPOKE_ROLES = frozenset({R.OFFICER, R.SUPERVISOR, R.REGIONAL_COORDINATOR})
TASK_WORKER_ROLES = frozenset({R.OFFICER, R.SUPERVISOR, R.REGIONAL_COORDINATOR})
TASK_READER_ROLES = READ_ALL_ROLES | SPOKE_ROLES
INTAKE_ROLES = frozenset({R.AGENCY, R.COORDINATOR})
REFERRAL_READER_ROLES = READ_ALL_ROLES | SPOKE_ROLES | {R.AGENCY}
OUTCOME_ROLES = frozenset({R.COORDINATOR}) | TASK_WORKER_ROLES


def can_work_task(user: Any, membership: Membership | None, task: Task) -> bool:
    """The user's organisation holds the task (a ``work_task`` grant to its group) and the user
    has a working role there. Regional oversight grants ``view_task`` only."""
    if membership is None or membership.role not in TASK_WORKER_ROLES:
        return False
    return bool(user.has_perm("hub.work_task", task))


def can_hand_down(user: Any, membership: Membership | None, task: Task) -> bool:
    return (
        membership is not None
        and membership.role == R.REGIONAL_COORDINATOR
        and membership.organisation.kind == Organisation.Kind.REGION
        and can_work_task(user, membership, task)
    )


def sees_internal_notes(membership: Membership | None) -> bool:
    """Agencies see status and outcome codes of their referrals, never spoke-internal text."""
    return membership is not None and membership.role != R.AGENCY


ACK_ROLES = frozenset({R.COORDINATOR, R.REGIONAL_COORDINATOR, R.OFFICER, R.SUPERVISOR})
PAUSE_ROLES = frozenset({R.SUPERVISOR})
RESUME_ROLES = frozenset({R.COORDINATOR, R.OFFICER, R.SUPERVISOR, R.REGIONAL_COORDINATOR})


def can_acknowledge(user: Any, membership: Membership | None, task: Task) -> bool:
    """Anyone in the escalation chain: the holder's officers and supervisors, the region's
    coordinators (who oversee it) and the hub's coordinators."""
    if membership is None or membership.role not in ACK_ROLES:
        return False
    if membership.role in {R.COORDINATOR, R.REGIONAL_COORDINATOR}:
        return True  # the task is already in their scoped queryset
    return can_work_task(user, membership, task)


def can_pause(user: Any, membership: Membership | None, task: Task) -> bool:
    """Stopping the clocks needs a supervisor of the holding organisation."""
    return membership is not None and membership.role in PAUSE_ROLES and can_work_task(user, membership, task)


def can_resume(user: Any, membership: Membership | None, task: Task) -> bool:
    if membership is None or membership.role not in RESUME_ROLES:
        return False
    return membership.role == R.COORDINATOR or can_work_task(user, membership, task)
