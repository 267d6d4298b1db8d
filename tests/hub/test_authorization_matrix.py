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
from dataclasses import dataclass
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from hub.models import AuditEvent, Notification, Task, User
from hub.services.alerts import alerts_sweep, task_pause
from safeguarding.feedback import webhook_endpoint_set
from safeguarding.models import OutboxEvent
from safeguarding.services import outcome_record
from spokes.services import lead_create
from tests.conftest import Persona
from tests.factories import acting, make_task, make_triaged, org

pytestmark = pytest.mark.django_db

PERSONAS = ["coordinator", "auditor", "ncmec", "iwf", "kent_officer", "kent_supervisor", "essex_officer",
            "ersou_coordinator", "gmp_officer", "titan_coordinator"]  # fmt: skip


def _outcome_recorded() -> Task:
    task = make_task(accepted=True)
    outcome_record(
        referral=task.referral, actor=acting("KENT"),
        justice_outcome="caution", safeguarding_outcome="no_child_at_risk", arrests=0,
        children_safeguarded=0, victims_identified=0, suspect_has_access_to_children=False,
        is_safeguarding_needed=False,
    )  # fmt: skip
    return task


def _escalated() -> Task:
    task = make_task(accepted=True)
    alerts_sweep(now=task.due_at)
    return task


def _paused() -> Task:
    return task_pause(task=make_task(accepted=True), actor=acting("KENT", "supervisor"), reason="MLAT")


def _notification_for_kent_officer() -> Notification:
    officer = User.objects.get(username="kent_officer")
    return Notification.objects.create(recipient=officer, kind="reminder", subject="matrix")


def _endpoint() -> Any:
    return webhook_endpoint_set(agency=org("NCMEC"), url="http://127.0.0.1:9/hook", actor=None)[0]


def _outbox_event() -> Any:
    _endpoint()
    task = _outcome_recorded()
    return OutboxEvent.objects.get(referral=task.referral, event_type="referral.outcome_recorded")


def _lead() -> Any:
    task = make_task(accepted=True)
    return lead_create(task=task, actor=acting("KENT"), kind="device", description="Seized phone")


OUTCOME_BODY = {"justice_outcome": "caution", "safeguarding_outcome": "no_child_at_risk", "arrests": 0,
                "children_safeguarded": 0, "victims_identified": 0, "suspect_has_access_to_children": False,
                "safeguarding_needed": False}  # fmt: skip
TRIAGE_BODY = {"grade": 3, "risk": "medium", "access_to_children": [], "information_incomplete": True,
               "rationale": "matrix"}  # fmt: skip


@dataclass(frozen=True)
class Op:
    method: str
    path: str  # as in the OpenAPI document
    build: Callable[[], Any] | None  # makes the object; None for collection routes
    url_id: Callable[[Any], str] = lambda obj: str(obj.pk)
    body: Callable[[Any], dict[str, Any]] | None = None
    # Expected status per persona (anonymous is always 401).
    expect: dict[str, int] | None = None


def row(
    c: int, a: int, n: int, i: int, ko: int, ks: int, eo: int, er: int, go: int, tc: int
) -> dict[str, int]:
    return dict(zip(PERSONAS, [c, a, n, i, ko, ks, eo, er, go, tc], strict=True))


ALL_200 = row(*[200] * 10)
# Who may see a Kent-held task / its referral: hub, auditor, the holder, and the holder's region.
SEE_TASK = row(200, 200, 404, 404, 200, 200, 404, 200, 404, 404)
WORK_TASK = row(403, 403, 404, 404, 200, 200, 404, 403, 404, 404)
WORK_TASK_CREATE = row(403, 403, 404, 404, 201, 201, 404, 403, 404, 404)
HUB_ON_REFERRAL = row(200, 403, 403, 404, 403, 403, 404, 403, 404, 404)
HUB_AND_AUDITOR = row(200, 200, 403, 403, 403, 403, 403, 403, 403, 403)
AUDITOR_ONLY = row(403, 200, 403, 403, 403, 403, 403, 403, 403, 403)
SEE_REFERRAL = row(200, 200, 200, 404, 200, 200, 404, 200, 404, 404)

OPS = [
    Op("get", "/api/v1/organisations/", None, expect=ALL_200),
    Op("get", "/api/v1/organisations/{code}/", lambda: org("KENT"), url_id=lambda o: o.code, expect=ALL_200),
    Op("get", "/api/v1/referrals/", None, expect=ALL_200),
    Op("post", "/api/v1/referrals/", None,
       body=lambda _: {"external_id": f"M-{uuid.uuid4().hex[:8]}", "agency": "NCMEC"},
       expect=row(201, 403, 201, 201, 403, 403, 403, 403, 403, 403)),
    Op("get", "/api/v1/referrals/{id}/", lambda: make_task().referral, expect=SEE_REFERRAL),
    Op("post", "/api/v1/referrals/{id}/triage/", lambda: make_task().referral, body=lambda _: TRIAGE_BODY,
       expect=HUB_ON_REFERRAL),
    # A triaged referral not yet allocated is visible only to the hub, auditors and its agency.
    Op("post", "/api/v1/referrals/{id}/non-actionable/", make_triaged,
       body=lambda _: {"reason": "informational", "note": "viral image"},
       expect=row(200, 403, 403, 404, 404, 404, 404, 404, 404, 404)),
    Op("post", "/api/v1/referrals/{id}/close/", lambda: _outcome_recorded().referral, body=lambda _: {},
       expect=HUB_ON_REFERRAL),
    Op("get", "/api/v1/referrals/{id}/outcome/", lambda: _outcome_recorded().referral, expect=SEE_REFERRAL),
    Op("post", "/api/v1/referrals/{id}/outcome/", lambda: make_task(accepted=True).referral,
       body=lambda _: OUTCOME_BODY, expect=row(201, 403, 403, 404, 201, 201, 404, 403, 404, 404)),
    Op("get", "/api/v1/tasks/", None, expect=ALL_200),
    Op("post", "/api/v1/tasks/", None,
       body=lambda _: {"referral": str(make_triaged().pk), "assignee_org": "KENT"},
       expect=row(201, 403, 403, 403, 403, 403, 403, 403, 403, 403)),
    Op("get", "/api/v1/tasks/{id}/", make_task, expect=SEE_TASK),
    Op("post", "/api/v1/tasks/{id}/accept/", make_task, expect=WORK_TASK),
    Op("post", "/api/v1/tasks/{id}/decline/", make_task, body=lambda _: {"reason": "duplicate"},
       expect=WORK_TASK),
    Op("post", "/api/v1/tasks/{id}/reassign/", make_task,
       body=lambda _: {"assignee_org": "ESSEX", "reason": "moved"},
       expect=row(200, 403, 404, 404, 403, 403, 404, 403, 404, 404)),
    # Held by the region: only the region's coordinator may hand it down; Kent cannot see it yet.
    Op("post", "/api/v1/tasks/{id}/hand-down/", lambda: make_task(holder="ERSOU"),
       body=lambda _: {"assignee_org": "KENT", "reason": "Kent area"},
       expect=row(403, 403, 404, 404, 404, 404, 404, 200, 404, 404)),
    Op("get", "/api/v1/tasks/{id}/leads/", lambda: make_task(accepted=True), expect=SEE_TASK),
    Op("post", "/api/v1/tasks/{id}/leads/", lambda: make_task(accepted=True),
       body=lambda _: {"kind": "device", "description": "phone"}, expect=WORK_TASK_CREATE),
    Op("get", "/api/v1/tasks/{id}/safeguarding-actions/", lambda: make_task(accepted=True), expect=SEE_TASK),
    Op("post", "/api/v1/tasks/{id}/safeguarding-actions/", lambda: make_task(accepted=True),
       body=lambda _: {"action": "safe_and_well_check", "children_identified": 1}, expect=WORK_TASK_CREATE),
    Op("post", "/api/v1/tasks/{id}/acknowledge/", _escalated, body=lambda _: {"note": "mine"},
       expect=row(200, 403, 404, 404, 200, 200, 404, 200, 404, 404)),
    Op("post", "/api/v1/tasks/{id}/pause/", lambda: make_task(accepted=True),
       body=lambda _: {"reason": "MLAT"},
       expect=row(403, 403, 404, 404, 403, 200, 404, 403, 404, 404)),
    Op("post", "/api/v1/tasks/{id}/resume/", _paused,
       expect=row(200, 403, 404, 404, 200, 200, 404, 403, 404, 404)),
    Op("get", "/api/v1/notifications/", None, expect=ALL_200),
    Op("get", "/api/v1/notifications/unread-count/", None, expect=ALL_200),
    # Only its recipient can even see a notification.
    Op("post", "/api/v1/notifications/{id}/read/", _notification_for_kent_officer,
       expect=row(404, 404, 404, 404, 200, 404, 404, 404, 404, 404)),
    Op("get", "/api/v1/escalations/", None, expect=row(200, 200, 403, 403, 200, 200, 200, 200, 200, 200)),
    Op("get", "/api/v1/webhooks/", None, expect=row(200, 200, 200, 200, 403, 403, 403, 403, 403, 403)),
    Op("post", "/api/v1/webhooks/", None, body=lambda _: {"agency": "IWF", "url": "http://127.0.0.1:9/iwf"},
       expect=row(201, 403, 403, 403, 403, 403, 403, 403, 403, 403)),
    Op("get", "/api/v1/webhooks/{id}/", _endpoint,
       expect=row(200, 200, 200, 404, 404, 404, 404, 404, 404, 404)),
    Op("post", "/api/v1/webhooks/{id}/rotate-secret/", _endpoint,
       expect=row(200, 403, 403, 404, 404, 404, 404, 404, 404, 404)),
    Op("get", "/api/v1/webhooks/{id}/deliveries/", _endpoint,
       expect=row(200, 200, 200, 404, 404, 404, 404, 404, 404, 404)),
    Op("post", "/api/v1/deliveries/{id}/replay/", _outbox_event, body=lambda _: {"reason": "matrix"},
       expect=row(200, 404, 404, 404, 404, 404, 404, 404, 404, 404)),
    Op("get", "/api/v1/feedback/stats/", None, expect=row(200, 200, 403, 403, 403, 403, 403, 403, 403, 403)),
    Op("get", "/api/v1/audit/events/", None, expect=AUDITOR_ONLY),
    Op("get", "/api/v1/audit/events/export/", None, expect=AUDITOR_ONLY),
    Op("get", "/api/v1/audit/verification/", None, expect=AUDITOR_ONLY),
    Op("get", "/api/v1/reports/spokes/", None, expect=HUB_AND_AUDITOR),
    Op("get", "/api/v1/reports/funnel/", None, expect=HUB_AND_AUDITOR),
    Op("get", "/api/v1/leads/{id}/", _lead, expect=SEE_TASK),
    Op("patch", "/api/v1/leads/{id}/", _lead, body=lambda _: {"status": "in_progress"}, expect=WORK_TASK),
]  # fmt: skip


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
    ("get", "/api/v1/tasks/"): "task.listed",
    ("post", "/api/v1/tasks/"): "task.allocated",
    ("get", "/api/v1/tasks/{id}/"): "task.viewed",
    ("post", "/api/v1/tasks/{id}/accept/"): "task.accepted",
    ("post", "/api/v1/tasks/{id}/decline/"): "task.declined",
    ("post", "/api/v1/tasks/{id}/reassign/"): "task.reassigned",
    ("post", "/api/v1/tasks/{id}/hand-down/"): "task.handed_down",
    ("get", "/api/v1/tasks/{id}/leads/"): "lead.listed",
    ("post", "/api/v1/tasks/{id}/leads/"): "lead.created",
    ("get", "/api/v1/tasks/{id}/safeguarding-actions/"): "safeguarding_action.listed",
    ("post", "/api/v1/tasks/{id}/safeguarding-actions/"): "safeguarding_action.recorded",
    ("post", "/api/v1/tasks/{id}/acknowledge/"): "task.escalation_acknowledged",
    ("post", "/api/v1/tasks/{id}/pause/"): "task.paused",
    ("post", "/api/v1/tasks/{id}/resume/"): "task.resumed",
    ("get", "/api/v1/notifications/"): None,
    ("get", "/api/v1/notifications/unread-count/"): None,
    ("post", "/api/v1/notifications/{id}/read/"): None,
    ("get", "/api/v1/escalations/"): "escalation.listed",
    ("get", "/api/v1/webhooks/"): None,
    ("post", "/api/v1/webhooks/"): "webhook.registered",
    ("get", "/api/v1/webhooks/{id}/"): None,
    ("post", "/api/v1/webhooks/{id}/rotate-secret/"): "webhook.secret_rotated",
    ("get", "/api/v1/webhooks/{id}/deliveries/"): "webhook.deliveries_viewed",
    ("post", "/api/v1/deliveries/{id}/replay/"): "referral.disclosed",
    ("get", "/api/v1/feedback/stats/"): None,
    ("get", "/api/v1/audit/events/"): "audit.searched",
    ("get", "/api/v1/audit/events/export/"): "audit.exported",
    ("get", "/api/v1/audit/verification/"): "audit.status_viewed",
    ("get", "/api/v1/reports/spokes/"): "report.spokes_viewed",
    ("get", "/api/v1/reports/funnel/"): "report.funnel_viewed",
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
