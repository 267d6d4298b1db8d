"""The spokes' rows of the policy registry: accepting and declining a task, its leads, and the
victim-identification record (children, checks, suspect events, hand-offs, outside requests)."""

from __future__ import annotations

from typing import Any

from hub.exceptions import InvalidTransition
from hub.models import Task, User
from hub.policies import roles as r
from hub.policies.rules import (
    Act,
    Actor,
    Rule,
    State,
    holds,
    register,
    register_visibility,
    task_accepted,
    task_offered,
)
from spokes.models import Child, ConferenceRequest, ExternalRequest, Handoff, Lead

NOT_HOLDER = "Only the organisation holding this task can work on it."


def _task_of(record: Any) -> Task:
    return record.task  # type: ignore[no-any-return]


def holder_works_on(model: type, doing: str, *, accepted: bool = True, state: State | None = None) -> Rule:
    """The holder's work on one of its task's records (a lead, a child, a request): as visible
    as its task, for the organisation holding it, while the task is accepted (unless
    ``accepted=False``), and passing ``state`` if given."""

    def check(actor: Actor, record: Any) -> None:
        if accepted:
            task_accepted(doing)(actor, record.task)
        if state is not None:
            state(actor, record)

    return Rule(
        r.TASK_WORKER_ROLES,
        NOT_HOLDER,
        on=model,
        subject=_task_of,
        scope=lambda actor, record: holds(actor, record.task),
        state=check,
    )


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
register(Act.LEAD_UPDATE, holder_works_on(Lead, "work"))


# The victim-identification record: children, their checks, what happened to the suspect.
READERS = "The victim-identification record is for the task's holder, its region, the hub and auditors."
register(Act.CHILD_LIST, Rule(r.TASK_READER_ROLES, READERS, on=Task))
# The holder's own risk assessment, beside the hub's grade (read with the task).
register(
    Act.TASK_REASSESS,
    Rule(r.TASK_WORKER_ROLES, NOT_HOLDER, on=Task, scope=holds, state=task_accepted("a re-assessment")),
)
register(
    Act.CHILD_ADD,
    Rule(r.TASK_WORKER_ROLES, NOT_HOLDER, on=Task, scope=holds, state=task_accepted("children")),
)
register(Act.CHILD_CHECK, holder_works_on(Child, "checks"))
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


# Hand-offs: the holder offers a child's safeguarding; the receiving organisation answers.
def _handoff_visible(actor: Actor, handoff: Handoff) -> bool:
    return actor.role in r.READ_ALL_ROLES or actor.org.pk in (handoff.to_org_id, handoff.from_org_id)


def _pending(actor: Actor, handoff: Handoff) -> None:
    if handoff.status == Handoff.Status.REVOKED:
        raise InvalidTransition("The sender withdrew this hand-off", code="revoked")
    if handoff.status != Handoff.Status.PENDING:
        raise InvalidTransition(f"This hand-off was already answered ({handoff.status})", code="answered")


register_visibility(Handoff, _handoff_visible)
register(Act.HANDOFF_OFFER, holder_works_on(Child, "hand-offs"))
register(
    Act.HANDOFF_LIST, Rule(r.ALL_ROLES, "Hand-offs are for the organisations that send and receive them.")
)
register(
    Act.SAFEGUARDING_REVIEW,
    Rule(
        r.READ_ALL_ROLES,
        "The safeguarding review (checks before each release, custody, unanswered hand-offs) "
        "is for the hub and auditors.",
    ),
)
register(
    Act.HANDOFF_ANSWER,
    Rule(
        r.ALL_ROLES - r.AUDITOR_ROLES,
        "Only the organisation a child was handed to answers the hand-off.",
        on=Handoff,
        scope=lambda actor, handoff: actor.org.pk == handoff.to_org_id,
        state=_pending,
    ),
)
# The sender withdraws an offer nobody has answered yet (Primero's revoke): the child stays with
# the task's holder, and the receiver is told and loses sight of the child's checks.
register(
    Act.HANDOFF_REVOKE,
    Rule(
        r.TASK_WORKER_ROLES,
        "Only the organisation that handed the child on can withdraw the offer.",
        on=Handoff,
        scope=lambda actor, handoff: actor.org.pk == handoff.from_org_id,
        state=_pending,
    ),
)


# Requests to platforms and overseas: the holder records them; everyone who sees the task sees
# their age; supervisors list the oldest waiting across what they see.
def _request_open(actor: Actor, request: ExternalRequest) -> None:
    if request.answered_at is not None:
        raise InvalidTransition("This request has been answered", code="answered")


register(Act.REQUEST_LIST, Rule(r.TASK_READER_ROLES, READERS, on=Task))
register(Act.REQUEST_QUEUE, Rule(r.TASK_READER_ROLES, READERS))
register(
    Act.REQUEST_ADD,
    Rule(r.TASK_WORKER_ROLES, NOT_HOLDER, on=Task, scope=holds, state=task_accepted("requests")),
)
# A request can be answered after the task's work is done: only the request must be open.
register(
    Act.REQUEST_UPDATE, holder_works_on(ExternalRequest, "requests", accepted=False, state=_request_open)
)


# Deconfliction: a holder whose media matches other cases asks the hub for a conference.
def _has_matches(actor: Actor, task: Task) -> None:
    task_accepted("a conference request")(actor, task)
    if not task.referral.media_match_count:
        raise InvalidTransition("This task's media matches no other case", code="no_matches")
    if task.conference_requests.filter(status=ConferenceRequest.Status.PENDING).exists():
        raise InvalidTransition("A conference request on this task is waiting for the hub", code="pending")


def _conference_pending(actor: Actor, request: ConferenceRequest) -> None:
    if request.status != ConferenceRequest.Status.PENDING:
        raise InvalidTransition(f"This request was already answered ({request.status})", code="answered")


register_visibility(
    ConferenceRequest,
    lambda actor, request: actor.role in r.READ_ALL_ROLES or request.task.assignee_org_id == actor.org.pk,
)
register(
    Act.CONFERENCE_REQUEST,
    Rule(r.TASK_WORKER_ROLES, NOT_HOLDER, on=Task, scope=holds, state=_has_matches),
)
register(
    Act.CONFERENCE_LIST,
    Rule(
        r.READ_ALL_ROLES | r.TASK_WORKER_ROLES, "Conference requests are for the hub and the holders asking."
    ),
)
register(
    Act.CONFERENCE_ANSWER,
    Rule(
        r.HUB_ROLES,
        "Only hub coordinators grant or refuse a conference.",
        on=ConferenceRequest,
        state=_conference_pending,
    ),
)

# The referral's media items and their review on this task (by whom, when, which category).
register(Act.MEDIA_LIST, Rule(r.TASK_READER_ROLES, READERS, on=Task))
register(
    Act.MEDIA_REVIEW,
    Rule(r.TASK_WORKER_ROLES, NOT_HOLDER, on=Task, scope=holds, state=task_accepted("a media review")),
)

# Officer wellbeing: anyone who works tasks logs their own media-review time on a task they see;
# supervisors (and the hub for its own people) see their team's hours and record debriefs.
register(
    Act.EXPOSURE_LOG,
    Rule(r.EXPOSURE_ROLES, "Exposure is logged by the people who review material on a task.", on=Task),
)
register(Act.EXPOSURE_VIEW, Rule(r.EXPOSURE_ROLES, "Exposure is logged by the people who review material."))
register(Act.WELFARE_TEAM, Rule(r.WELFARE_ROLES, "The team's exposure is for supervisors."))
register(
    Act.WELFARE_DEBRIEF,
    Rule(
        r.WELFARE_ROLES,
        "Debriefs are recorded by a supervisor of the person's own organisation.",
        on=User,
        scope=lambda actor, person: (
            getattr(getattr(person, "membership", None), "organisation_id", None) == actor.org.pk
        ),
    ),
)
