"""The expectation table both authorization matrices are driven by: for every action of the
policy registry, an object in the state the action needs, and what each persona must get.

The API matrix (tests/hub/test_authorization_matrix.py) and the web matrix
(tests/e2e/test_web_matrix.py) both look their rows up here by ``Act``, so the API and the
pages cannot drift apart: one table, written by hand (not computed from the registry, which it
checks), and a test fails when the registry gains an action without a case.

Each object is held by Kent Police (a force in the ERSOU region) and referred by NCMEC, so the
personas cover every relation: holder (kent_officer, kent_supervisor), another force in the
same region (essex_officer), the holder's region (ersou_coordinator), another region
(gmp_officer, titan_coordinator), the hub (coordinator), auditor, the referring agency
(ncmec) and another agency (iwf).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from hub.models import ApiToken, DeadlinePolicy, Notification, OnCallShift, Task, User
from hub.policies.rules import Act
from hub.services.alerts import alerts_sweep, task_pause
from hub.services.matching import referral_match_media
from hub.services.organisations import api_token_create, membership_set
from safeguarding.feedback import webhook_change_propose, webhook_endpoint_set
from safeguarding.models import MonthlySummary, OutboxEvent
from safeguarding.services import outcome_record
from spokes.services import (
    child_add,
    conference_request,
    external_request_add,
    handoff_offer,
    lead_create,
    task_decline,
)
from tests.factories import acting, make_referral, make_task, make_triaged, org

PERSONAS = ["coordinator", "auditor", "ncmec", "iwf", "kent_officer", "kent_supervisor", "essex_officer",
            "ersou_coordinator", "gmp_officer", "titan_coordinator", "administrator"]  # fmt: skip

OK = 200  # "allowed": the API answers 200/201, a page 200 or a redirect after a POST


def row(
    c: int, a: int, n: int, i: int, ko: int, ks: int, eo: int, er: int, go: int, tc: int, ad: int
) -> dict[str, int]:
    return dict(zip(PERSONAS, [c, a, n, i, ko, ks, eo, er, go, tc, ad], strict=True))


# The hub administrator (ad, last) keeps accounts and sees no case: every task, referral,
# endpoint or shift is a 404 to them, every case page or list a 403.
ALL = row(*[OK] * 11)
MEMBERS_NOT_ADMIN = row(*[OK] * 10, 403)
# Who may see a Kent-held task / its referral: hub, auditor, the holder, and the holder's region.
SEE_TASK = row(OK, OK, 404, 404, OK, OK, 404, OK, 404, 404, 404)
WORK_TASK = row(403, 403, 404, 404, OK, OK, 404, 403, 404, 404, 404)
HUB_ON_REFERRAL = row(OK, 403, 403, 404, 403, 403, 404, 403, 404, 404, 404)
HUB_ON_TASK = row(OK, 403, 404, 404, 403, 403, 404, 403, 404, 404, 404)
HUB_ONLY = row(OK, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403)
HUB_AND_AUDITOR = row(OK, OK, 403, 403, 403, 403, 403, 403, 403, 403, 403)
AUDITOR_ONLY = row(403, OK, 403, 403, 403, 403, 403, 403, 403, 403, 403)
AGENCY_ONLY = row(403, 403, OK, OK, 403, 403, 403, 403, 403, 403, 403)
SEE_REFERRAL = row(OK, OK, OK, 404, OK, OK, 404, OK, 404, 404, 404)
SPOKES_HUB_AUDITOR = row(OK, OK, 403, 403, OK, OK, OK, OK, OK, OK, 403)
ENDPOINT = row(OK, OK, OK, 404, 404, 404, 404, 404, 404, 404, 404)
# A Kent officer's account: Kent's supervisor and the administrator manage it; Kent's officer
# and the hub's coordinators and auditors see it but may not; outside Kent it does not exist.
MANAGE_KENT_PERSON = row(403, 403, 404, 404, 403, OK, 404, 404, 404, 404, OK)
ADMIN_ONLY = row(*[403] * 10, OK)


def outcome_recorded() -> Task:
    task = make_task(accepted=True)
    outcome_record(
        referral=task.referral, actor=acting("KENT"),
        justice_outcome="caution", safeguarding_outcome="no_child_at_risk", arrests=0,
        children_safeguarded=0, victims_identified=0, suspect_has_access_to_children=False,
        is_safeguarding_needed=False,
    )  # fmt: skip
    return task


def escalated() -> Task:
    task = make_task(accepted=True)
    alerts_sweep(now=task.due_at)
    return task


def pause_until(hours: int = 6) -> str:
    """A pause end within every grade's cap, as the API takes it."""
    return (timezone.now() + timedelta(hours=hours)).isoformat()


def pause_until_local(hours: int = 6) -> str:
    """The same, as a person types it into the page's date-and-time field."""
    return timezone.localtime(timezone.now() + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def paused() -> Task:
    return task_pause(
        task=make_task(accepted=True),
        actor=acting("KENT", "supervisor"),
        reason="MLAT",
        until=timezone.now() + timedelta(days=1),
    )


def notification_for_kent_officer() -> Notification:
    officer = User.objects.get(username="kent_officer")
    return Notification.objects.create(recipient=officer, kind="reminder", subject="matrix")


def endpoint() -> Any:
    return webhook_endpoint_set(agency=org("NCMEC"), url="http://127.0.0.1:9/hook", actor=None)[0]


def webhook_change() -> Any:
    """IWF's first endpoint, proposed by a hub coordinator who is not the coordinator persona
    (nobody decides their own proposal)."""
    proposer = membership_set(username="second-coordinator", org_code="NCA", role="coordinator", actor=None)
    return webhook_change_propose(agency=org("IWF"), url="http://127.0.0.1:9/iwf", actor=proposer.user)


def monthly_summary() -> Any:
    return MonthlySummary.objects.get_or_create(
        organisation=org("KENT"), month=date(2026, 10, 1), defaults={"figures": {"arrests": 1}}
    )[0]


def outbox_event() -> Any:
    endpoint()
    task = outcome_recorded()
    return OutboxEvent.objects.get(referral=task.referral, event_type="referral.outcome_recorded")


def lead() -> Any:
    return lead_create(
        task=make_task(accepted=True), actor=acting("KENT"), kind="device", description="Seized phone"
    )


def shift() -> OnCallShift:
    hub = acting("NCA", "coordinator")
    start = timezone.now()
    return OnCallShift.objects.create(
        coordinator=hub, starts_at=start, ends_at=start + timedelta(hours=8), created_by=hub
    )


def child() -> Any:
    task = make_task(accepted=True)
    return child_add(task=task, actor=acting("KENT"), reference="Child A", relation="reachable")


def handoff() -> Any:
    return handoff_offer(child=child(), actor=acting("KENT"), to_org=org("ESSEX"), note="Lives in Essex")


def external_request() -> Any:
    return external_request_add(
        task=make_task(accepted=True),
        actor=acting("KENT"),
        kind="mlat",
        counterpart="US Department of Justice",
    )


def declined() -> Task:
    task = make_task()
    return task_decline(task=task, actor=acting("KENT"), reason="not_our_area", note="Suspect in Essex")


def matched() -> Task:
    """An accepted Kent task whose referral's media matches another referral's."""
    task = make_task(accepted=True)
    other = make_referral(agency="IWF")  # the same media hash ("a" * 64)
    referral_match_media(referral=other)
    task.refresh_from_db()
    return task


def conference() -> Any:
    task = matched()
    return conference_request(task=task, actor=acting("KENT"), note="Same series as an IWF report")


def kent_person() -> User:
    """A Kent officer of their own (each call a new one): moved or switched off by a case, no
    persona of the matrix is."""
    return membership_set(
        username=f"kent-{uuid.uuid4().hex[:8]}", org_code="KENT", role="officer", actor=None
    ).user


def api_token() -> ApiToken:
    return api_token_create(user=kent_person(), actor=None, expires_days=30)[0]


def deadline_row() -> DeadlinePolicy:
    return DeadlinePolicy.objects.get(grade=3, risk="low")


def accepted() -> Task:
    return make_task(accepted=True)


def region_held() -> Task:
    return make_task(holder="ERSOU")


@dataclass(frozen=True)
class Case:
    """An action's object (None for a collection or a page with none) and each persona's answer."""

    build: Callable[[], Any] | None
    expect: dict[str, int]


CASES: dict[Act, Case] = {
    Act.ORGANISATION_LIST: Case(None, ALL),
    Act.ORGANISATION_VIEW: Case(lambda: org("KENT"), ALL),
    Act.REFERRAL_LIST: Case(None, MEMBERS_NOT_ADMIN),
    Act.REFERRAL_VIEW: Case(lambda: make_task().referral, SEE_REFERRAL),
    Act.REFERRAL_CREATE: Case(None, row(OK, 403, OK, OK, 403, 403, 403, 403, 403, 403, 403)),
    Act.AGENCY_REFERRALS: Case(None, AGENCY_ONLY),
    Act.TRIAGE_QUEUE: Case(None, HUB_ONLY),
    Act.REFERRAL_TRIAGE: Case(lambda: make_task().referral, HUB_ON_REFERRAL),
    # A triaged referral not yet allocated is visible only to the hub, auditors and its agency.
    Act.REFERRAL_NON_ACTIONABLE: Case(
        make_triaged, row(OK, 403, 403, 404, 404, 404, 404, 404, 404, 404, 404)
    ),
    Act.REFERRAL_CLOSE: Case(lambda: outcome_recorded().referral, HUB_ON_REFERRAL),
    Act.TASK_ALLOCATE: Case(None, HUB_ONLY),
    Act.TASK_LIST: Case(None, MEMBERS_NOT_ADMIN),  # an agency's list is simply empty
    Act.TASK_QUEUE: Case(None, SPOKES_HUB_AUDITOR),
    Act.TASK_BOARD: Case(None, HUB_AND_AUDITOR),
    Act.TASK_VIEW: Case(make_task, SEE_TASK),
    Act.TASK_REASSIGN: Case(make_task, HUB_ON_TASK),
    Act.TASK_ACCEPT: Case(make_task, WORK_TASK),
    Act.TASK_DECLINE: Case(make_task, WORK_TASK),
    # Held by the region: only the region's coordinator may hand it down; Kent cannot see it yet.
    Act.TASK_HAND_DOWN: Case(region_held, row(403, 403, 404, 404, 404, 404, 404, OK, 404, 404, 404)),
    # An officer cannot acknowledge their own organisation's breach: their supervisor or above can.
    Act.TASK_ACKNOWLEDGE: Case(escalated, row(OK, 403, 404, 404, 403, OK, 404, OK, 404, 404, 404)),
    Act.TASK_PAUSE: Case(accepted, row(OK, 403, 404, 404, 403, OK, 404, 403, 404, 404, 404)),
    Act.TASK_RESUME: Case(paused, row(OK, 403, 404, 404, OK, OK, 404, 403, 404, 404, 404)),
    Act.LEAD_LIST: Case(accepted, SEE_TASK),
    Act.LEAD_CREATE: Case(accepted, WORK_TASK),
    Act.LEAD_VIEW: Case(lead, SEE_TASK),
    Act.LEAD_UPDATE: Case(lead, WORK_TASK),
    Act.CHILD_LIST: Case(accepted, SEE_TASK),
    Act.CHILD_ADD: Case(accepted, WORK_TASK),
    Act.CHILD_CHECK: Case(child, WORK_TASK),
    Act.SUSPECT_EVENT_LIST: Case(accepted, SEE_TASK),
    Act.HANDOFF_OFFER: Case(child, WORK_TASK),
    Act.TASK_REASSESS: Case(accepted, WORK_TASK),
    # Declined by Kent, who has lost sight of it (as has its region): only the hub cancels it.
    Act.TASK_CANCEL: Case(declined, row(OK, 403, 404, 404, 404, 404, 404, 404, 404, 404, 404)),
    # Matches name other forces' cases: the hub and auditors; the holder sees only a count.
    Act.MATCH_LIST: Case(
        lambda: make_task().referral, row(OK, OK, 403, 404, 403, 403, 404, 403, 404, 404, 404)
    ),
    Act.MATCH_RUN: Case(lambda: make_task().referral, HUB_ON_REFERRAL),
    Act.CONFERENCE_REQUEST: Case(matched, WORK_TASK),
    Act.MEDIA_LIST: Case(accepted, SEE_TASK),
    # Exposure: the people who review material log their own time on a task they see.
    # The task is named in the body, so the role is checked first (403), then the task (404).
    Act.EXPOSURE_LOG: Case(accepted, row(OK, 403, 403, 403, OK, OK, 404, OK, 404, 404, 403)),
    Act.EXPOSURE_VIEW: Case(None, row(OK, 403, 403, 403, OK, OK, OK, OK, OK, OK, 403)),
    Act.WELFARE_TEAM: Case(None, row(OK, 403, 403, 403, 403, OK, 403, 403, 403, 403, 403)),
    # A Kent officer's debrief: only a supervisor of Kent records it (the hub only its own people).
    Act.WELFARE_DEBRIEF: Case(
        lambda: acting("KENT"), row(403, 403, 403, 403, 403, OK, 403, 403, 403, 403, 403)
    ),
    Act.MEDIA_REVIEW: Case(accepted, WORK_TASK),
    Act.CONFERENCE_LIST: Case(None, row(OK, OK, 403, 403, OK, OK, OK, OK, OK, OK, 403)),
    Act.CONFERENCE_ANSWER: Case(conference, row(OK, 403, 404, 404, 403, 403, 404, 404, 404, 404, 404)),
    Act.REQUEST_LIST: Case(accepted, SEE_TASK),
    Act.REQUEST_QUEUE: Case(None, SPOKES_HUB_AUDITOR),
    Act.REQUEST_ADD: Case(accepted, WORK_TASK),
    Act.REQUEST_UPDATE: Case(external_request, WORK_TASK),
    Act.HANDOFF_LIST: Case(None, ALL),
    Act.SAFEGUARDING_REVIEW: Case(None, HUB_AND_AUDITOR),
    # Kent hands a child to Essex: only Essex answers; the sender and the hub see it, others not.
    Act.HANDOFF_ANSWER: Case(handoff, row(403, 403, 404, 404, 403, 403, OK, 404, 404, 404, 404)),
    # Only the sender (Kent) withdraws it; Essex, the receiver, answers instead.
    Act.HANDOFF_REVOKE: Case(handoff, row(403, 403, 404, 404, OK, OK, 403, 404, 404, 404, 404)),
    Act.SUSPECT_EVENT_RECORD: Case(accepted, WORK_TASK),
    Act.SAFEGUARDING_LIST: Case(accepted, SEE_TASK),
    Act.SAFEGUARDING_RECORD: Case(accepted, WORK_TASK),
    Act.OUTCOME_VIEW: Case(outcome_recorded, SEE_REFERRAL),
    Act.OUTCOME_RECORD: Case(accepted, row(OK, 403, 403, 404, OK, OK, 404, 403, 404, 404, 404)),
    # The holders of the referral's tasks (not the overseeing region) and the hub.
    Act.OUTCOME_AMEND: Case(outcome_recorded, row(OK, 403, 403, 404, OK, OK, 404, 403, 404, 404, 404)),
    Act.NOTIFICATION_LIST: Case(None, ALL),
    # Only its recipient can even see a notification.
    Act.NOTIFICATION_READ: Case(
        notification_for_kent_officer, row(404, 404, 404, 404, OK, 404, 404, 404, 404, 404, 404)
    ),
    Act.ESCALATION_LIST: Case(None, SPOKES_HUB_AUDITOR),
    Act.WEBHOOK_LIST: Case(None, row(OK, OK, OK, OK, 403, 403, 403, 403, 403, 403, 403)),
    Act.WEBHOOK_VIEW: Case(endpoint, ENDPOINT),
    Act.WEBHOOK_SET: Case(None, HUB_ONLY),
    Act.WEBHOOK_CHANGE_LIST: Case(None, HUB_AND_AUDITOR),
    Act.WEBHOOK_CHANGE_DECIDE: Case(
        webhook_change, row(OK, 403, 404, 404, 404, 404, 404, 404, 404, 404, 404)
    ),
    Act.WEBHOOK_ROTATE: Case(endpoint, row(OK, 403, 403, 404, 404, 404, 404, 404, 404, 404, 404)),
    Act.WEBHOOK_SEND_OUTSTANDING: Case(endpoint, row(OK, 403, 403, 404, 404, 404, 404, 404, 404, 404, 404)),
    Act.DELIVERY_LOG: Case(endpoint, ENDPOINT),
    Act.AGENCY_DELIVERY_LOG: Case(None, AGENCY_ONLY),
    Act.DELIVERY_REPLAY: Case(outbox_event, row(OK, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404)),
    Act.FEEDBACK_STATS: Case(None, HUB_AND_AUDITOR),
    Act.REPORT_VIEW: Case(None, HUB_AND_AUDITOR),
    Act.RESEARCH_EXPORT: Case(None, HUB_ONLY),
    Act.TRENDS_VIEW: Case(None, SPOKES_HUB_AUDITOR),
    Act.MONTHLY_LIST: Case(None, SPOKES_HUB_AUDITOR),
    # Kent's summary: the hub, auditors, Kent and its region; to anyone else it does not exist.
    Act.MONTHLY_DOWNLOAD: Case(monthly_summary, SEE_TASK),
    Act.ONCALL_LIST: Case(None, HUB_AND_AUDITOR),
    Act.ONCALL_SET: Case(None, HUB_ONLY),
    Act.ONCALL_REMOVE: Case(shift, row(OK, 403, 404, 404, 404, 404, 404, 404, 404, 404, 404)),
    Act.PEOPLE_LIST: Case(None, row(OK, 403, 403, 403, 403, OK, 403, 403, 403, 403, OK)),
    # A Kent officer's account: the hub and auditors see everyone, others only their own
    # organisation's people (a 404 outside it). Reading it is for those who look after accounts.
    Act.PERSON_VIEW: Case(kent_person, MANAGE_KENT_PERSON | {"coordinator": OK}),
    # Added in Kent as an officer: the administrator anywhere, Kent's supervisor in Kent only.
    Act.PERSON_ADD: Case(None, row(403, 403, 403, 403, 403, OK, 403, 403, 403, 403, OK)),
    Act.PERSON_EDIT: Case(kent_person, MANAGE_KENT_PERSON),
    Act.PERSON_MOVE: Case(kent_person, MANAGE_KENT_PERSON),
    Act.PERSON_SET_ACTIVE: Case(kent_person, MANAGE_KENT_PERSON),
    Act.TOKEN_LIST: Case(None, ADMIN_ONLY),
    Act.TOKEN_ISSUE: Case(kent_person, row(403, 403, 404, 404, 403, 403, 404, 404, 404, 404, OK)),
    # A token is the administrator's to see: to anyone else it does not exist.
    Act.TOKEN_REVOKE: Case(api_token, row(*[404] * 10, OK)),
    Act.CONTACT_LIST: Case(None, row(OK, OK, 403, 403, OK, OK, OK, OK, OK, OK, OK)),
    Act.ORGANISATION_EDIT: Case(lambda: org("KENT"), ADMIN_ONLY),
    Act.DEADLINE_POLICY_VIEW: Case(None, row(OK, OK, 403, 403, 403, 403, 403, 403, 403, 403, OK)),
    Act.DEADLINE_POLICY_EDIT: Case(deadline_row, ADMIN_ONLY),
    # A Kent officer's second factor: the hub or a Kent supervisor resets it; outside Kent (and
    # the hub and auditors) the person does not exist.
    Act.FACTORS_RESET: Case(lambda: acting("KENT"), row(OK, 403, 404, 404, 403, OK, 404, 404, 404, 404, OK)),
    Act.AUDIT_SEARCH: Case(None, AUDITOR_ONLY),
    Act.AUDIT_EXPORT: Case(None, AUDITOR_ONLY),
    Act.AUDIT_STATUS: Case(None, AUDITOR_ONLY),
    Act.AUDIT_VERIFY: Case(None, AUDITOR_ONLY),
    # A task the agency cannot see is a 404 before it is a 403; its own referral is a 403.
    Act.AUDIT_TIMELINE: Case(make_task, row(403, OK, 404, 404, 403, 403, 404, 403, 404, 404, 404)),
    Act.AUDIT_REFERRAL_TIMELINE: Case(
        lambda: make_task().referral, row(403, OK, 403, 404, 403, 403, 404, 403, 404, 404, 404)
    ),
}
