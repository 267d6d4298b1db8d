"""Officer wellbeing (issue 16, exposure): logged media-review time, the four-hour guidance that
tells supervisors, the team view and debriefs."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from hub.models import AuditEvent, Notification
from spokes.models import ExposureLog, WelfareDebrief
from tests.conftest import Persona, make_persona
from tests.factories import make_task
from tests.web import Client

pytestmark = pytest.mark.django_db


def _log(persona: Persona, task: object, minutes: int) -> object:
    return persona.client.post(
        "/api/v1/exposure/",
        {"task": str(task.pk), "minutes": minutes},
        format="json",  # type: ignore[attr-defined]
    )


def test_passing_four_hours_in_a_day_tells_the_supervisors_once(cast: dict[str, Persona]) -> None:
    task = make_task(accepted=True)
    officer = cast["kent_officer"]
    first = _log(officer, task, 120)
    assert first.status_code == 201 and first.json()["minutes"] == 120  # type: ignore[attr-defined]
    assert _log(officer, task, 120).json()["over_limit"] is False, "240 is the limit, not over it"  # type: ignore[attr-defined]
    assert not Notification.objects.filter(kind="exposure_limit").exists()
    over = _log(officer, task, 15).json()  # type: ignore[attr-defined]
    assert over["minutes"] == 255 and over["over_limit"] is True and len(over["entries"]) == 3
    told = Notification.objects.filter(kind="exposure_limit")
    assert [n.recipient.username for n in told] == ["kent_supervisor"]
    assert "4 h 15 min today" in told[0].subject
    _log(officer, task, 10)
    assert told.count() == 1, "told once a day"
    assert AuditEvent.objects.filter(action="exposure.limit_passed", actor=officer.user).count() == 1
    assert officer.client.get("/api/v1/exposure/").json()["minutes"] == 265
    assert cast["kent_supervisor"].client.get("/api/v1/exposure/").json()["minutes"] == 0, "one's own total"
    local = timezone.localtime()
    just_after_midnight = (local + timedelta(days=1)).replace(hour=0, minute=1, second=0, microsecond=0)
    with time_machine.travel(just_after_midnight):
        assert officer.client.get("/api/v1/exposure/").json()["minutes"] == 0, "a new UK day"


def test_bad_exposure_input_is_refused_and_nothing_stored(cast: dict[str, Persona]) -> None:
    task = make_task(accepted=True)
    elsewhere = make_task(holder="GMP")
    officer = cast["kent_officer"]
    assert _log(officer, task, 0).status_code == 400  # type: ignore[attr-defined]
    assert _log(officer, task, 721).status_code == 400  # type: ignore[attr-defined]
    assert _log(officer, elsewhere, 30).status_code == 404, "a task it cannot see does not exist"  # type: ignore[attr-defined]
    bad_id = officer.client.post("/api/v1/exposure/", {"task": "nope", "minutes": 5}, format="json")
    assert bad_id.status_code == 400
    assert _log(cast["auditor"], task, 30).status_code == 403  # type: ignore[attr-defined]
    assert not ExposureLog.objects.exists()


def test_a_supervisor_sees_the_team_and_records_debriefs_for_their_own_people(
    cast: dict[str, Persona],
) -> None:
    task = make_task(accepted=True)
    officer, supervisor = cast["kent_officer"], cast["kent_supervisor"]
    with time_machine.travel(timezone.now() - timedelta(days=3)):
        _log(officer, task, 300)
    _log(officer, task, 45)
    team = {row["person"]: row for row in supervisor.client.get("/api/v1/exposure/team/").json()}
    assert team["kent_officer"]["today_minutes"] == 45
    assert team["kent_officer"]["days_over_limit_30"] == 1 and team["kent_officer"]["last_debrief"] is None
    assert "gmp_officer" not in team
    assert officer.client.get("/api/v1/exposure/team/").status_code == 403
    body = {"person": "kent_officer", "kind": "debrief", "held_on": timezone.localdate().isoformat()}
    made = supervisor.client.post("/api/v1/exposure/debriefs/", body, format="json")
    assert made.status_code == 201
    future = {**body, "held_on": (timezone.localdate() + timedelta(days=2)).isoformat()}
    assert supervisor.client.post("/api/v1/exposure/debriefs/", future, format="json").status_code == 400
    essex = make_persona("essex_supervisor", "ESSEX", "supervisor")
    assert essex.client.post("/api/v1/exposure/debriefs/", body, format="json").status_code == 404
    assert WelfareDebrief.objects.count() == 1
    page = Client()
    page.force_login(supervisor.user)
    html = page.get("/welfare/").content.decode()
    row = html[html.index('data-person="kent_officer"') :]
    row = row[: row.index("</tr>")]
    assert '<td class="num" data-col="today">45</td>' in row and "Monthly debrief" in row
    mine = Client()
    mine.force_login(officer.user)
    shown = mine.get(f"/tasks/{task.pk}/").content.decode()
    assert 'id="exposure-today" data-minutes="45"' in shown and 'id="exposure-form"' in shown
    logged = mine.post("/exposure/", {"task": str(task.pk), "minutes": "200"}, follow=True)
    assert b"over the four-hour guidance" in logged.content
    assert 'class="exposure over"' in logged.content.decode()
