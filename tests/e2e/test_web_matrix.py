"""The web permission matrix: every page URL × every method it answers × every persona, against
the same expectation table as the API matrix (tests/policy_cases.py, by policy action).

Generated from the URLconf: a page whose view is not a ``policy_view`` fails, a page without a
row here fails, and a row whose action differs from the one the view enforces fails. For each
cell: the exact status (an allowed GET answers 200 or sends the person where they belong; an
allowed POST answers 200/204 or redirects after success) and the audit row the request left,
joined on its X-Request-ID: ``access.denied`` for a 403, ``access.not_found`` for a 404, and
for an allowed read of a sensitive record the same consultation the API writes for that
action.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from hub.models import AuditEvent
from hub.policies.rules import Act
from tests.conftest import Persona
from tests.hub.test_authorization_matrix import AUDIT_ON_SUCCESS, OPS
from tests.policy_cases import CASES, OK, PERSONAS, pause_until_local
from tests.web import Client

pytestmark = pytest.mark.django_db

APP_NAMESPACES = {"hub", "spokes", "safeguarding"}
# Pages that show no record and need no row: the landing redirect, sign-in and sign-out.
NOT_POLICY_PAGES = {"home", "login", "logout", "resume"}

OUTCOME_FORM = {"justice_outcome": "outcome_21", "safeguarding_outcome": "referred_to_childrens_services",
                "arrests": "1", "children_safeguarded": "2", "victims_identified": "2",
                "suspect_has_access_to_children": "yes", "safeguarding_needed": "yes"}  # fmt: skip


@dataclass(frozen=True)
class Page:
    """One page URL and method: the action it is, how its URL names the object, what is posted,
    and the consultation an allowed request writes (None: it shows no sensitive record)."""

    name: str
    method: str
    act: Act
    url_id: Callable[[Any], Any] | None = lambda obj: obj.pk
    data: Callable[[Any], dict[str, Any]] | None = None
    audit: str | None = None
    # The URL names the task although the action is on its referral (the outcome form on the
    # task page): whoever cannot see the task gets the task's 404 first.
    through_task: bool = False

    def expect(self, persona: str) -> int:
        if self.through_task and CASES[Act.TASK_VIEW].expect[persona] == 404:
            return 404
        return CASES[self.act].expect[persona]


def _referral(obj: Any) -> Any:
    return obj.referral_id


PAGES = [
    Page("hub:triage", "GET", Act.TRIAGE_QUEUE, None, audit="referral.listed"),
    Page("hub:referral", "GET", Act.REFERRAL_VIEW, audit="referral.viewed"),
    Page("hub:referral-grade", "POST", Act.REFERRAL_TRIAGE,
         data=lambda _: {"grade": "3", "risk": "medium", "rationale": "matrix"}, audit="referral.regraded"),
    Page("hub:referral-non-actionable", "POST", Act.REFERRAL_NON_ACTIONABLE,
         data=lambda _: {"reason": "informational", "note": "viral image"}, audit="referral.non_actionable"),
    Page("hub:referral-close", "POST", Act.REFERRAL_CLOSE, data=lambda _: {}, audit="referral.closed"),
    Page("hub:board", "GET", Act.TASK_BOARD, None, audit="task.listed"),
    Page("hub:task-reassign", "GET", Act.TASK_REASSIGN, audit="task.viewed"),
    Page("hub:task-reassign", "POST", Act.TASK_REASSIGN,
         data=lambda _: {"assignee_org": "ESSEX", "reason": "moved"}, audit="task.reassigned"),
    Page("hub:agency", "GET", Act.AGENCY_REFERRALS, None, audit="referral.listed"),
    Page("hub:inbox", "GET", Act.NOTIFICATION_LIST, None),
    Page("hub:notification-read", "POST", Act.NOTIFICATION_READ, data=lambda _: {}),
    Page("hub:task-acknowledge", "GET", Act.TASK_ACKNOWLEDGE, audit="task.viewed"),
    Page("hub:task-acknowledge", "POST", Act.TASK_ACKNOWLEDGE, data=lambda _: {"note": "mine"},
         audit="task.escalation_acknowledged"),
    Page("hub:on-call", "GET", Act.ONCALL_LIST, None),
    Page("hub:on-call", "POST", Act.ONCALL_SET, None,
         data=lambda _: {"coordinator": "coordinator", "starts_at": "2026-12-01T20:00",
                         "ends_at": "2026-12-02T08:00"}, audit="on_call.shift_added"),
    Page("hub:on-call-remove", "POST", Act.ONCALL_REMOVE, data=lambda _: {}, audit="on_call.shift_removed"),
    Page("hub:audit", "GET", Act.AUDIT_SEARCH, None, audit="audit.searched"),
    Page("hub:audit-export", "GET", Act.AUDIT_EXPORT, None, data=lambda _: {"format": "csv"},
         audit="audit.exported"),
    Page("hub:audit-verification", "GET", Act.AUDIT_STATUS, None, audit="audit.status_viewed"),
    Page("hub:audit-verification", "POST", Act.AUDIT_VERIFY, None, data=lambda _: {}, audit="audit.verified"),
    Page("hub:audit-task", "GET", Act.AUDIT_TIMELINE, audit="audit.searched"),
    Page("hub:audit-referral", "GET", Act.AUDIT_REFERRAL_TIMELINE, audit="audit.searched"),
    Page("spokes:tasks", "GET", Act.TASK_QUEUE, None),
    Page("spokes:task", "GET", Act.TASK_VIEW, audit="task.viewed"),
    Page("spokes:task-accept", "POST", Act.TASK_ACCEPT, data=lambda _: {}, audit="task.accepted"),
    Page("spokes:task-decline", "POST", Act.TASK_DECLINE, data=lambda _: {"reason": "duplicate"},
         audit="task.declined"),
    Page("spokes:task-hand-down", "POST", Act.TASK_HAND_DOWN,
         data=lambda _: {"assignee_org": "KENT", "reason": "Kent area"}, audit="task.handed_down"),
    Page("spokes:lead-create", "POST", Act.LEAD_CREATE,
         data=lambda _: {"kind": "device", "description": "phone"}, audit="lead.created"),
    Page("spokes:task-pause", "POST", Act.TASK_PAUSE,
         data=lambda _: {"reason": "MLAT", "until": pause_until_local()}, audit="task.paused"),
    Page("spokes:task-resume", "POST", Act.TASK_RESUME, data=lambda _: {}, audit="task.resumed"),
    Page("spokes:lead-update", "POST", Act.LEAD_UPDATE,
         data=lambda lead: {f"lead-{lead.pk}-status": "in_progress", f"lead-{lead.pk}-notes": ""},
         audit="lead.updated"),
    Page("spokes:child-add", "POST", Act.CHILD_ADD,
         data=lambda _: {"reference": "C9", "relation": "reachable"}, audit="child.added"),
    Page("spokes:child-check", "POST", Act.CHILD_CHECK,
         data=lambda kid: {f"check-{kid.pk}-kind": "safe_and_well",
                           f"check-{kid.pk}-result": "Seen, well"},
         audit="child.checked"),
    Page("spokes:suspect-event", "POST", Act.SUSPECT_EVENT_RECORD, data=lambda _: {"kind": "arrested"},
         audit="suspect_event.recorded"),
    Page("spokes:handoff-offer", "POST", Act.HANDOFF_OFFER, audit="handoff.offered",
         data=lambda kid: {f"hand-{kid.pk}-to_org": "ESSEX", f"hand-{kid.pk}-note": ""}),
    Page("spokes:handoffs", "GET", Act.HANDOFF_LIST, None, audit="handoff.listed"),
    Page("hub:referral-rematch", "POST", Act.MATCH_RUN, data=lambda _: {}, audit="media.matched"),
    Page("hub:task-cancel", "POST", Act.TASK_CANCEL, data=lambda _: {"reason": "Stale"},
         audit="task.cancelled"),
    Page("spokes:conference-request", "POST", Act.CONFERENCE_REQUEST, data=lambda _: {"note": "Same series"},
         audit="conference.requested"),
    Page("spokes:conferences", "GET", Act.CONFERENCE_LIST, None, audit="conference.listed"),
    Page("spokes:exposure-log", "POST", Act.EXPOSURE_LOG, None, audit="exposure.logged",
         data=lambda task: {"task": str(task.pk), "minutes": "30"}),
    Page("spokes:welfare", "GET", Act.WELFARE_TEAM, None, audit="welfare.viewed"),
    Page("hub:people", "GET", Act.PEOPLE_LIST, None, audit="person.listed"),
    Page("hub:factors-reset", "POST", Act.FACTORS_RESET, audit="auth.factors_reset",
         data=lambda person: {f"reset-{person.pk}-reason": "Phone lost"}),
    Page("hub:person", "GET", Act.PERSON_VIEW, audit="person.viewed"),
    Page("hub:person-add", "GET", Act.PERSON_ADD, None),
    Page("hub:person-add", "POST", Act.PERSON_ADD, None, audit="person.added",
         data=lambda _: {"username": f"new-{uuid.uuid4().hex[:8]}", "organisation": "KENT", "role": "officer",
                         "first_name": "", "last_name": "", "email": ""}),
    Page("hub:person-edit", "POST", Act.PERSON_EDIT, audit="person.edited",
         data=lambda _: {"edit-first_name": "Sam", "edit-last_name": "", "edit-email": ""}),
    Page("hub:person-move", "POST", Act.PERSON_MOVE, audit="person.moved",
         data=lambda _: {"move-organisation": "KENT", "move-role": "supervisor", "move-reason": "Promoted"}),
    Page("hub:person-active", "POST", Act.PERSON_SET_ACTIVE, audit="person.deactivated",
         data=lambda _: {"active-reason": "Left the force"}),
    Page("hub:person-invite", "POST", Act.PERSON_EDIT, audit="person.invited", data=lambda _: {}),
    Page("hub:person-token", "POST", Act.TOKEN_ISSUE, audit="token.created",
         data=lambda _: {"token-name": "script", "token-expires_days": "30"}),
    Page("hub:tokens", "GET", Act.TOKEN_LIST, None, audit="token.listed"),
    Page("hub:token-revoke", "POST", Act.TOKEN_REVOKE, audit="token.revoked", data=lambda _: {}),
    Page("hub:contacts", "GET", Act.CONTACT_LIST, None, audit="organisation.contacts_listed"),
    Page("hub:contact-edit", "GET", Act.ORGANISATION_EDIT),
    Page("hub:contact-edit", "POST", Act.ORGANISATION_EDIT, audit="organisation.contacts_set",
         data=lambda _: {"contact_name": f"DS {uuid.uuid4().hex[:6]}", "contact_email": "",
                         "contact_phone": "", "out_of_hours_phone": "", "liaison_notes": ""}),
    Page("hub:deadline-policy", "GET", Act.DEADLINE_POLICY_VIEW, None),
    Page("hub:deadline-policy-edit", "GET", Act.DEADLINE_POLICY_EDIT),
    Page("hub:deadline-policy-edit", "POST", Act.DEADLINE_POLICY_EDIT, audit="deadline_policy.set",
         data=lambda _: {"accept_within": "3 00:00:00", "act_within": "20 00:00:00",
                         "escalation_step_wait": "1 00:00:00", "acknowledgement_grace": "1 00:00:00",
                         "max_pause": "30 00:00:00", "reason": "HMICFRS recommendation", "save": "1"}),
    Page("spokes:welfare-debrief", "POST", Act.WELFARE_DEBRIEF, None, audit="welfare.debrief_recorded",
         data=lambda person: {"person": person.username, "kind": "debrief", "held_on": "2026-11-30"}),
    Page("spokes:media-review", "POST", Act.MEDIA_REVIEW, audit="media.reviewed",
         data=lambda _: {"sha256": "a" * 64, "category": "B"}),
    Page("spokes:conference-answer", "POST", Act.CONFERENCE_ANSWER, audit="conference.granted",
         data=lambda c: {f"conf-{c.pk}-decision": "grant", f"conf-{c.pk}-reason": ""}),
    Page("spokes:task-reassess", "POST", Act.TASK_REASSESS, audit="task.reassessed",
         data=lambda _: {"risk": "very_high", "rationale": "Lives with two children under 10"}),
    Page("spokes:handoff-answer", "POST", Act.HANDOFF_ANSWER, audit="handoff.accepted",
         data=lambda h: {f"answer-{h.pk}-decision": "accept", f"answer-{h.pk}-reason": ""}),
    Page("spokes:handoff-revoke", "POST", Act.HANDOFF_REVOKE, audit="handoff.revoked",
         data=lambda h: {f"revoke-{h.pk}-reason": "Wrong force"}),
    Page("spokes:request-add", "POST", Act.REQUEST_ADD, audit="external_request.sent",
         data=lambda _: {"kind": "mlat", "counterpart": "US Department of Justice", "reference": ""}),
    Page("spokes:request-update", "POST", Act.REQUEST_UPDATE, data=lambda _: {"event": "chased"},
         audit="external_request.chased"),
    Page("safeguarding:actions", "GET", Act.SAFEGUARDING_LIST, audit="safeguarding_action.listed"),
    Page("safeguarding:actions", "POST", Act.SAFEGUARDING_RECORD,
         data=lambda _: {"action": "safe_and_well_check", "children_identified": "1",
                         "children_safeguarded": "1"}, audit="safeguarding_action.recorded"),
    Page("safeguarding:outcome", "GET", Act.TASK_VIEW),
    Page("safeguarding:outcome", "POST", Act.OUTCOME_RECORD, data=lambda _: OUTCOME_FORM,
         audit="outcome.recorded", through_task=True),
    Page("safeguarding:outcome-amend", "POST", Act.OUTCOME_AMEND, through_task=True, audit="outcome.amended",
         data=lambda _: {"justice_outcome": "charge_summons", "safeguarding_outcome": "no_child_at_risk",
                         "arrests": "2", "children_safeguarded": "0", "victims_identified": "0",
                         "reason": "charged at court"}),
    Page("safeguarding:reports", "GET", Act.REPORT_VIEW, None, audit="report.spokes_viewed"),
    Page("safeguarding:trends", "GET", Act.TRENDS_VIEW, None, audit="report.trends_viewed"),
    Page("safeguarding:monthly", "GET", Act.MONTHLY_LIST, None, audit="report.monthly_listed"),
    Page("safeguarding:monthly-download", "GET", Act.MONTHLY_DOWNLOAD, audit="report.monthly_downloaded"),
    Page("spokes:review", "GET", Act.SAFEGUARDING_REVIEW, None, audit="safeguarding.reviewed"),
    Page("safeguarding:feedback", "GET", Act.WEBHOOK_LIST, None),
    Page("safeguarding:feedback", "POST", Act.WEBHOOK_SET, None,
         data=lambda _: {"agency": "IWF", "url": "http://127.0.0.1:9/iwf",
                         "event_types": ["referral.outcome_recorded"]}, audit="webhook.change_proposed"),
    Page("safeguarding:webhook-change-decide", "POST", Act.WEBHOOK_CHANGE_DECIDE,
         audit="webhook.change_approved",
         data=lambda change: {f"change-{change.pk}-decision": "approve", f"change-{change.pk}-reason": ""}),
    Page("safeguarding:our-deliveries", "GET", Act.AGENCY_DELIVERY_LOG, None),
    Page("safeguarding:endpoint", "GET", Act.DELIVERY_LOG, audit="webhook.deliveries_viewed"),
    Page("safeguarding:endpoint-send-outstanding", "POST", Act.WEBHOOK_SEND_OUTSTANDING, data=lambda _: {},
         audit="webhook.outstanding_sent"),
    Page("safeguarding:endpoint-rotate-secret", "POST", Act.WEBHOOK_ROTATE, data=lambda _: {},
         audit="webhook.secret_rotated"),
    Page("safeguarding:delivery-replay", "POST", Act.DELIVERY_REPLAY, data=lambda _: {"reason": "matrix"},
         audit="referral.disclosed"),
]  # fmt: skip


def _patterns(resolver: URLResolver, namespace: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}" if namespace and entry.namespace else entry.namespace
            yield from _patterns(entry, inner or namespace)
        elif entry.name:
            yield (f"{namespace}:{entry.name}" if namespace else entry.name), entry


def _pages() -> dict[tuple[str, str], Act]:
    """Every page of the three apps, with the action its view enforces per method."""
    found: dict[tuple[str, str], Act] = {}
    for name, pattern in _patterns(get_resolver()):
        if name.split(":")[0] not in APP_NAMESPACES or name in NOT_POLICY_PAGES:
            continue
        acts = getattr(pattern.callback, "policy_acts", None)
        assert acts, f"{name} is not a policy_view: its permission decision is not from the registry"
        for method, act in acts.items():
            found[(name, method)] = act
    return found


def test_every_page_is_a_policy_view_with_matrix_rows() -> None:
    assert {(page.name, page.method): page.act for page in PAGES} == _pages()


def test_a_page_and_the_api_write_the_same_consultation_for_the_same_action() -> None:
    """The lead.viewed/lead.listed drift cannot come back: where a page and an API operation
    are the same read, they must leave the same audit action."""
    api: dict[Act, set[str | None]] = {}
    for op in OPS:
        if op.method == "get":
            api.setdefault(op.act, set()).add(AUDIT_ON_SUCCESS[(op.method, op.path)])
    for page in PAGES:
        if page.method == "GET" and page.act in api and page.audit is not None:
            assert page.audit in api[page.act], (page.name, page.act)


def test_the_registry_is_exercised_by_the_two_matrices() -> None:
    """Every action of the rulebook is checked through at least one entry point."""
    covered = {op.act for op in OPS} | {page.act for page in PAGES}
    assert covered == set(CASES)


def _web(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


def _status_ok(page: Page, status: int) -> bool:
    return status in ({200, 302} if page.method == "GET" else {200, 204, 302})


def _audit_problem(page: Page, name: str, response: Any) -> str | None:
    actions = set(
        AuditEvent.objects.filter(request_id=response["X-Request-ID"]).values_list("action", flat=True)
    )
    if response.status_code in (403, 404):
        expected: str | None = "access.denied" if response.status_code == 403 else "access.not_found"
    else:
        expected = page.audit
    if expected is not None and expected not in actions:
        return f"{name}: {response.status_code} left no {expected} (got {sorted(actions)})"
    return None


@pytest.mark.parametrize("page", PAGES, ids=[f"{p.method} {p.name}" for p in PAGES])
def test_web_matrix(page: Page, cast: dict[str, Persona]) -> None:
    case = CASES[page.act]
    deviations: list[str] = []
    for name in PERSONAS:
        obj = case.build() if case.build else None
        args = [page.url_id(obj)] if page.url_id is not None and obj is not None else []
        url = reverse(page.name, args=args)
        data = page.data(obj) if page.data else {}
        client = _web(cast[name])
        response = client.get(url, data) if page.method == "GET" else client.post(url, data)
        expected = page.expect(name)
        status = response.status_code
        if (expected == OK and not _status_ok(page, status)) or (expected != OK and status != expected):
            body = b"" if status == 302 else response.content[:300]
            deviations.append(f"{name}: expected {expected}, got {status} {body!r}")
        elif (problem := _audit_problem(page, name, response)) is not None:
            deviations.append(problem)
    assert deviations == []


@pytest.mark.parametrize(
    "page", [p for p in PAGES if p.url_id is not None], ids=lambda p: f"{p.method} {p.name}"
)
def test_a_hidden_object_and_a_missing_one_look_the_same_on_every_page(
    page: Page, cast: dict[str, Persona]
) -> None:
    """No existence oracle on the pages either: the 404 for an object the person may not see is
    byte for byte the 404 for an id that does not exist."""
    case = CASES[page.act]
    hidden_from = [p for p in PERSONAS if page.expect(p) == 404]
    for name in hidden_from[:2]:
        client = _web(cast[name])
        obj = case.build() if case.build else None
        assert page.url_id is not None
        send = client.get if page.method == "GET" else client.post
        hidden = send(reverse(page.name, args=[page.url_id(obj)]), page.data(obj) if page.data else {})
        missing = send(reverse(page.name, args=[uuid.uuid4()]), page.data(obj) if page.data else {})
        assert hidden.status_code == missing.status_code == 404, name
        assert _without_tokens(hidden.content) == _without_tokens(missing.content), name


def _without_tokens(body: bytes) -> bytes:
    """A page minus its per-response CSRF tokens (masked afresh on every response)."""
    body = re.sub(rb'"X-CSRFToken": "[^"]+"', b'"X-CSRFToken": ""', body)
    return re.sub(rb'(name="csrfmiddlewaretoken" value=")[^"]+', rb"\1", body)
