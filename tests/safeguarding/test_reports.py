"""Accountability reports match figures computed by hand on a small seeded history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from hub.services.alerts import alerts_sweep, task_acknowledge
from hub.services.referrals import referral_mark_non_actionable
from safeguarding.models import OutboxEvent
from safeguarding.reports import Period, attrition_funnel, spoke_report
from safeguarding.services import outcome_record
from spokes.services import task_accept
from tests.conftest import Persona
from tests.factories import acting, hub_user, make_referral, make_task, make_triaged

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(delta: timedelta) -> Any:
    return time_machine.travel(T0 + delta, tick=False)


def outcome(task: Any, org_code: str, justice: str, children: int) -> None:
    outcome_record(
        referral=task.referral, actor=acting(org_code),
        justice_outcome=justice, arrests=1,
        safeguarding_outcome="child_safeguarded" if children else "no_child_at_risk",
        children_safeguarded=children, victims_identified=children, suspect_has_access_to_children=True,
        is_safeguarding_needed=bool(children),
    )  # fmt: skip


@pytest.fixture
def history(cast: dict[str, Persona]) -> Period:
    """Grade 2 (accept within 4 h, act within 2 days) unless said otherwise.

    KENT  A: accepted after 2 h, outcome (charge) after 5 days, 2 children safeguarded.
    KENT  B: accepted after 10 h (late), outcome (caution) after 10 days.
    KENT  C: grade 3 low, allocated on day 1, still open on day 40 (aged 39 days).
    ESSEX D: accepted after 1 h, outcome (Outcome 21) after 1 day (on time).
    On day 2 KENT A and B both breach their act-by deadline (outcomes came later): two
    escalations; ersou_coordinator acknowledges B's.
    Plus one referral closed as non-actionable and one still untriaged.
    """
    with at(timedelta(0)):
        a, b, d = make_task(holder="KENT"), make_task(holder="KENT"), make_task(holder="ESSEX")
        non = make_triaged()
        referral_mark_non_actionable(referral=non, actor=hub_user(), reason="adult_material", note="adult")
        make_referral()
    with at(timedelta(hours=1)):
        task_accept(task=d, actor=acting("ESSEX"))
    with at(timedelta(hours=2)):
        task_accept(task=a, actor=acting("KENT"))
    with at(timedelta(hours=10)):
        task_accept(task=b, actor=acting("KENT"))
    with at(timedelta(days=1)):
        c = make_task(holder="KENT", grade=3, risk="low")
        outcome(d, "ESSEX", "outcome_21", 0)
    alerts_sweep(now=b.due_at)  # A and B breach their act-by deadline (2 days)
    with at(timedelta(days=2, hours=1)):
        task_acknowledge(task=b, actor=cast["ersou_coordinator"].user)
    with at(timedelta(days=5)):
        outcome(a, "KENT", "charge_summons", 2)
    with at(timedelta(days=10)):
        outcome(b, "KENT", "caution", 0)
    OutboxEvent.objects.create(
        agency=a.referral.agency, referral=a.referral, event_type="referral.outcome_recorded", payload={},
        status="delivered", next_attempt_at=T0, created_at=T0 + timedelta(days=5),
        delivered_at=T0 + timedelta(days=5, seconds=3),
    )  # fmt: skip
    assert c.status == "offered"
    return Period(since=T0 - timedelta(days=1), until=T0 + timedelta(days=40))


def test_spoke_report_matches_hand_computed_figures(history: Period) -> None:
    rows = {row["org"]: row for row in spoke_report(period=history)}
    kent, essex = rows["KENT"], rows["ESSEX"]
    assert kent["tasks_received"] == 3 and kent["referrals_received"] == 3
    assert kent["tasks_accepted"] == 2
    assert kent["hours_to_accept"] == {"average": 6.0, "shortest": 2.0, "longest": 10.0}
    assert kent["accepted_on_time_share"] == 0.5  # A within 4 h, B not
    assert kent["tasks_completed"] == 2
    assert kent["days_to_outcome"] == {"average": 7.5, "shortest": 5.0, "longest": 10.0}
    assert kent["completed_on_time_share"] == 0.0  # both after the 2-day act-by
    assert kent["escalations"] == 2 and kent["escalations_acknowledged"] == 1
    assert kent["acknowledged_by"] == {"ersou_coordinator": 1}
    assert kent["justice_outcomes"] == {"charge_summons": 1, "caution": 1}
    assert kent["safeguarding_outcomes"] == {"child_safeguarded": 1, "no_child_at_risk": 1}
    assert kent["children_safeguarded"] == 2 and kent["arrests"] == 2
    assert kent["open_without_outcome"] == 1
    assert kent["low_grade_ageing"] == {
        "under_7_days": 0,
        "7_to_30_days": 0,
        "30_to_90_days": 1,
        "over_90_days": 0,
    }
    assert essex["hours_to_accept"] == {"average": 1.0, "shortest": 1.0, "longest": 1.0}
    assert essex["days_to_outcome"]["average"] == 1.0 and essex["completed_on_time_share"] == 1.0
    assert essex["justice_outcomes"] == {"outcome_21": 1}
    assert "GMP" not in rows


def test_attrition_funnel(history: Period) -> None:
    assert attrition_funnel(period=history) == {
        "received": 6,
        "non_actionable": 1,
        "actionable": 4,
        "allocated": 4,
        "outcome_recorded": 3,
        "feedback_delivered": 1,
    }


def test_reports_api_for_hub_and_auditors_only(history: Period, cast: dict[str, Persona]) -> None:
    params = {"since": history.since.isoformat(), "until": history.until.isoformat()}
    body = cast["auditor"].client.get("/api/v1/reports/spokes/", params).json()
    assert {row["org"] for row in body["spokes"]} >= {"KENT", "ESSEX"}
    assert cast["kent_officer"].client.get("/api/v1/reports/spokes/", params).status_code == 403
    bad = cast["coordinator"].client.get(
        "/api/v1/reports/funnel/", {"since": "2026-05-01", "until": "2026-04-01"}
    )
    assert bad.status_code == 400 and "since" in bad.json()
