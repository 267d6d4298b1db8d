"""Trends (issue 16): each spoke's monthly figures and the national median, against a history
written by hand with known times, and who sees whose line."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from hub.models import Alert, AuditEvent, Task
from safeguarding.trends import month_starts, spoke_trends
from tests.conftest import Persona
from tests.factories import make_task
from tests.web import Client

pytestmark = pytest.mark.django_db
UK = ZoneInfo("Europe/London")


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T12:00").replace(tzinfo=UK)


def task(holder: str, created: str, accepted: str, completed: str | None = None) -> Task:
    made = make_task(holder=holder, accepted=True)
    Task.objects.filter(pk=made.pk).update(
        created_at=at(created), offered_at=at(created), accepted_at=at(accepted),
        completed_at=at(completed) if completed else None,
        status=Task.Status.COMPLETED if completed else Task.Status.ACCEPTED,
    )  # fmt: skip
    return made


@pytest.fixture
def history() -> dict[str, Task]:
    """Jan–Mar 2026: Kent accepts in 2 and 1 days (January), completes one in 36 days
    (February), and breaches a deadline in March; Essex and GMP each complete one in February."""
    made = {
        "a": task("KENT", "2026-01-05", "2026-01-07", "2026-02-10"),
        "b": task("KENT", "2026-01-20", "2026-01-21"),
        "c": task("ESSEX", "2026-02-01", "2026-02-05", "2026-02-11"),
        "d": task("GMP", "2026-02-02", "2026-02-03", "2026-02-22"),
    }
    # Task b's act-by deadline passes on 3 March: its first escalation fires (the one scheduled
    # when it was accepted).
    breach = Alert.objects.filter(task=made["b"], kind=Alert.Kind.ESCALATION, clock=Alert.Clock.ACT, step=1)
    latest = breach.order_by("-generation").first()
    assert latest is not None
    Alert.objects.filter(pk=latest.pk).update(due_at=at("2026-03-03"), fired_at=at("2026-03-03"))
    return made


def test_monthly_figures_and_the_national_median_match_the_history(history: dict[str, Task]) -> None:
    data = spoke_trends(months=month_starts(date(2026, 3, 1), 3))
    assert data["months"] == ["2026-01", "2026-02", "2026-03"]
    spokes = {s["org"]: s for s in data["spokes"]}
    assert set(spokes) == {"KENT", "ESSEX", "GMP"}
    kent = spokes["KENT"]
    assert kent["days_to_accept"] == [1.5, None, None]
    assert kent["days_to_outcome"] == [None, 36.0, None]
    assert kent["backlog"] == [2, 1, 1], "open at each month's end"
    assert kent["breaches"] == [0, 0, 1]
    assert spokes["ESSEX"]["days_to_accept"] == [None, 4.0, None]
    assert spokes["ESSEX"]["backlog"] == [0, 0, 0]
    assert data["national"]["days_to_outcome"] == [None, 20.0, None]  # median of 36, 10 and 20
    assert data["national"]["days_to_accept"] == [1.5, 2.5, None]
    assert data["national"]["backlog"] == [0.0, 0.0, 0.0]
    assert data["national"]["breaches"] == [0.0, 0.0, 0.0]


def test_a_force_sees_its_own_line_a_region_its_forces_and_the_hub_every_one(
    history: dict[str, Task], cast: dict[str, Persona]
) -> None:
    with time_machine.travel(at("2026-03-15"), tick=False):
        mine = cast["kent_officer"].client.get("/api/v1/reports/trends/?months=3")
        assert mine.status_code == 200
        assert [s["org"] for s in mine.json()["spokes"]] == ["KENT"]
        assert mine.json()["national"]["days_to_outcome"] == [None, 20.0, None], "over every spoke"
        other = cast["kent_officer"].client.get("/api/v1/reports/trends/?months=3&spoke=ESSEX")
        assert other.status_code == 404
        region = cast["ersou_coordinator"].client.get("/api/v1/reports/trends/?months=3").json()
        assert [s["org"] for s in region["spokes"]] == ["ESSEX", "KENT"]
        hub = cast["coordinator"].client.get("/api/v1/reports/trends/?months=3&spoke=GMP").json()
        assert [s["org"] for s in hub["spokes"]] == ["GMP"]
        assert cast["ncmec"].client.get("/api/v1/reports/trends/").status_code == 403
        bad = cast["coordinator"].client.get("/api/v1/reports/trends/?months=99")
        assert bad.status_code == 400 and "months" in bad.json()
        audited = AuditEvent.objects.filter(action="report.trends_viewed", actor=cast["kent_officer"].user)
        assert audited.first() is not None and audited.first().changes["spokes"] == ["KENT"]  # type: ignore[union-attr]

        page = Client()
        page.force_login(cast["kent_officer"].user)
        shown = page.get("/reports/trends/?months=6")
        body = shown.content.decode()
        assert shown.status_code == 200 and "Trends: Kent Police" in body
        assert '"label": "National median"' in body and "36.0" in body
        assert "Essex" not in body, "a force is not shown another force's line"


def test_the_monthly_job_makes_each_spokes_summary_once_even_with_two_beats(
    history: dict[str, Task], cast: dict[str, Persona]
) -> None:
    from safeguarding.models import MonthlySummary
    from safeguarding.tasks import monthly_summaries_job

    with time_machine.travel(at("2026-03-01"), tick=False):
        made = monthly_summaries_job()
        assert monthly_summaries_job() == 0, "the second beat (or the next hour) makes nothing"
    february = MonthlySummary.objects.filter(month=date(2026, 2, 1))
    assert made == february.count() == 3
    assert sorted(february.values_list("organisation__code", flat=True)) == ["ESSEX", "GMP", "KENT"]
    kent = february.get(organisation__code="KENT")
    assert kent.figures["tasks_completed"] == 1 and kent.figures["open_without_outcome"] == 1
    assert AuditEvent.objects.filter(action="report.monthly_produced").count() == 3

    officer = Client()
    officer.force_login(cast["kent_officer"].user)
    listed = officer.get("/reports/monthly/").content.decode()
    assert 'data-summary="KENT-2026-02"' in listed and "ESSEX-2026-02" not in listed
    pdf = officer.get(f"/reports/monthly/{kent.pk}/?format=pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert (
        b"".join(pdf).startswith(b"%PDF") if hasattr(pdf, "streaming_content") else pdf.content[:4] == b"%PDF"
    )
    rows = officer.get(f"/reports/monthly/{kent.pk}/?format=csv").content.decode().splitlines()
    assert rows[0] == "spoke,month,figure,value" and "KENT,2026-02,Tasks with an outcome,1" in rows
    essex = february.get(organisation__code="ESSEX")
    assert officer.get(f"/reports/monthly/{essex.pk}/?format=pdf").status_code == 404
    downloads = AuditEvent.objects.filter(action="report.monthly_downloaded", actor=cast["kent_officer"].user)
    assert sorted(e.changes["format"] for e in downloads) == ["csv", "pdf"]
    api = cast["ersou_coordinator"].client.get("/api/v1/reports/monthly/").json()
    assert sorted(s["org"] for s in api) == ["ESSEX", "KENT"], "a region: its own forces"
