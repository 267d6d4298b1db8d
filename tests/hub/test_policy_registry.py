"""The rulebook itself: every service obeys it whoever calls it, a task moved away mid-request is
a plain 404 everywhere, and pages offer only what it allows now."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import checks
from django.utils import timezone

from hub.exceptions import DomainError, InvalidTransition, NotFound, NotPermitted
from hub.models import AuditEvent, Organisation, Task, User
from hub.policies.rules import RULES, Act, Rule, allowed, available_actions, check_registry
from hub.services import locks
from hub.services.alerts import task_acknowledge, task_pause, task_resume
from hub.services.permissions import task_move_grants
from hub.services.referrals import (
    referral_close,
    referral_create,
    referral_mark_non_actionable,
    referral_triage,
)
from hub.services.tasks import task_allocate, task_hand_down, task_reassign
from safeguarding.services import outcome_record, safeguarding_action_record
from spokes.models import Lead
from spokes.services import lead_create, task_accept, task_decline
from tests.conftest import Persona
from tests.factories import acting, make_task, make_triaged, org, system_user
from tests.policy_cases import (
    escalated,
    outcome_recorded,
    pause_until,
    pause_until_local,
    paused,
    region_held,
)
from tests.web import Client

pytestmark = pytest.mark.django_db

OUTCOME = {"justice_outcome": "caution", "safeguarding_outcome": "no_child_at_risk", "arrests": 0,
           "children_safeguarded": 0, "victims_identified": 0, "suspect_has_access_to_children": False,
           "is_safeguarding_needed": False}  # fmt: skip
TRIAGE = {"grade": 3, "risk": "low", "access_to_children": [], "is_information_incomplete": False,
          "rationale": "x"}  # fmt: skip


def test_the_registry_has_a_row_for_every_action_and_the_server_checks_it() -> None:
    check_registry()
    assert set(RULES) == set(Act)
    assert [m for m in checks.run_checks() if m.id == "hub.E001"] == []
    saved = RULES.pop(Act.TASK_ACCEPT)
    try:
        assert [m.id for m in checks.run_checks() if m.id == "hub.E001"] == ["hub.E001"]
    finally:
        RULES[Act.TASK_ACCEPT] = saved


def test_no_role_set_is_written_outside_the_registry() -> None:
    """Role checks read the rulebook: no module outside the policy rows names a role set."""
    offenders = []
    for path in pathlib.Path(".").glob("*/**/*.py"):
        if path.parts[0] not in {"hub", "spokes", "safeguarding"} or "migrations" in path.parts:
            continue
        if path.parts[:2] == ("hub", "policies") or path.name == "policies.py":
            continue
        text = path.read_text()
        for marker in ("frozenset({R.", "frozenset({Membership.Role", "require_role(", "_ROLES = "):
            if marker in text:
                offenders.append(f"{path}: {marker}")
    assert offenders == []


# --- A service called directly (as a command or a job would) obeys the rulebook -----------------

Call = Callable[[User, Any], Any]

DIRECT: list[tuple[str, Callable[[], Any], Call, str, type[DomainError]]] = [
    ("accept as another force", make_task, lambda u, t: task_accept(task=t, actor=u), "ESSEX", NotFound),
    ("accept as the overseeing region", make_task, lambda u, t: task_accept(task=t, actor=u), "ERSOU",
     NotPermitted),
    ("accept as an auditor", make_task, lambda u, t: task_accept(task=t, actor=u), "NCA:auditor",
     NotPermitted),
    ("decline as another region", make_task,
     lambda u, t: task_decline(task=t, actor=u, reason="duplicate"), "GMP", NotFound),
    ("add a lead as the region", lambda: make_task(accepted=True),
     lambda u, t: lead_create(task=t, actor=u, kind="device", description="x"), "ERSOU", NotPermitted),
    ("record safeguarding as the hub", lambda: make_task(accepted=True),
     lambda u, t: safeguarding_action_record(task=t, actor=u, action="safe_and_well_check"), "NCA",
     NotPermitted),
    ("record the outcome as another force", lambda: make_task(accepted=True),
     lambda u, t: outcome_record(referral=t.referral, actor=u, **OUTCOME), "ESSEX", NotFound),
    ("record the outcome as the agency", lambda: make_task(accepted=True),
     lambda u, t: outcome_record(referral=t.referral, actor=u, **OUTCOME), "NCMEC:agency", NotPermitted),
    ("pause as an officer", lambda: make_task(accepted=True),
     lambda u, t: task_pause(task=t, actor=u, reason="x", until=timezone.now() + timedelta(hours=1)), "KENT",
     NotPermitted),
    ("resume as the region", paused, lambda u, t: task_resume(task=t, actor=u), "ERSOU", NotPermitted),
    ("acknowledge as another force", escalated, lambda u, t: task_acknowledge(task=t, actor=u), "ESSEX",
     NotFound),
    ("reassign as a force", make_task,
     lambda u, t: task_reassign(task=t, to_org=org("ESSEX"), actor=u, reason="x"), "KENT", NotPermitted),
    ("hand down as a force", region_held,
     lambda u, t: task_hand_down(task=t, to_org=org("KENT"), actor=u, reason="x"), "KENT", NotFound),
    ("allocate as a region", make_triaged,
     lambda u, r: task_allocate(referral=r, to_org=org("KENT"), actor=u), "ERSOU:regional_coordinator",
     NotFound),
    ("triage as an auditor", make_triaged, lambda u, r: referral_triage(referral=r, actor=u, **TRIAGE),
     "NCA:auditor", NotPermitted),
    ("close as non-actionable as the agency", make_triaged,
     lambda u, r: referral_mark_non_actionable(referral=r, actor=u, reason="informational", note="x"),
     "NCMEC:agency", NotPermitted),
    ("close as a force", lambda: outcome_recorded().referral,
     lambda u, r: referral_close(referral=r, actor=u), "KENT", NotPermitted),
    ("post another agency's referral", lambda: org("IWF"),
     lambda u, agency: referral_create(agency=agency, external_id="X-1", actor=u), "NCMEC:agency",
     NotPermitted),
    ("anything as a user with no organisation", make_task, lambda u, t: task_accept(task=t, actor=u),
     "none", NotPermitted),
]  # fmt: skip


def _user(spec: str) -> User:
    if spec == "none":
        return system_user()
    code, _, role = spec.partition(":")
    if not role:
        role = "regional_coordinator" if org(code).kind == Organisation.Kind.REGION else "officer"
        role = "coordinator" if code == "NCA" else role
    return acting(code, role)


@pytest.mark.parametrize(("label", "build", "call", "who", "refusal"), DIRECT, ids=[d[0] for d in DIRECT])
def test_a_service_called_directly_by_someone_the_registry_refuses_raises(
    label: str, build: Callable[[], Any], call: Call, who: str, refusal: type[DomainError]
) -> None:
    obj = build()
    user = _user(who)
    events = AuditEvent.objects.count()
    with pytest.raises(refusal):
        call(user, obj)
    assert AuditEvent.objects.count() == events, "a refused call changed nothing, its audit row included"


def test_a_shell_operator_may_do_only_what_the_rows_allow_an_operator() -> None:
    """actor=None is the management command's operator: allowed on rows marked operator (the
    webhook command, verify_audit, reset_factors), refused on every other row."""
    operator_rows = {act for act, rule in RULES.items() if rule.operator}
    assert operator_rows == {Act.WEBHOOK_SET, Act.WEBHOOK_ROTATE, Act.AUDIT_VERIFY, Act.FACTORS_RESET}
    with pytest.raises(NotPermitted):
        task_accept(task=make_task(), actor=None)  # type: ignore[arg-type]


def test_step_up_guards_disclosures_and_changes_to_who_is_told_or_who_signs_in() -> None:
    """The rows a session needs a fresh second factor for (hub/web/factors.py): bulk exports,
    webhook changes and re-sends (where disclosures go), and resetting someone's factors."""
    assert {act for act, rule in RULES.items() if rule.step_up} == {
        Act.AUDIT_EXPORT, Act.RESEARCH_EXPORT, Act.WEBHOOK_SET, Act.WEBHOOK_CHANGE_DECIDE,
        Act.WEBHOOK_ROTATE, Act.DELIVERY_REPLAY, Act.FACTORS_RESET, Act.PERSON_ADD, Act.PERSON_MOVE,
        Act.PERSON_SET_ACTIVE, Act.TOKEN_ISSUE, Act.DEADLINE_POLICY_EDIT,
    }  # fmt: skip


def test_the_state_machine_is_the_registrys_too() -> None:
    task = make_task(accepted=True)
    with pytest.raises(InvalidTransition, match="Only an offered task can be accepted"):
        task_accept(task=task, actor=acting("KENT"))
    assert Act.TASK_ACCEPT not in available_actions(acting("KENT"), task)
    assert Act.LEAD_CREATE in available_actions(acting("KENT"), task)
    assert not allowed(acting("KENT"), Act.TASK_DECLINE, task)


class _Unregistered:
    """An object kind nobody told the registry how to scope."""


def test_a_row_with_an_unknown_object_kind_is_refused_at_start_up() -> None:
    act = Act.TASK_ACCEPT
    saved = RULES[act]
    RULES[act] = Rule(saved.roles, saved.refusal, on=_Unregistered)
    try:
        with pytest.raises(Exception, match="no visibility test"):
            check_registry()
    finally:
        RULES[act] = saved


# --- A task moved away between the page's lookup and the service's lock ------------------------


def _racing_move(monkeypatch: pytest.MonkeyPatch, to: str = "ESSEX") -> list[bool]:
    """The next lock on a task first sees another transaction move it (a hub reassignment that
    committed a moment earlier), as happens when two people act at once."""
    original = locks.task_lock
    moved: list[bool] = []

    def lock(task_id: Any) -> Task:
        if not moved:
            moved.append(True)
            holder = org(to)
            Task.objects.filter(pk=task_id).update(assignee_org=holder)
            task_move_grants(task=Task.objects.get(pk=task_id), holder=holder)
        return original(task_id)

    monkeypatch.setattr(locks, "task_lock", lock)
    return moved


RACES: list[tuple[str, Callable[[], Any], str, str, Callable[[Any], dict[str, Any]]]] = [
    ("accept", make_task, "kent_officer", "/tasks/{task}/accept/", lambda _: {}),
    ("decline", make_task, "kent_officer", "/tasks/{task}/decline/", lambda _: {"reason": "duplicate"}),
    ("add a lead", lambda: make_task(accepted=True), "kent_officer", "/tasks/{task}/leads/",
     lambda _: {"kind": "device", "description": "phone"}),
    ("update a lead", lambda: lead_create(task=make_task(accepted=True), actor=acting("KENT"), kind="device",
                                          description="phone"),
     "kent_officer", "/leads/{lead}/", lambda lead: {f"lead-{lead.pk}-status": "in_progress"}),
    ("pause", lambda: make_task(accepted=True), "kent_supervisor", "/tasks/{task}/pause/",
     lambda _: {"reason": "MLAT", "until": pause_until_local()}),
    ("resume", paused, "kent_supervisor", "/tasks/{task}/resume/", lambda _: {}),
    ("record safeguarding", lambda: make_task(accepted=True), "kent_officer", "/tasks/{task}/safeguarding/",
     lambda _: {"action": "safe_and_well_check", "children_identified": "1", "children_safeguarded": "1"}),
    ("record the outcome", lambda: make_task(accepted=True), "kent_officer", "/tasks/{task}/outcome/",
     lambda _: {"justice_outcome": "caution", "safeguarding_outcome": "no_child_at_risk", "arrests": "0",
                "children_safeguarded": "0", "victims_identified": "0",
                "suspect_has_access_to_children": "no", "safeguarding_needed": "no"}),
    ("acknowledge", escalated, "kent_supervisor", "/tasks/{task}/acknowledge/", lambda _: {"note": "mine"}),
    ("hand down", region_held, "ersou_coordinator", "/tasks/{task}/hand-down/",
     lambda _: {"assignee_org": "KENT", "reason": "Kent area"}),
]  # fmt: skip


def _ids(obj: Any) -> dict[str, Any]:
    task = obj.task if isinstance(obj, Lead) else obj
    return {"task": task.pk, "lead": obj.pk}


@pytest.mark.parametrize(("label", "build", "who", "path", "data"), RACES, ids=[r[0] for r in RACES])
def test_a_task_moved_away_mid_request_is_a_plain_404_on_every_spoke_page(
    label: str,
    build: Callable[[], Any],
    who: str,
    path: str,
    data: Callable[[Any], dict[str, Any]],
    cast: dict[str, Persona],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    obj = build()
    task = obj.task if isinstance(obj, Lead) else obj
    client = Client()
    client.force_login(cast[who].user)
    moved = _racing_move(monkeypatch, to="GMP")
    response = client.post(path.format(**_ids(obj)), data(obj))
    assert moved, "the move happened between the page's lookup and the service's lock"
    assert response.status_code == 404, response.content[:300]
    body = response.content.decode()
    for secret in (task.referral.external_id, task.referral.summary, str(task.pk)):
        assert secret not in body, f"the 404 page shows {secret!r}"
    assert AuditEvent.objects.filter(action="access.not_found", actor=cast[who].user).exists()


API_RACES: list[tuple[str, Callable[[], Any], str, str, str, dict[str, Any]]] = [
    ("accept", make_task, "kent_officer", "post", "/api/v1/tasks/{task}/accept/", {}),
    ("decline", make_task, "kent_officer", "post", "/api/v1/tasks/{task}/decline/", {"reason": "duplicate"}),
    ("add a lead", lambda: make_task(accepted=True), "kent_officer", "post", "/api/v1/tasks/{task}/leads/",
     {"kind": "device", "description": "phone"}),
    ("update a lead", lambda: lead_create(task=make_task(accepted=True), actor=acting("KENT"), kind="device",
                                          description="phone"),
     "kent_officer", "patch", "/api/v1/leads/{lead}/", {"status": "in_progress"}),
    ("record safeguarding", lambda: make_task(accepted=True), "kent_officer", "post",
     "/api/v1/tasks/{task}/safeguarding-actions/", {"action": "safe_and_well_check"}),
    ("pause", lambda: make_task(accepted=True), "kent_supervisor", "post", "/api/v1/tasks/{task}/pause/",
     {"reason": "MLAT", "until": pause_until()}),
    ("acknowledge", escalated, "kent_supervisor", "post", "/api/v1/tasks/{task}/acknowledge/", {}),
]  # fmt: skip


@pytest.mark.parametrize(("label", "build", "who", "method", "path", "body"), API_RACES,
                         ids=[r[0] for r in API_RACES])  # fmt: skip
def test_a_task_moved_away_mid_request_is_the_apis_404_too(
    label: str,
    build: Callable[[], Any],
    who: str,
    method: str,
    path: str,
    body: dict[str, Any],
    cast: dict[str, Persona],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    obj = build()
    moved = _racing_move(monkeypatch, to="GMP")
    response = getattr(cast[who].client, method)(path.format(**_ids(obj)), body, format="json")
    assert moved
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


# --- Pages offer exactly what the rulebook allows now ------------------------------------------


def _page(client: Client, url: str, **headers: str) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200
    return response.content.decode()


def test_the_outcome_form_is_not_offered_on_a_task_nobody_has_accepted(cast: dict[str, Persona]) -> None:
    task = make_task()
    client = Client()
    client.force_login(cast["kent_officer"].user)
    panel = _page(client, f"/tasks/{task.pk}/outcome/", HTTP_HX_REQUEST="true")
    assert 'id="outcome-form"' not in panel
    task_accept(task=task, actor=cast["kent_officer"].user)
    panel = _page(client, f"/tasks/{task.pk}/outcome/", HTTP_HX_REQUEST="true")
    assert 'id="outcome-form"' in panel


def test_the_task_page_offers_each_person_only_their_actions(cast: dict[str, Persona]) -> None:
    task = make_task()
    urls = {
        "accept": f"/tasks/{task.pk}/accept/",
        "reassign": f"/board/{task.pk}/reassign/",
        "pause": f"/tasks/{task.pk}/pause/",
    }
    offered = {}
    for who in ("kent_officer", "kent_supervisor", "coordinator", "ersou_coordinator", "auditor"):
        client = Client()
        client.force_login(cast[who].user)
        body = _page(client, f"/tasks/{task.pk}/")
        offered[who] = {name for name, url in urls.items() if url in body}
    assert offered == {
        "kent_officer": {"accept"},
        "kent_supervisor": {"accept", "pause"},
        "coordinator": {"reassign", "pause"},  # the hub may stop any clock (grade 1 only the hub)
        "ersou_coordinator": set(),
        "auditor": set(),
    }
    assert available_actions(cast["kent_supervisor"].user, task, among=[Act.TASK_ACCEPT, Act.TASK_PAUSE]) == {
        Act.TASK_ACCEPT,
        Act.TASK_PAUSE,
    }
