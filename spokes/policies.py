"""The spokes' rows of the policy registry: accepting and declining a task, and its leads."""

from __future__ import annotations

from hub.models import Task
from hub.policies import roles as r
from hub.policies.rules import Act, Rule, holds, register, task_accepted, task_offered
from spokes.models import Child, Lead

NOT_HOLDER = "Only the organisation holding this task can work on it."

register(
    Act.TASK_ACCEPT,
    Rule(r.TASK_WORKER_ROLES, NOT_HOLDER, on=Task, scope=holds, state=task_offered("accepted")),
)
register(
    Act.TASK_DECLINE,
    Rule(r.TASK_WORKER_ROLES, NOT_HOLDER, on=Task, scope=holds, state=task_offered("declined")),
)
register(
    Act.LEAD_LIST, Rule(r.TASK_READER_ROLES, "Leads are for the hub, regions, forces and auditors.", on=Task)
)
register(
    Act.LEAD_CREATE, Rule(r.TASK_WORKER_ROLES, NOT_HOLDER, on=Task, scope=holds, state=task_accepted("work"))
)
register(
    Act.LEAD_VIEW,
    Rule(
        r.TASK_READER_ROLES,
        "Leads are for the hub, regions, forces and auditors.",
        on=Lead,
        subject=lambda lead: lead.task,
    ),
)
register(
    Act.LEAD_UPDATE,
    Rule(
        r.TASK_WORKER_ROLES,
        NOT_HOLDER,
        on=Lead,
        subject=lambda lead: lead.task,
        scope=lambda actor, lead: holds(actor, lead.task),
        state=lambda actor, lead: task_accepted("work")(actor, lead.task),
    ),
)


# The victim-identification record: children, their checks, what happened to the suspect.
READERS = "The victim-identification record is for the task's holder, its region, the hub and auditors."
register(Act.CHILD_LIST, Rule(r.TASK_READER_ROLES, READERS, on=Task))
register(
    Act.CHILD_ADD,
    Rule(r.TASK_WORKER_ROLES, NOT_HOLDER, on=Task, scope=holds, state=task_accepted("children")),
)
register(
    Act.CHILD_CHECK,
    Rule(
        r.TASK_WORKER_ROLES,
        NOT_HOLDER,
        on=Child,
        subject=lambda child: child.task,
        scope=lambda actor, child: holds(actor, child.task),
        state=lambda actor, child: task_accepted("checks")(actor, child.task),
    ),
)
register(Act.SUSPECT_EVENT_LIST, Rule(r.TASK_READER_ROLES, READERS, on=Task))
register(
    Act.SUSPECT_EVENT_RECORD,
    Rule(
        r.TASK_WORKER_ROLES,
        NOT_HOLDER,
        on=Task,
        scope=holds,
        state=task_accepted("what happened to the suspect"),
    ),
)
