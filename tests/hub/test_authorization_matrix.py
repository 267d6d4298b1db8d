"""The authorization matrix: every role × every API operation × the object's relation to the
caller, with the exact status expected. It fails when an operation is added to the API without
rows here (the coverage guard reads the OpenAPI document).

Each operation acts on a fresh object held by Kent Police (a force in the ERSOU region),
referred by NCMEC, in the state the operation needs. So the personas cover every relation:
holder (kent_officer, kent_supervisor), another force in the same region (essex_officer), the
holder's region (ersou_coordinator), another region (gmp_officer, titan_coordinator), the hub
(coordinator), auditor, the referring agency (ncmec) and another agency (iwf). A random id
must answer exactly like an object the caller may not see.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from hub.models import AuditEvent
from hub.policies.rules import RULES, Act
from tests.conftest import Persona
from tests.factories import make_triaged
from tests.policy_cases import CASES, OK, PERSONAS, pause_until

pytestmark = pytest.mark.django_db

OUTCOME_BODY = {"justice_outcome": "caution", "safeguarding_outcome": "no_child_at_risk", "arrests": 0,
                "children_safeguarded": 0, "victims_identified": 0, "suspect_has_access_to_children": False,
                "safeguarding_needed": False}  # fmt: skip
SHIFT_BODY = {
    "coordinator": "coordinator",
    "starts_at": "2026-12-01T20:00:00Z",
    "ends_at": "2026-12-02T08:00:00Z",
}
TRIAGE_BODY = {"grade": 3, "risk": "medium", "access_to_children": [], "information_incomplete": True,
               "rationale": "matrix"}  # fmt: skip


@dataclass(frozen=True)
class Op:
    """One API operation and the policy action it is: the object and each persona's answer come
    from that action's row of tests/policy_cases.py, shared with the web matrix."""

    method: str
    path: str  # as in the OpenAPI document
    act: Act
    url_id: Callable[[Any], str] = lambda obj: str(obj.pk)
    body: Callable[[Any], dict[str, Any]] | None = None
    ok: int = 200  # what "allowed" answers (201 for a create)
    expect: dict[str, int] = field(init=False)
    build: Callable[[], Any] | None = field(init=False)

    def __post_init__(self) -> None:
        case = CASES[self.act]
        object.__setattr__(self, "build", case.build)
        object.__setattr__(self, "expect", {p: self.ok if s == OK else s for p, s in case.expect.items()})


def _referral_id(obj: Any) -> str:
    return str(obj.referral_id if hasattr(obj, "referral_id") else obj.pk)


OPS = [
    Op("get", "/api/v1/organisations/", Act.ORGANISATION_LIST),
    Op("get", "/api/v1/organisations/{code}/", Act.ORGANISATION_VIEW, url_id=lambda o: o.code),
    Op("get", "/api/v1/referrals/", Act.REFERRAL_LIST),
    Op("post", "/api/v1/referrals/", Act.REFERRAL_CREATE, ok=201,
       body=lambda _: {"external_id": f"M-{uuid.uuid4().hex[:8]}", "agency": "NCMEC"}),
    Op("get", "/api/v1/referrals/{id}/", Act.REFERRAL_VIEW),
    Op("post", "/api/v1/referrals/{id}/triage/", Act.REFERRAL_TRIAGE, body=lambda _: TRIAGE_BODY),
    Op("post", "/api/v1/referrals/{id}/non-actionable/", Act.REFERRAL_NON_ACTIONABLE,
       body=lambda _: {"reason": "informational", "note": "viral image"}),
    Op("post", "/api/v1/referrals/{id}/close/", Act.REFERRAL_CLOSE, body=lambda _: {}),
    Op("get", "/api/v1/referrals/{id}/outcome/", Act.OUTCOME_VIEW, url_id=_referral_id),
    Op("post", "/api/v1/referrals/{id}/outcome/", Act.OUTCOME_RECORD, url_id=_referral_id, ok=201,
       body=lambda _: OUTCOME_BODY),
    Op("patch", "/api/v1/referrals/{id}/outcome/", Act.OUTCOME_AMEND, url_id=_referral_id,
       body=lambda _: {"arrests": 2, "reason": "charged at court"}),
    Op("get", "/api/v1/tasks/", Act.TASK_LIST),
    Op("post", "/api/v1/tasks/", Act.TASK_ALLOCATE, ok=201,
       body=lambda _: {"referral": str(make_triaged().pk), "assignee_org": "KENT"}),
    Op("get", "/api/v1/tasks/{id}/", Act.TASK_VIEW),
    Op("post", "/api/v1/tasks/{id}/accept/", Act.TASK_ACCEPT),
    Op("post", "/api/v1/tasks/{id}/decline/", Act.TASK_DECLINE, body=lambda _: {"reason": "duplicate"}),
    Op("post", "/api/v1/tasks/{id}/cancel/", Act.TASK_CANCEL, body=lambda _: {"reason": "Stale"}),
    Op("post", "/api/v1/tasks/{id}/reassign/", Act.TASK_REASSIGN,
       body=lambda _: {"assignee_org": "ESSEX", "reason": "moved"}),
    Op("post", "/api/v1/tasks/{id}/hand-down/", Act.TASK_HAND_DOWN,
       body=lambda _: {"assignee_org": "KENT", "reason": "Kent area"}),
    Op("get", "/api/v1/tasks/{id}/leads/", Act.LEAD_LIST),
    Op("post", "/api/v1/tasks/{id}/leads/", Act.LEAD_CREATE, ok=201,
       body=lambda _: {"kind": "device", "description": "phone"}),
    Op("get", "/api/v1/tasks/{id}/children/", Act.CHILD_LIST),
    Op("post", "/api/v1/tasks/{id}/children/", Act.CHILD_ADD, ok=201,
       body=lambda _: {"reference": "Child B", "relation": "reachable", "access_route": "family"}),
    Op("post", "/api/v1/children/{id}/checks/", Act.CHILD_CHECK, ok=201,
       body=lambda _: {"kind": "safe_and_well", "result": "Seen at home, well"}),
    Op("post", "/api/v1/children/{id}/handoffs/", Act.HANDOFF_OFFER, ok=201,
       body=lambda _: {"to_org": "ESSEX"}),
    Op("get", "/api/v1/handoffs/", Act.HANDOFF_LIST),
    Op("get", "/api/v1/tasks/{id}/requests/", Act.REQUEST_LIST),
    Op("post", "/api/v1/tasks/{id}/requests/", Act.REQUEST_ADD, ok=201,
       body=lambda _: {"kind": "platform", "counterpart": "Snap Inc.", "reference": "LE-1"}),
    Op("get", "/api/v1/requests/", Act.REQUEST_QUEUE),
    Op("post", "/api/v1/requests/{id}/chase/", Act.REQUEST_UPDATE),
    Op("post", "/api/v1/requests/{id}/answer/", Act.REQUEST_UPDATE),
    Op("post", "/api/v1/handoffs/{id}/accept/", Act.HANDOFF_ANSWER, body=lambda _: {}),
    Op("post", "/api/v1/handoffs/{id}/decline/", Act.HANDOFF_ANSWER, body=lambda _: {"reason": "Not ours"}),
    Op("post", "/api/v1/handoffs/{id}/revoke/", Act.HANDOFF_REVOKE, body=lambda _: {"reason": "Wrong force"}),
    Op("get", "/api/v1/referrals/{id}/matches/", Act.MATCH_LIST),
    Op("post", "/api/v1/referrals/{id}/matches/", Act.MATCH_RUN),
    Op("post", "/api/v1/tasks/{id}/conference/", Act.CONFERENCE_REQUEST, ok=201,
       body=lambda _: {"note": "Same series"}),
    Op("get", "/api/v1/conference-requests/", Act.CONFERENCE_LIST),
    Op("get", "/api/v1/tasks/{id}/media/", Act.MEDIA_LIST),
    Op("post", "/api/v1/exposure/", Act.EXPOSURE_LOG, ok=201,
       body=lambda task: {"task": str(task.pk), "minutes": 30}),
    Op("get", "/api/v1/exposure/", Act.EXPOSURE_VIEW),
    Op("get", "/api/v1/exposure/team/", Act.WELFARE_TEAM),
    Op("post", "/api/v1/exposure/debriefs/", Act.WELFARE_DEBRIEF, ok=201,
       body=lambda person: {"person": person.username, "kind": "debrief", "held_on": "2026-11-30"}),
    Op("post", "/api/v1/tasks/{id}/media/", Act.MEDIA_REVIEW, ok=201,
       body=lambda _: {"sha256": "a" * 64, "category": "B"}),
    Op("post", "/api/v1/conference-requests/{id}/grant/", Act.CONFERENCE_ANSWER, body=lambda _: {}),
    Op("post", "/api/v1/conference-requests/{id}/refuse/", Act.CONFERENCE_ANSWER,
       body=lambda _: {"reason": "Already deconflicted"}),
    Op("get", "/api/v1/tasks/{id}/reassessment/", Act.TASK_VIEW),
    Op("post", "/api/v1/tasks/{id}/reassessment/", Act.TASK_REASSESS, ok=201,
       body=lambda _: {"risk": "very_high", "rationale": "Lives with two children under 10"}),
    Op("get", "/api/v1/tasks/{id}/suspect-events/", Act.SUSPECT_EVENT_LIST),
    Op("post", "/api/v1/tasks/{id}/suspect-events/", Act.SUSPECT_EVENT_RECORD, ok=201,
       body=lambda _: {"kind": "arrested"}),
    Op("get", "/api/v1/tasks/{id}/safeguarding-actions/", Act.SAFEGUARDING_LIST),
    Op("post", "/api/v1/tasks/{id}/safeguarding-actions/", Act.SAFEGUARDING_RECORD, ok=201,
       body=lambda _: {"action": "safe_and_well_check", "children_identified": 1}),
    Op("post", "/api/v1/tasks/{id}/acknowledge/", Act.TASK_ACKNOWLEDGE, body=lambda _: {"note": "mine"}),
    Op("post", "/api/v1/tasks/{id}/pause/", Act.TASK_PAUSE,
       body=lambda _: {"reason": "MLAT", "until": pause_until()}),
    Op("post", "/api/v1/tasks/{id}/resume/", Act.TASK_RESUME),
    Op("get", "/api/v1/notifications/", Act.NOTIFICATION_LIST),
    Op("get", "/api/v1/notifications/unread-count/", Act.NOTIFICATION_LIST),
    Op("post", "/api/v1/notifications/{id}/read/", Act.NOTIFICATION_READ),
    Op("get", "/api/v1/escalations/", Act.ESCALATION_LIST),
    Op("get", "/api/v1/on-call/", Act.ONCALL_LIST),
    Op("post", "/api/v1/on-call/", Act.ONCALL_SET, ok=201, body=lambda _: SHIFT_BODY),
    Op("delete", "/api/v1/on-call/{id}/", Act.ONCALL_REMOVE, ok=204),
    Op("get", "/api/v1/webhooks/", Act.WEBHOOK_LIST),
    Op("post", "/api/v1/webhooks/", Act.WEBHOOK_SET, ok=202,
       body=lambda _: {"agency": "IWF", "url": "http://127.0.0.1:9/iwf"}),
    Op("get", "/api/v1/webhook-changes/", Act.WEBHOOK_CHANGE_LIST),
    Op("post", "/api/v1/webhook-changes/{id}/approve/", Act.WEBHOOK_CHANGE_DECIDE),
    Op("post", "/api/v1/webhook-changes/{id}/refuse/", Act.WEBHOOK_CHANGE_DECIDE,
       body=lambda _: {"reason": "Not the agency's address"}),
    Op("get", "/api/v1/webhooks/{id}/", Act.WEBHOOK_VIEW),
    Op("post", "/api/v1/webhooks/{id}/rotate-secret/", Act.WEBHOOK_ROTATE),
    Op("post", "/api/v1/webhooks/{id}/send-outstanding/", Act.WEBHOOK_SEND_OUTSTANDING),
    Op("get", "/api/v1/webhooks/{id}/deliveries/", Act.DELIVERY_LOG),
    Op("post", "/api/v1/deliveries/{id}/replay/", Act.DELIVERY_REPLAY, body=lambda _: {"reason": "matrix"}),
    Op("get", "/api/v1/feedback/stats/", Act.FEEDBACK_STATS),
    Op("get", "/api/v1/audit/events/", Act.AUDIT_SEARCH),
    Op("get", "/api/v1/audit/events/export/", Act.AUDIT_EXPORT),
    Op("get", "/api/v1/audit/verification/", Act.AUDIT_STATUS),
    Op("get", "/api/v1/reports/spokes/", Act.REPORT_VIEW),
    Op("get", "/api/v1/reports/funnel/", Act.REPORT_VIEW),
    Op("get", "/api/v1/reports/trends/", Act.TRENDS_VIEW),
    Op("get", "/api/v1/reports/monthly/", Act.MONTHLY_LIST),
    Op("get", "/api/v1/reports/research/", Act.RESEARCH_EXPORT,
       body=lambda _: {"recipient": "University study team", "approval": "REC 24/0042: attrition study"}),
    Op("get", "/api/v1/people/", Act.PEOPLE_LIST),
    Op("post", "/api/v1/people/", Act.PERSON_ADD, ok=201,
       body=lambda _: {"username": f"new-{uuid.uuid4().hex[:8]}", "organisation": "KENT", "role": "officer"}),
    Op("get", "/api/v1/people/{id}/", Act.PERSON_VIEW),
    Op("patch", "/api/v1/people/{id}/", Act.PERSON_EDIT, body=lambda _: {"first_name": "Sam"}),
    Op("post", "/api/v1/people/{id}/move/", Act.PERSON_MOVE,
       body=lambda _: {"organisation": "KENT", "role": "supervisor", "reason": "Promoted"}),
    Op("post", "/api/v1/people/{id}/active/", Act.PERSON_SET_ACTIVE,
       body=lambda _: {"active": False, "reason": "Left the force"}),
    Op("post", "/api/v1/people/{id}/invitation/", Act.PERSON_EDIT, body=lambda _: {}),
    Op("post", "/api/v1/people/{id}/factors-reset/", Act.FACTORS_RESET,
       body=lambda _: {"reason": "Phone lost"}),
    Op("post", "/api/v1/people/{id}/tokens/", Act.TOKEN_ISSUE, ok=201, body=lambda _: {"expires_days": 30}),
    Op("get", "/api/v1/tokens/", Act.TOKEN_LIST),
    Op("post", "/api/v1/tokens/{id}/revoke/", Act.TOKEN_REVOKE, body=lambda _: {}),
    Op("get", "/api/v1/contacts/", Act.CONTACT_LIST),
    Op("patch", "/api/v1/contacts/{code}/", Act.ORGANISATION_EDIT, url_id=lambda o: o.code,
       body=lambda _: {"contact_name": f"DS {uuid.uuid4().hex[:6]}"}),
    Op("get", "/api/v1/deadline-policy/", Act.DEADLINE_POLICY_VIEW),
    Op("patch", "/api/v1/deadline-policy/{id}/", Act.DEADLINE_POLICY_EDIT,
       body=lambda _: {"act_within": "20 00:00:00", "reason": "HMICFRS recommendation"}),
    Op("post", "/api/v1/deadline-policy/{id}/preview/", Act.DEADLINE_POLICY_EDIT,
       body=lambda _: {"act_within": "20 00:00:00"}),
    Op("get", "/api/v1/leads/{id}/", Act.LEAD_VIEW),
    Op("patch", "/api/v1/leads/{id}/", Act.LEAD_UPDATE, body=lambda _: {"status": "in_progress"}),
]  # fmt: skip


def test_every_api_operation_names_the_policy_action_its_view_enforces() -> None:
    """The matrix's action for each operation is the one its viewset maps it to, so the rows
    checked here are the rows the permission class reads."""
    generator = SchemaGenerator()
    generator._initialise_endpoints()  # the endpoints the OpenAPI document is built from
    enforced: dict[tuple[str, str], Act] = {}
    for path, _regex, method, callback in generator.endpoints:
        if not hasattr(callback, "actions"):  # the schema document's own view
            continue
        action = callback.actions[method.lower()]
        enforced[(method.lower(), path.replace("{pk}", "{id}"))] = callback.cls.policies[action]
    assert {(op.method, op.path): op.act for op in OPS} == enforced


def test_every_policy_action_has_a_case() -> None:
    assert set(CASES) == set(RULES) == set(Act)


# The audit event each operation must leave when it succeeds (None: not a sensitive record).
# Refusals always leave access.denied (403) or access.not_found (404).
AUDIT_ON_SUCCESS: dict[tuple[str, str], str | None] = {
    ("get", "/api/v1/organisations/"): None,
    ("get", "/api/v1/organisations/{code}/"): None,
    ("get", "/api/v1/referrals/"): "referral.listed",
    ("post", "/api/v1/referrals/"): "referral.received",
    ("get", "/api/v1/referrals/{id}/"): "referral.viewed",
    ("post", "/api/v1/referrals/{id}/triage/"): "referral.regraded",
    ("post", "/api/v1/referrals/{id}/non-actionable/"): "referral.non_actionable",
    ("post", "/api/v1/referrals/{id}/close/"): "referral.closed",
    ("get", "/api/v1/referrals/{id}/outcome/"): "outcome.viewed",
    ("post", "/api/v1/referrals/{id}/outcome/"): "outcome.recorded",
    ("patch", "/api/v1/referrals/{id}/outcome/"): "outcome.amended",
    ("get", "/api/v1/tasks/"): "task.listed",
    ("post", "/api/v1/tasks/"): "task.allocated",
    ("get", "/api/v1/tasks/{id}/"): "task.viewed",
    ("post", "/api/v1/tasks/{id}/accept/"): "task.accepted",
    ("post", "/api/v1/tasks/{id}/decline/"): "task.declined",
    ("post", "/api/v1/tasks/{id}/reassign/"): "task.reassigned",
    ("post", "/api/v1/tasks/{id}/hand-down/"): "task.handed_down",
    ("get", "/api/v1/tasks/{id}/leads/"): "lead.listed",
    ("post", "/api/v1/tasks/{id}/leads/"): "lead.created",
    ("get", "/api/v1/tasks/{id}/children/"): "child.listed",
    ("post", "/api/v1/tasks/{id}/children/"): "child.added",
    ("post", "/api/v1/children/{id}/checks/"): "child.checked",
    ("get", "/api/v1/tasks/{id}/suspect-events/"): "suspect_event.listed",
    ("post", "/api/v1/children/{id}/handoffs/"): "handoff.offered",
    ("get", "/api/v1/handoffs/"): "handoff.listed",
    ("get", "/api/v1/tasks/{id}/requests/"): "external_request.listed",
    ("post", "/api/v1/tasks/{id}/requests/"): "external_request.sent",
    ("get", "/api/v1/requests/"): "external_request.listed",
    ("post", "/api/v1/requests/{id}/chase/"): "external_request.chased",
    ("post", "/api/v1/requests/{id}/answer/"): "external_request.answered",
    ("post", "/api/v1/handoffs/{id}/accept/"): "handoff.accepted",
    ("post", "/api/v1/handoffs/{id}/decline/"): "handoff.declined",
    ("post", "/api/v1/handoffs/{id}/revoke/"): "handoff.revoked",
    ("get", "/api/v1/tasks/{id}/reassessment/"): "reassessment.listed",
    ("post", "/api/v1/tasks/{id}/cancel/"): "task.cancelled",
    ("get", "/api/v1/referrals/{id}/matches/"): "media_match.listed",
    ("post", "/api/v1/tasks/{id}/conference/"): "conference.requested",
    ("get", "/api/v1/conference-requests/"): "conference.listed",
    ("get", "/api/v1/tasks/{id}/media/"): "media.listed",
    ("post", "/api/v1/exposure/"): "exposure.logged",
    ("get", "/api/v1/exposure/"): None,
    ("get", "/api/v1/exposure/team/"): "welfare.viewed",
    ("post", "/api/v1/exposure/debriefs/"): "welfare.debrief_recorded",
    ("post", "/api/v1/tasks/{id}/media/"): "media.reviewed",
    ("post", "/api/v1/conference-requests/{id}/grant/"): "conference.granted",
    ("post", "/api/v1/conference-requests/{id}/refuse/"): "conference.refused",
    ("post", "/api/v1/referrals/{id}/matches/"): "media.matched",
    ("post", "/api/v1/tasks/{id}/reassessment/"): "task.reassessed",
    ("post", "/api/v1/tasks/{id}/suspect-events/"): "suspect_event.recorded",
    ("get", "/api/v1/tasks/{id}/safeguarding-actions/"): "safeguarding_action.listed",
    ("post", "/api/v1/tasks/{id}/safeguarding-actions/"): "safeguarding_action.recorded",
    ("post", "/api/v1/tasks/{id}/acknowledge/"): "task.escalation_acknowledged",
    ("post", "/api/v1/tasks/{id}/pause/"): "task.paused",
    ("post", "/api/v1/tasks/{id}/resume/"): "task.resumed",
    ("get", "/api/v1/notifications/"): "notification.listed",
    ("get", "/api/v1/notifications/unread-count/"): None,
    ("post", "/api/v1/notifications/{id}/read/"): "notification.read",
    ("get", "/api/v1/escalations/"): "escalation.listed",
    ("get", "/api/v1/on-call/"): None,
    ("post", "/api/v1/on-call/"): "on_call.shift_added",
    ("delete", "/api/v1/on-call/{id}/"): "on_call.shift_removed",
    ("get", "/api/v1/webhooks/"): None,
    ("post", "/api/v1/webhooks/"): "webhook.change_proposed",
    ("get", "/api/v1/webhook-changes/"): "webhook.changes_listed",
    ("post", "/api/v1/webhook-changes/{id}/approve/"): "webhook.change_approved",
    ("post", "/api/v1/webhook-changes/{id}/refuse/"): "webhook.change_refused",
    ("get", "/api/v1/webhooks/{id}/"): None,
    ("post", "/api/v1/webhooks/{id}/rotate-secret/"): "webhook.secret_rotated",
    ("post", "/api/v1/webhooks/{id}/send-outstanding/"): "webhook.outstanding_sent",
    ("get", "/api/v1/webhooks/{id}/deliveries/"): "webhook.deliveries_viewed",
    ("post", "/api/v1/deliveries/{id}/replay/"): "referral.disclosed",
    ("get", "/api/v1/feedback/stats/"): None,
    ("get", "/api/v1/audit/events/"): "audit.searched",
    ("get", "/api/v1/audit/events/export/"): "audit.exported",
    ("get", "/api/v1/audit/verification/"): "audit.status_viewed",
    ("get", "/api/v1/reports/spokes/"): "report.spokes_viewed",
    ("get", "/api/v1/reports/research/"): "research.exported",
    ("get", "/api/v1/reports/trends/"): "report.trends_viewed",
    ("get", "/api/v1/reports/monthly/"): "report.monthly_listed",
    ("get", "/api/v1/reports/funnel/"): "report.funnel_viewed",
    ("get", "/api/v1/people/"): "person.listed",
    ("post", "/api/v1/people/"): "person.added",
    ("get", "/api/v1/people/{id}/"): "person.viewed",
    ("patch", "/api/v1/people/{id}/"): "person.edited",
    ("post", "/api/v1/people/{id}/move/"): "person.moved",
    ("post", "/api/v1/people/{id}/active/"): "person.deactivated",
    ("post", "/api/v1/people/{id}/invitation/"): "person.invited",
    ("post", "/api/v1/people/{id}/factors-reset/"): "auth.factors_reset",
    ("post", "/api/v1/people/{id}/tokens/"): "token.created",
    ("get", "/api/v1/tokens/"): "token.listed",
    ("post", "/api/v1/tokens/{id}/revoke/"): "token.revoked",
    ("get", "/api/v1/contacts/"): "organisation.contacts_listed",
    ("patch", "/api/v1/contacts/{code}/"): "organisation.contacts_set",
    ("get", "/api/v1/deadline-policy/"): None,
    ("patch", "/api/v1/deadline-policy/{id}/"): "deadline_policy.set",
    ("post", "/api/v1/deadline-policy/{id}/preview/"): None,
    ("get", "/api/v1/leads/{id}/"): "lead.viewed",
    ("patch", "/api/v1/leads/{id}/"): "lead.updated",
}


def _audit_deviation(op: Op, name: str, response: Any) -> str | None:
    """The request's own audit events (joined on X-Request-ID) must include what it did."""
    actions = set(
        AuditEvent.objects.filter(request_id=response["X-Request-ID"]).values_list("action", flat=True)
    )
    if response.status_code in (403, 404):
        expected = "access.denied" if response.status_code == 403 else "access.not_found"
    else:
        expected = AUDIT_ON_SUCCESS[(op.method, op.path)]
    if expected is not None and expected not in actions:
        return f"{name}: {response.status_code} left no {expected} audit event (got {sorted(actions)})"
    return None


def _url(op: Op, obj: Any) -> str:
    if op.build is None:
        return op.path
    key = "{code}" if "{code}" in op.path else "{id}"
    return op.path.replace(key, op.url_id(obj))


def _call(client: APIClient, op: Op, url: str, obj: Any) -> Any:
    body = op.body(obj) if op.body else None
    return (
        getattr(client, op.method)(url, body, format="json")
        if body is not None
        else getattr(client, op.method)(url)
    )


def test_every_api_operation_has_matrix_rows() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    in_schema = {(method, path) for path, item in schema["paths"].items() for method in item}
    in_matrix = {(op.method, op.path) for op in OPS}
    assert in_schema - in_matrix == set(), "operations without authorization-matrix rows"
    assert in_matrix - in_schema == set(), "matrix rows for operations the API does not have"
    assert set(AUDIT_ON_SUCCESS) == in_schema, "every operation states the audit event it leaves"


@pytest.mark.parametrize("op", OPS, ids=[f"{op.method.upper()} {op.path}" for op in OPS])
def test_authorization_matrix(op: Op, cast: dict[str, Persona], anon: APIClient) -> None:
    assert op.expect is not None
    deviations: list[str] = []
    for name in PERSONAS:
        obj = op.build() if op.build else None
        response = _call(cast[name].client, op, _url(op, obj), obj)
        if response.status_code != op.expect[name]:
            deviations.append(
                f"{name}: expected {op.expect[name]}, got {response.status_code} {response.content[:200]!r}"
            )
        elif (audit_problem := _audit_deviation(op, name, response)) is not None:
            deviations.append(audit_problem)
    obj = op.build() if op.build else None
    if (status := _call(anon, op, _url(op, obj), obj).status_code) != 401:
        deviations.append(f"anonymous: expected 401, got {status}")
    assert deviations == []


@pytest.mark.parametrize("op", [op for op in OPS if op.build is not None and "{id}" in op.path],
                         ids=lambda op: f"{op.method.upper()} {op.path}")  # fmt: skip
def test_missing_id_answers_exactly_like_a_hidden_object(op: Op, cast: dict[str, Persona]) -> None:
    """No existence oracle: a random id and an object the caller may not see look the same."""
    missing_url = op.path.replace("{id}", str(uuid.uuid4()))
    for name in PERSONAS:
        missing = _call(cast[name].client, op, missing_url, None)
        assert missing.status_code == 404, (name, missing.status_code)
        hidden_as = [p for p in PERSONAS if op.expect and op.expect[p] == 404]
        if name in hidden_as:
            obj = op.build() if op.build else None
            hidden = _call(cast[name].client, op, _url(op, obj), obj)
            assert hidden.json() == missing.json(), name
