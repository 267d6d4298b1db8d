"""The policy registry: one row per action, read by the API, the web pages and the services.

A row combines three things, checked in this order by ``authorize``:

1. **the object scope** — can the actor see the object at all? Answered by the same scoped
   querysets the lists use (``hub.selectors``). Outside it: ``NotFound`` (404), exactly as a
   missing id, so nobody learns that a record exists;
2. **the role set and the object-level test** — may someone of this role, in this relation to
   the object (holder, region overseeing it, hub, agency of origin), do this? If not:
   ``NotPermitted`` (403);
3. **the state machine** — may it be done *now*? If not: ``InvalidTransition`` (409) with the
   reason.

``available_actions(actor, obj)`` is what a page offers: the rows of that object's kind that
pass all three. Services call ``authorize`` with the row they locked, so every entry point (API,
pages, management commands, Celery jobs) obeys the same rules; DRF's permission class and the
web base view call it before a form is even read.

Apps add rows with ``register`` from their own ``policies.py``; ``check_registry`` (run when the
hub app is ready, and by the tests) fails if an action in ``Act`` has no row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured

from hub.exceptions import DomainError, InvalidTransition, NotFound, NotPermitted
from hub.models import (
    ApiToken,
    DeadlinePolicy,
    Membership,
    Notification,
    OnCallShift,
    Organisation,
    Referral,
    Task,
    User,
)
from hub.policies import roles as r
from hub.selectors import membership_for, notification_list_for, referral_list_for, task_list_for


class Act(StrEnum):
    """Every action a person can take or read they can make. A new endpoint or page names one."""

    ORGANISATION_LIST = "organisation.list"
    ORGANISATION_VIEW = "organisation.view"
    REFERRAL_LIST = "referral.list"
    REFERRAL_VIEW = "referral.view"
    REFERRAL_CREATE = "referral.create"
    REFERRAL_TRIAGE = "referral.triage"
    REFERRAL_NON_ACTIONABLE = "referral.non_actionable"
    REFERRAL_CLOSE = "referral.close"
    TRIAGE_QUEUE = "referral.triage_queue"
    TASK_LIST = "task.list"
    TASK_QUEUE = "task.our_queue"
    TASK_BOARD = "task.board"
    TASK_VIEW = "task.view"
    TASK_ALLOCATE = "task.allocate"
    TASK_REASSIGN = "task.reassign"
    TASK_ACCEPT = "task.accept"
    TASK_DECLINE = "task.decline"
    TASK_HAND_DOWN = "task.hand_down"
    TASK_ACKNOWLEDGE = "task.acknowledge"
    TASK_PAUSE = "task.pause"
    TASK_RESUME = "task.resume"
    LEAD_LIST = "lead.list"
    LEAD_VIEW = "lead.view"
    LEAD_CREATE = "lead.create"
    LEAD_UPDATE = "lead.update"
    CHILD_LIST = "child.list"
    CHILD_ADD = "child.add"
    CHILD_CHECK = "child.check"
    SUSPECT_EVENT_LIST = "suspect_event.list"
    SUSPECT_EVENT_RECORD = "suspect_event.record"
    HANDOFF_OFFER = "handoff.offer"
    HANDOFF_LIST = "handoff.list"
    HANDOFF_ANSWER = "handoff.answer"
    HANDOFF_REVOKE = "handoff.revoke"
    TASK_REASSESS = "task.reassess"
    TASK_CANCEL = "task.cancel"
    MATCH_LIST = "match.list"
    MATCH_RUN = "match.run"
    CONFERENCE_REQUEST = "conference.request"
    CONFERENCE_LIST = "conference.list"
    CONFERENCE_ANSWER = "conference.answer"
    MEDIA_LIST = "media.list"
    MEDIA_REVIEW = "media.review"
    EXPOSURE_LOG = "exposure.log"
    EXPOSURE_VIEW = "exposure.view"
    WELFARE_TEAM = "welfare.team"
    WELFARE_DEBRIEF = "welfare.debrief"
    SAFEGUARDING_REVIEW = "safeguarding.review"
    REQUEST_LIST = "external_request.list"
    REQUEST_QUEUE = "external_request.queue"
    REQUEST_ADD = "external_request.add"
    REQUEST_UPDATE = "external_request.update"
    SAFEGUARDING_LIST = "safeguarding_action.list"
    SAFEGUARDING_RECORD = "safeguarding_action.record"
    OUTCOME_VIEW = "outcome.view"
    OUTCOME_RECORD = "outcome.record"
    OUTCOME_AMEND = "outcome.amend"
    NOTIFICATION_LIST = "notification.list"
    NOTIFICATION_READ = "notification.read"
    ESCALATION_LIST = "escalation.list"
    WEBHOOK_LIST = "webhook.list"
    WEBHOOK_VIEW = "webhook.view"
    WEBHOOK_SET = "webhook.set"
    WEBHOOK_ROTATE = "webhook.rotate_secret"
    WEBHOOK_CHANGE_LIST = "webhook.change_list"
    WEBHOOK_CHANGE_DECIDE = "webhook.change_decide"
    DELIVERY_LOG = "webhook.delivery_log"
    DELIVERY_REPLAY = "webhook.replay"
    WEBHOOK_SEND_OUTSTANDING = "webhook.send_outstanding"
    AGENCY_DELIVERY_LOG = "webhook.agency_delivery_log"
    FEEDBACK_STATS = "feedback.stats"
    REPORT_VIEW = "report.view"
    RESEARCH_EXPORT = "research.export"
    TRENDS_VIEW = "report.trends"
    MONTHLY_LIST = "report.monthly_list"
    MONTHLY_DOWNLOAD = "report.monthly_download"
    AUDIT_SEARCH = "audit.search"
    AUDIT_EXPORT = "audit.export"
    AUDIT_STATUS = "audit.status"
    AUDIT_VERIFY = "audit.verify"
    AUDIT_TIMELINE = "audit.timeline"
    AUDIT_REFERRAL_TIMELINE = "audit.referral_timeline"
    AGENCY_REFERRALS = "referral.agency_view"
    ONCALL_LIST = "on_call.list"
    ONCALL_SET = "on_call.set"
    ONCALL_REMOVE = "on_call.remove"
    PEOPLE_LIST = "person.list"
    PERSON_VIEW = "person.view"
    PERSON_ADD = "person.add"
    PERSON_EDIT = "person.edit"
    PERSON_MOVE = "person.move"
    PERSON_SET_ACTIVE = "person.set_active"
    FACTORS_RESET = "person.factors_reset"
    TOKEN_LIST = "token.list"  # noqa: S105  (an action name, not a secret)
    TOKEN_ISSUE = "token.issue"  # noqa: S105
    TOKEN_REVOKE = "token.revoke"  # noqa: S105
    CONTACT_LIST = "organisation.contact_list"
    ORGANISATION_EDIT = "organisation.edit"
    DEADLINE_POLICY_VIEW = "deadline_policy.view"
    DEADLINE_POLICY_EDIT = "deadline_policy.edit"


@dataclass(frozen=True)
class Actor:
    """Who is acting: the user and their membership (organisation and role), looked up once."""

    user: User
    membership: Membership

    @property
    def role(self) -> str:
        return str(self.membership.role)

    @property
    def org(self) -> Organisation:
        return self.membership.organisation

    @property
    def is_hub(self) -> bool:
        return self.role in r.HUB_ROLES


# An object-level test beyond visibility (False → 403), and a state check that raises the 409.
Scope = Callable[[Actor, Any], bool]
State = Callable[[Actor, Any], None]


@dataclass(frozen=True)
class Placement:
    """Where a person is being put: an organisation and a role (what ``PERSON_ADD`` and the
    second half of ``PERSON_MOVE`` are checked on, before the person exists or moves)."""

    organisation: Organisation
    role: str


@dataclass(frozen=True)
class Rule:
    """One row of the rulebook.

    ``on`` is the model the action is taken on (None for a collection or a page with no object);
    ``subject`` maps that object to the one whose visibility decides the 404 (a lead → its task);
    ``operator`` lets a shell operator (a management command, actor None) do it; ``step_up``
    asks a person signed in on a page for a second factor again when theirs is older than a few
    minutes (hub/web/factors.py; API tokens are not sessions and are not asked).
    """

    roles: frozenset[str]
    refusal: str
    on: type | None = None
    scope: Scope | None = None
    state: State | None = None
    subject: Callable[[Any], Any] | None = None
    operator: bool = False
    step_up: bool = False


RULES: dict[Act, Rule] = {}

# How to tell whether an actor can see an object of a kind (registered per model by each app).
VISIBILITY: dict[type, Callable[[Actor, Any], bool]] = {}


def register(act: Act, rule: Rule) -> None:
    if act in RULES:
        raise ImproperlyConfigured(f"Policy {act} has two rows")
    RULES[act] = rule


def register_visibility(model: type, test: Callable[[Actor, Any], bool]) -> None:
    VISIBILITY[model] = test


def check_registry() -> None:
    """Every action has a row, and every row's object kind has a visibility test."""
    missing = [str(act) for act in Act if act not in RULES]
    if missing:
        raise ImproperlyConfigured(f"Policy rows missing for: {', '.join(missing)}")
    for act, rule in RULES.items():
        if rule.on is not None and rule.subject is None and rule.on not in VISIBILITY:
            raise ImproperlyConfigured(f"Policy {act}: no visibility test for {rule.on.__name__}")


def actor_for(user: Any) -> Actor | None:
    """The user as an actor, or None for anyone without an organisation and role."""
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
        return None
    membership = membership_for(user)
    return None if membership is None else Actor(user, membership)


def _visible(actor: Actor, obj: Any) -> bool:
    test = VISIBILITY.get(type(obj))
    if test is None:
        raise ImproperlyConfigured(f"No visibility test for {type(obj).__name__}")
    return test(actor, obj)


def authorize(
    user: User | None, act: Act, obj: Any = None, *, seen: bool = False, state: bool = True
) -> Actor | None:
    """Raise the refusal the contract requires, or return the actor.

    ``seen=True`` when the caller already found ``obj`` in the actor's scoped queryset (the API
    and the pages look objects up there first); ``state=False`` for the permission class, which
    decides before the input is read (the service checks the state on the locked row).
    ``user=None`` is a shell operator: allowed only on rows marked ``operator``.
    """
    rule = RULES[act]
    if user is None:
        if rule.operator:
            return None
        raise NotPermitted(rule.refusal)
    actor = actor_for(user)
    if actor is None:
        raise NotPermitted("Your account has no organisation or role yet.")
    if obj is not None and not seen:
        target = rule.subject(obj) if rule.subject is not None else obj
        if not _visible(actor, target):
            raise NotFound("Not found.")
    if actor.role not in rule.roles:
        raise NotPermitted(rule.refusal)
    if obj is not None and rule.scope is not None and not rule.scope(actor, obj):
        raise NotPermitted(rule.refusal)
    if obj is not None and state and rule.state is not None:
        rule.state(actor, obj)
    return actor


def allowed(user: User | None, act: Act, obj: Any = None, *, seen: bool = True) -> bool:
    """``authorize`` as a yes/no (for a page deciding what to show)."""
    try:
        authorize(user, act, obj, seen=seen)
    except DomainError:
        return False
    return True


def available_actions(user: User | None, obj: Any, *, among: Iterable[Act] | None = None) -> frozenset[Act]:
    """What this person may do to ``obj`` now: every row on its kind that passes (the object is
    taken as already found in the person's scope)."""
    acts = among if among is not None else [act for act, rule in RULES.items() if rule.on is type(obj)]
    return frozenset(act for act in acts if allowed(user, act, obj))


def rule_for(act: Act) -> Rule:
    return RULES[act]


# --- Scopes shared by the rows ------------------------------------------------------------------


def holds(actor: Actor, task: Task) -> bool:
    """The actor's organisation holds the task (its ``work_task`` grant); regional oversight
    grants ``view_task`` only."""
    return actor.role in r.TASK_WORKER_ROLES and bool(actor.user.has_perm("hub.work_task", task))


def holds_as_region(actor: Actor, task: Task) -> bool:
    return actor.org.kind == Organisation.Kind.REGION and holds(actor, task)


def in_chain(actor: Actor, task: Task) -> bool:
    """Acknowledging: the hub and the region (oversight) act on what they see; officers and
    supervisors only on what their organisation holds."""
    return actor.role in {r.R.COORDINATOR, r.R.REGIONAL_COORDINATOR} or holds(actor, task)


def hub_or_holder(actor: Actor, task: Task) -> bool:
    return actor.is_hub or holds(actor, task)


# --- State checks (raise the 409) ---------------------------------------------------------------


def referral_in(*allowed_statuses: str, doing: str) -> State:
    def check(actor: Actor, referral: Referral) -> None:
        if referral.status not in allowed_statuses:
            label = Referral.Status(referral.status).label
            raise InvalidTransition(f"Cannot {doing} a referral that is '{label}' ({referral.status})")

    return check


def task_offered(doing: str) -> State:
    def check(actor: Actor, task: Task) -> None:
        if task.status != Task.Status.OFFERED:
            raise InvalidTransition(f"Only an offered task can be {doing}; this one is {task.status}")

    return check


def task_accepted(doing: str) -> State:
    def check(actor: Actor, task: Task) -> None:
        if task.status != Task.Status.ACCEPTED:
            raise InvalidTransition(f"Accept the task before recording {doing} on it (it is {task.status})")

    return check


def _declined_only(actor: Actor, task: Task) -> None:
    if task.status != Task.Status.DECLINED:
        raise InvalidTransition(
            f"Only a declined task can be cancelled (it is {task.status}): reassign it instead",
            code="not_declined",
        )


def task_open(actor: Actor, task: Task) -> None:
    if not task.is_open:
        raise InvalidTransition(f"A {task.status} task cannot be moved")


def _allocatable(actor: Actor, referral: Referral) -> None:
    if referral.status not in {Referral.Status.TRIAGED, Referral.Status.ALLOCATED}:
        raise InvalidTransition(
            "Only a triaged referral can be allocated; "
            f"this one is '{Referral.Status(referral.status).label}'"
        )


def _hand_down_state(actor: Actor, task: Task) -> None:
    task_open(actor, task)
    if task.assignee_org.kind != Organisation.Kind.REGION:
        raise InvalidTransition("Only a task held by a region can be handed down")


def _pausable(actor: Actor, task: Task) -> None:
    if task.status not in Task.RUNNING_STATUSES:
        raise InvalidTransition(f"A {task.status} task cannot be paused")
    if task.is_paused:
        raise InvalidTransition("The task is already paused")
    if task.referral.grade == 1 and not actor.is_hub:
        raise InvalidTransition(
            "A grade-1 task (an immediate threat to a child's life) cannot be paused by a region or force: "
            "ask the hub",
            code="grade_1_pause",
        )


def _resumable(actor: Actor, task: Task) -> None:
    if not task.is_paused:
        raise InvalidTransition("The task is not paused")


# --- The hub's rows -------------------------------------------------------------------------------

HUB_ONLY = "Only hub coordinators can do this."
AUDITORS_ONLY = "Only auditors may read the audit trail."

register_visibility(Task, lambda actor, task: task_list_for(actor.membership).filter(pk=task.pk).exists())
register_visibility(
    Referral, lambda actor, referral: referral_list_for(actor.membership).filter(pk=referral.pk).exists()
)
register_visibility(
    Notification,
    lambda actor, note: notification_list_for(actor.user).filter(pk=note.pk).exists(),
)
register_visibility(Organisation, lambda actor, org: True)


# People: the hub and auditors see everyone; others the people of their own organisation.
def _org_of(person: User) -> Any:
    return getattr(getattr(person, "membership", None), "organisation_id", None)


def _role_of(person: User) -> Any:
    return getattr(getattr(person, "membership", None), "role", None)


register_visibility(
    User,
    lambda actor, person: (
        actor.role in r.READ_ALL_ROLES or actor.role in r.ADMIN_ROLES or _org_of(person) == actor.org.pk
    ),
)
register_visibility(OnCallShift, lambda actor, shift: actor.role in r.READ_ALL_ROLES)
# A token is the administrator's to see (to anyone else it does not exist); the deadline policy
# is no secret (a refusal to change it is a 403); a placement is checked by its scope.
register_visibility(ApiToken, lambda actor, token: actor.role in r.ADMIN_ROLES)
register_visibility(DeadlinePolicy, lambda actor, policy: True)
register_visibility(Placement, lambda actor, placement: True)


def _edits(actor: Actor, person: User) -> bool:
    """The administrator edits anyone's account; a supervisor the officers and supervisors of
    their own organisation (themselves included)."""
    if actor.role in r.ADMIN_ROLES:
        return True
    return _org_of(person) == actor.org.pk and _role_of(person) in r.SUPERVISOR_GRANTS


def _manages(actor: Actor, person: User) -> bool:
    """Moving or switching someone off: as ``_edits``, never oneself (someone else does it)."""
    return person.pk != actor.user.pk and _edits(actor, person)


def _places(actor: Actor, placement: Placement) -> bool:
    """The administrator puts people anywhere (the service checks the role fits the kind); a
    supervisor only officers and supervisors, only in their own organisation."""
    if actor.role in r.ADMIN_ROLES:
        return True
    return placement.organisation.pk == actor.org.pk and placement.role in r.SUPERVISOR_GRANTS


def person_is_active(actor: Actor | None, person: User) -> None:
    if not person.is_active:
        raise InvalidTransition(f"{person.username} is switched off: switch them on first", code="inactive")


def _token_live(actor: Actor, token: ApiToken) -> None:
    if token.revoked_at is not None:
        raise InvalidTransition("This token is already revoked", code="already_revoked")


def _resets_factors_of(actor: Actor, person: User) -> bool:
    """The administrator for anyone; a hub coordinator for the people outside the hub; a
    supervisor for the people of their own organisation; never oneself (someone else checks
    that it is really you). The hub's own people (coordinators, auditors, the administrator)
    are reset by the administrator only: a coordinator who knew a colleague's or an auditor's
    password could otherwise reset their factor, enrol their own and act as them."""
    if person.pk == actor.user.pk:
        return False
    if actor.role in r.ADMIN_ROLES:
        return True
    if actor.is_hub:
        return bool(_org_of(person) != actor.org.pk)
    return bool(_org_of(person) == actor.org.pk)


_ROWS: dict[Act, Rule] = {
    Act.ORGANISATION_LIST: Rule(r.ALL_ROLES, "Organisations are for signed-in members."),
    Act.ORGANISATION_VIEW: Rule(r.ALL_ROLES, "Organisations are for signed-in members.", on=Organisation),
    # Referrals. An agency's scope is the referrals it made; a spoke's those it holds a task for.
    Act.REFERRAL_LIST: Rule(r.REFERRAL_READER_ROLES, "Referrals are not shown to your role."),
    Act.REFERRAL_VIEW: Rule(r.REFERRAL_READER_ROLES, "Referrals are not shown to your role.", on=Referral),
    # On the referring agency: an agency posts its own referrals; the hub enters anyone's by hand.
    Act.REFERRAL_CREATE: Rule(
        r.INTAKE_ROLES,
        "Referrals are posted by agencies or entered by the hub.",
        on=Organisation,
        scope=lambda actor, agency: actor.is_hub or actor.org.pk == agency.pk,
    ),
    Act.AGENCY_REFERRALS: Rule(r.AGENCY_ROLES, "This page is for referring agencies."),
    Act.TRIAGE_QUEUE: Rule(r.HUB_ROLES, "The triage queue is for hub coordinators."),
    Act.REFERRAL_TRIAGE: Rule(
        r.HUB_ROLES,
        "Only hub coordinators grade and allocate referrals.",
        on=Referral,
        state=referral_in(
            Referral.Status.RECEIVED, Referral.Status.TRIAGED, Referral.Status.ALLOCATED, doing="triage"
        ),
    ),
    Act.REFERRAL_NON_ACTIONABLE: Rule(
        r.HUB_ROLES,
        "Only hub coordinators close referrals.",
        on=Referral,
        state=referral_in(Referral.Status.RECEIVED, Referral.Status.TRIAGED, doing="close as non-actionable"),
    ),
    Act.REFERRAL_CLOSE: Rule(
        r.HUB_ROLES,
        "Only hub coordinators close referrals.",
        on=Referral,
        state=referral_in(Referral.Status.OUTCOME_RECORDED, doing="close"),
    ),
    # Media matches name other referrals and their holders: for the hub and auditors only (a
    # spoke sees a count on its task and asks the hub for a conference).
    Act.MATCH_LIST: Rule(
        r.READ_ALL_ROLES,
        "Media matches are for the hub and auditors; ask the hub for a conference.",
        on=Referral,
    ),
    Act.MATCH_RUN: Rule(r.HUB_ROLES, "Only hub coordinators re-run media matching.", on=Referral),
    Act.TASK_ALLOCATE: Rule(
        r.HUB_ROLES, "Only hub coordinators allocate tasks.", on=Referral, state=_allocatable
    ),
    # A declined task the hub will not move: closed as cancelled, so the holder can be offered
    # the referral again (a declined task still counts as open).
    Act.TASK_CANCEL: Rule(r.HUB_ROLES, "Only hub coordinators cancel tasks.", on=Task, state=_declined_only),
    # Tasks.
    Act.TASK_LIST: Rule(r.TASK_READER_ROLES | r.AGENCY_ROLES, "Task lists are for the hub and spokes."),
    Act.TASK_BOARD: Rule(r.READ_ALL_ROLES, "The board of all tasks is for the hub."),
    # "Our tasks", the spokes' page (the hub and auditors are sent to the board).
    Act.TASK_QUEUE: Rule(r.TASK_READER_ROLES, "Task lists are for regions and forces."),
    Act.TASK_VIEW: Rule(r.TASK_READER_ROLES, "Tasks are for the hub, regions, forces and auditors.", on=Task),
    Act.TASK_REASSIGN: Rule(r.HUB_ROLES, "Only hub coordinators reassign tasks.", on=Task, state=task_open),
    Act.TASK_ACKNOWLEDGE: Rule(
        r.ACK_ROLES,
        "Only the holder's supervisors, its region or the hub acknowledge this task's escalation.",
        on=Task,
        scope=in_chain,
    ),
    Act.TASK_PAUSE: Rule(
        r.HUB_ROLES | r.SUPERVISOR_ROLES,
        "Only a supervisor of the holding organisation, or the hub, stops the clocks.",
        on=Task,
        scope=hub_or_holder,
        state=_pausable,
    ),
    Act.TASK_RESUME: Rule(
        r.RESUME_ROLES,
        "Only the holder or the hub restarts this task's clocks.",
        on=Task,
        scope=hub_or_holder,
        state=_resumable,
    ),
    Act.TASK_HAND_DOWN: Rule(
        r.REGION_ROLES,
        "Only the region holding this task can hand it down.",
        on=Task,
        scope=holds_as_region,
        state=_hand_down_state,
    ),
    # The inbox and escalations.
    Act.NOTIFICATION_LIST: Rule(r.ALL_ROLES, "Your inbox is for signed-in members."),
    Act.NOTIFICATION_READ: Rule(r.ALL_ROLES, "Only the recipient marks a message read.", on=Notification),
    Act.ESCALATION_LIST: Rule(r.TASK_READER_ROLES, "Escalations are for the hub and spokes."),
    # The on-call rota: the hub keeps it; auditors read it.
    Act.ONCALL_LIST: Rule(r.READ_ALL_ROLES, "The on-call rota is the hub's."),
    Act.ONCALL_SET: Rule(r.HUB_ROLES, "Only hub coordinators change the on-call rota."),
    Act.ONCALL_REMOVE: Rule(r.HUB_ROLES, "Only hub coordinators change the on-call rota.", on=OnCallShift),
    # People's accounts.
    Act.PEOPLE_LIST: Rule(
        r.PEOPLE_ADMIN_ROLES, "People's accounts are looked after by the hub and supervisors."
    ),
    Act.PERSON_VIEW: Rule(
        r.PEOPLE_ADMIN_ROLES, "People's accounts are looked after by the hub and supervisors.", on=User
    ),
    Act.PERSON_ADD: Rule(
        r.PEOPLE_MANAGER_ROLES,
        "People are added by the hub administrator, or by a supervisor to their own organisation "
        "as an officer or supervisor.",
        on=Placement,
        scope=_places,
        step_up=True,
    ),
    Act.PERSON_EDIT: Rule(
        r.PEOPLE_MANAGER_ROLES,
        "A person's details are kept by the hub administrator or a supervisor of their organisation.",
        on=User,
        scope=_edits,
    ),
    Act.PERSON_MOVE: Rule(
        r.PEOPLE_MANAGER_ROLES,
        "A person's organisation and role are changed by the hub administrator, or by a supervisor "
        "within their own organisation (never by the person themselves).",
        on=User,
        scope=_manages,
        state=person_is_active,
        step_up=True,
    ),
    Act.PERSON_SET_ACTIVE: Rule(
        r.PEOPLE_MANAGER_ROLES,
        "A person is switched off or on by the hub administrator or a supervisor of their "
        "organisation (never by the person themselves).",
        on=User,
        scope=_manages,
        step_up=True,
    ),
    Act.TOKEN_LIST: Rule(r.ADMIN_ROLES, "API tokens are issued and revoked by the hub administrator."),
    Act.TOKEN_ISSUE: Rule(
        r.ADMIN_ROLES,
        "API tokens are issued by the hub administrator.",
        on=User,
        state=person_is_active,
        step_up=True,
    ),
    Act.TOKEN_REVOKE: Rule(
        r.ADMIN_ROLES, "API tokens are revoked by the hub administrator.", on=ApiToken, state=_token_live
    ),
    # Organisations' contacts and liaisons: everyone inside the service reads them; the
    # administrator keeps them.
    Act.CONTACT_LIST: Rule(r.CONTACT_READER_ROLES, "Contacts are for the hub, regions and forces."),
    Act.ORGANISATION_EDIT: Rule(
        r.ADMIN_ROLES, "Organisations' contacts are kept by the hub administrator.", on=Organisation
    ),
    # The deadline policy: read by the hub and auditors, changed by the administrator.
    Act.DEADLINE_POLICY_VIEW: Rule(r.POLICY_READER_ROLES, "The deadline policy is the hub's."),
    Act.DEADLINE_POLICY_EDIT: Rule(
        r.ADMIN_ROLES,
        "The deadline policy is changed by the hub administrator.",
        on=DeadlinePolicy,
        step_up=True,
    ),
    Act.FACTORS_RESET: Rule(
        r.PEOPLE_ADMIN_ROLES,
        "A second factor is reset by the hub administrator, by a hub coordinator for people outside "
        "the hub, or by a supervisor of the person's own organisation (never by the person themselves).",
        on=User,
        scope=_resets_factors_of,
        operator=True,
        step_up=True,
    ),
    # The audit trail.
    Act.AUDIT_SEARCH: Rule(r.AUDITOR_ROLES, AUDITORS_ONLY),
    Act.AUDIT_EXPORT: Rule(r.AUDITOR_ROLES, "Only auditors may export the audit trail.", step_up=True),
    Act.AUDIT_STATUS: Rule(r.AUDITOR_ROLES, AUDITORS_ONLY),
    Act.AUDIT_VERIFY: Rule(r.AUDITOR_ROLES, "Only auditors may verify the audit trail.", operator=True),
    Act.AUDIT_TIMELINE: Rule(r.AUDITOR_ROLES, AUDITORS_ONLY, on=Task),
    Act.AUDIT_REFERRAL_TIMELINE: Rule(r.AUDITOR_ROLES, AUDITORS_ONLY, on=Referral),
}
for _act, _rule in _ROWS.items():
    register(_act, _rule)
