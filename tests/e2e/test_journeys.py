"""Each journey of the web UI, end to end in Debian's Chromium against a live server, with a
screenshot per journey in test-artifacts/."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone
from playwright.sync_api import Page, expect

from hub.models import AuditEvent, Notification, Referral, Task, User
from hub.services.alerts import alerts_sweep
from hub.services.audit_integrity import audit_checkpoint
from safeguarding.feedback import webhook_deliver
from safeguarding.models import OutboxEvent, Outcome, SafeguardingAction, WebhookEndpoint
from spokes.models import Lead
from tests.conftest import PASSWORD
from tests.e2e import scenario
from tests.e2e.conftest import enter_code, screenshot, sign_in, sign_out
from tests.e2e.receiver import Receiver
from tests.web import code_now, enrolled

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("committed_db")]


def test_sign_in_lands_each_role_on_its_page_and_signs_out(page: Page, live_server: Any) -> None:
    for username in ["priya.coord", "dan.audit", "kent.vid", "ersou.rc", "ncmec.api", "nca.admin"]:
        scenario.person(username)
    page.goto("/board/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/board/$"))
    page.get_by_label("Username").fill("kent.vid")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username and password")
    expect(page.get_by_label("Username")).to_have_value("kent.vid")  # what was typed is kept
    screenshot(page, "01-sign-in")

    landings = {
        "priya.coord": ("/triage/", "Triage queue"),
        "dan.audit": ("/audit/", "Audit trail"),
        "kent.vid": ("/tasks/", "Kent Police: our tasks"),
        "ersou.rc": ("/tasks/", "Eastern Region Special Operations Unit: tasks across the region"),
        "ncmec.api": ("/agency/", "Our referrals"),
        "nca.admin": ("/people/", "People"),
    }
    for username, (path, heading) in landings.items():
        sign_in(page, username)
        expect(page).to_have_url(re.compile(re.escape(path) + "$"))
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        sign_out(page)
    assert AuditEvent.objects.filter(action="auth.login").count() == len(landings)
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 1


def test_hub_coordinator_triages_allocates_and_reassigns(page: Page, live_server: Any) -> None:
    scenario.person("priya.coord")
    scenario.busy_board()
    older = scenario.referral(hours_ago=30, summary=2, force="ESSEX")
    urgent = scenario.referral(urgent=True, hours_ago=2, summary=1)
    scenario.graded(hours_ago=8, summary=3, force="ESSEX")

    sign_in(page, "priya.coord")
    rows = page.locator("table.data tbody tr")
    expect(rows.first).to_contain_text(urgent.external_id)  # urgent first, then the longest waiting
    expect(rows.nth(1)).to_contain_text(older.external_id)
    screenshot(page, "02-hub-triage-queue")

    rows.first.get_by_role("link", name=re.compile("Grade")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"NCMEC · {urgent.external_id}")
    page.get_by_label(re.compile("^Grade 2")).check()
    page.get_by_label("Risk", exact=True).select_option("high")
    page.get_by_label("Family", exact=True).check()
    page.get_by_label("Work", exact=True).check()
    page.get_by_label("Information is incomplete").check()
    page.get_by_label("Who or where the child is").check()  # what the grade lacks
    page.get_by_label(re.compile("^Escalating online harm")).check()
    page.get_by_label("Route to a team").select_option("GROOMING")
    expect(page.get_by_label("Allocate to")).to_have_value("KENT")  # the suspect's force, pre-selected
    page.get_by_label("Instructions for the holder").fill("Check the school staff list first.")
    page.get_by_role("button", name="Save grading and allocate").click()

    # Refused: no rationale. Everything typed is still there, and the summary has focus.
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Give a rationale for the grading.")
    expect(summary).to_be_focused()
    expect(page.get_by_label(re.compile("^Grade 2"))).to_be_checked()
    expect(page.get_by_label("Work", exact=True)).to_be_checked()
    expect(page.get_by_label("Instructions for the holder")).to_have_value(
        "Check the school staff list first."
    )
    screenshot(page, "03-hub-referral-refused")

    page.get_by_label("Rationale").fill(
        "Chat logs show grooming of a 13-year-old; suspect works at a school."
    )
    page.get_by_role("button", name="Save grading and allocate").click()
    expect(page.get_by_role("status")).to_contain_text("Graded 2 (high risk) and allocated to Kent Police.")
    task = Task.objects.get(referral=urgent)
    assert task.assignee_org.code == "KENT" and task.instructions == "Check the school staff list first."
    urgent.refresh_from_db()
    assert urgent.missing_information == ["victim_details"] and urgent.risk_factors == ["online_escalation"]
    assert urgent.team is not None and urgent.team.code == "GROOMING"
    screenshot(page, "04-hub-referral-allocated")

    page.get_by_role("link", name="Task board").first.click()
    row = page.locator(f'tr[data-task="{task.pk}"]')
    expect(row).to_contain_text("Kent Police")
    expect(row).to_contain_text("Offered")
    expect(row.locator("[data-deadline]")).to_have_text("On time")
    expect(page.locator('tr [data-deadline="overdue"]')).to_have_count(2)
    expect(page.locator("canvas[data-chart][data-drawn]")).to_have_count(1)  # Chart.js drew the chart
    screenshot(page, "05-hub-board")

    page.get_by_label("Holder").select_option("KENT")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#board-table tbody tr")).to_have_count(2)

    page.locator(f'tr[data-task="{task.pk}"]').get_by_role("link", name=re.compile("Reassign")).click()
    page.get_by_role("button", name="Reassign task").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose the region or force to give the task to.")
    page.get_by_label("Reassign to").select_option("ESSEX")
    page.get_by_label("Reason").fill("Suspect moved to Colchester last month.")
    page.get_by_role("button", name="Reassign task").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Task reassigned to Essex Police. Kent Police no longer sees it."
    )
    expect(page.locator(f'tr[data-task="{task.pk}"]')).to_contain_text("Essex Police")
    assert Task.objects.get(pk=task.pk).assignee_org.code == "ESSEX"


def test_force_officer_works_a_task_and_cannot_open_another_forces(page: Page, live_server: Any) -> None:
    scenario.person("kent.vid")
    offered = scenario.task("KENT", grade=2, risk="high", summary=0, access=("family", "work"))
    scenario.make_overdue(
        scenario.task("KENT", accepted=True, grade=3, risk="medium", summary=5), minutes=200
    )
    scenario.make_due_soon(scenario.task("KENT", accepted=True, grade=3, risk="high", summary=6))
    scenario.task("KENT", grade=3, risk="low", summary=7)
    essex = scenario.task("ESSEX", accepted=True, summary=3)

    sign_in(page, "kent.vid")
    rows = page.locator("#task-table tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.first.locator("[data-deadline]")).to_have_text("Overdue")  # most urgent first
    expect(page.locator(f'tr[data-task="{essex.pk}"]')).to_have_count(0)
    screenshot(page, "06-officer-our-tasks")

    page.locator(f'tr[data-task="{offered.pk}"]').get_by_role("link").first.click()
    page.get_by_role("button", name="Accept task").click()
    expect(page.get_by_role("status").first).to_contain_text("Task accepted.")
    expect(page.locator("#task-status")).to_have_text("Accepted")

    # A lead: refused without a description (kind kept), then added, then updated.
    page.get_by_label("Kind of lead").select_option("online_account")
    page.get_by_role("button", name="Add lead").click()
    expect(page.get_by_role("alert").first).to_contain_text("Describe the lead.")
    expect(page.get_by_label("Kind of lead")).to_have_value("online_account")
    page.get_by_label("Description").fill("Chat handle 'skater_dan07' on a gaming platform")
    page.get_by_role("button", name="Add lead").click()
    expect(page.get_by_role("status").first).to_contain_text("Lead added.")
    lead = Lead.objects.get(task=offered)
    page.locator(f"#lead-{lead.pk} summary").click()
    page.locator(f"#lead-{lead.pk}").get_by_label("Status").select_option("positive")
    page.locator(f"#lead-{lead.pk}").get_by_label("Notes").fill(
        "Platform disclosed subscriber: Maidstone address."
    )
    page.locator(f"#lead-{lead.pk}").get_by_role("button", name="Save lead").click()
    expect(page.locator(f'#lead-{lead.pk} [data-lead-status="positive"]')).to_have_text("Closed: positive")

    # Safeguarding (an htmx fragment from the safeguarding app): refused, input kept, then recorded.
    panel = page.locator("#safeguarding")
    panel.get_by_label("Action").select_option("referred_mash")
    panel.get_by_label("Children identified").fill("2")
    panel.get_by_label("Children safeguarded").fill("2")
    panel.get_by_label("Notes").fill("Two children in the household, aged 6 and 9.")
    panel.get_by_role("button", name="Record action").click()
    expect(panel.get_by_role("alert")).to_contain_text("Name the body the children were referred to.")
    expect(panel.get_by_label("Notes")).to_have_value("Two children in the household, aged 6 and 9.")
    expect(panel.get_by_label("Children identified")).to_have_value("2")
    panel.get_by_label("Referred to").fill("Kent MASH")
    panel.get_by_role("button", name="Record action").click()
    expect(panel.get_by_role("status")).to_have_text("Safeguarding action recorded.")
    expect(panel.locator("#safeguarding-table")).to_contain_text("Kent MASH")
    assert SafeguardingAction.objects.filter(task=offered, referred_to="Kent MASH").count() == 1
    screenshot(page, "07-officer-task-page")

    # The outcome (another fragment): recorded, the task completes and the page reloads.
    outcome = page.locator("#outcome")
    outcome.get_by_label("Criminal-justice outcome").select_option("charge_summons")
    outcome.get_by_label("Safeguarding outcome").select_option("child_safeguarded")
    outcome.get_by_label("Arrests").fill("1")
    outcome.get_by_label("Children safeguarded").fill("2")
    outcome.get_by_label("Victims identified").fill("2")
    outcome.locator("fieldset", has_text="access to children").get_by_label("Yes").check()
    outcome.locator("fieldset", has_text="safeguarding needed").get_by_label("Yes").check()
    outcome.get_by_label("Summary (internal)").fill("Suspect charged; both children safe with their mother.")
    outcome.get_by_role("button", name="Record outcome").click()
    expect(page.locator("#task-status")).to_have_text("Completed")
    expect(page.locator("#outcome-facts")).to_contain_text("Charged / summonsed")
    assert Outcome.objects.get(referral=offered.referral).task_id == offered.pk

    # Another force's task does not exist for Kent.
    response = page.goto(f"/tasks/{essex.pk}/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    screenshot(page, "08-officer-other-force-404")


def test_a_supervisor_acknowledges_an_escalation_from_the_inbox(page: Page, live_server: Any) -> None:
    """Step 1 tells the officer, who cannot acknowledge their own force's breach; step 2 tells
    the supervisor, who takes responsibility from the inbox."""
    scenario.person("kent.vid")
    scenario.person("kent.sup")
    breached = scenario.task("KENT", grade=2, risk="high", summary=5)
    alerts_sweep(now=breached.accept_due_at + timedelta(seconds=1))  # nobody accepted in time…
    alerts_sweep(now=breached.accept_due_at + timedelta(hours=1, seconds=2))  # …step 2: supervisors
    Task.objects.filter(pk=breached.pk).update(
        accept_due_at=timezone.now() - timedelta(minutes=80)
    )  # …really
    scenario.task("KENT", accepted=True, summary=6)
    scenario.make_due_soon(scenario.task("KENT", accepted=True, summary=2))

    sign_in(page, "kent.vid")
    row = page.locator(f'tr[data-task="{breached.pk}"]')
    expect(row.locator("[data-deadline]")).to_have_text("Escalated")
    card = page.locator("#inbox-card")
    expect(card.locator('[data-kind="escalation"]').first).to_contain_text("ESCALATION step 1")
    expect(card.get_by_role("button", name=re.compile("Acknowledge"))).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile(r"^Inbox \d+ unread$"))).to_be_visible()
    screenshot(page, "09-officer-inbox-escalation")
    sign_out(page)

    sign_in(page, "kent.sup")
    card = page.locator("#inbox-card")
    expect(card.locator('[data-kind="escalation"]').first).to_contain_text("ESCALATION step 2")
    card.locator('[data-kind="escalation"]').first.get_by_role(
        "button", name=re.compile("Acknowledge")
    ).click()
    expect(page.get_by_role("status").first).to_contain_text("Escalation acknowledged")
    expect(page).to_have_url(re.compile(r"/tasks/$"))
    expect(page.locator(f'tr[data-task="{breached.pk}"] [data-deadline]')).to_have_text("Overdue")
    event = AuditEvent.objects.get(task_id=breached.pk, action="task.escalation_acknowledged")
    assert event.actor is not None and event.actor.username == "kent.sup"
    sign_out(page)

    sign_in(page, "kent.vid")
    page.get_by_role("link", name=re.compile("^Inbox")).click()
    page.locator('[data-kind="escalation"]').get_by_role("button", name="Mark read").click()
    expect(page.locator('#inbox-list [data-kind="escalation"]')).to_have_count(0)  # read: off the unread tab
    expect(page.locator('#inbox-list [data-kind="reminder"]').first).to_be_visible()
    assert not Notification.objects.filter(
        recipient__username="kent.vid", read_at__isnull=True, kind="escalation"
    )


def test_regional_coordinator_hands_a_task_down_to_a_force(page: Page, live_server: Any) -> None:
    scenario.person("ersou.rc")
    held = scenario.task("ERSOU", grade=2, risk="high", summary=3, force="ESSEX")
    scenario.task("KENT", accepted=True, summary=0)
    scenario.make_overdue(scenario.task("HERTS", summary=6), minutes=45)
    scenario.task("GMP", summary=2)  # another region's: not shown

    sign_in(page, "ersou.rc")
    rows = page.locator("#task-table tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#task-table")).to_contain_text("Kent Police")
    expect(page.locator("#task-table")).not_to_contain_text("Greater Manchester")
    screenshot(page, "10-region-tasks")

    page.locator(f'tr[data-task="{held.pk}"]').get_by_role("link").first.click()
    section = page.locator("#hand-down")
    section.get_by_label("Hand down to").select_option("ESSEX")
    section.get_by_role("button", name="Hand down").click()
    expect(section.get_by_role("alert")).to_contain_text("Give a reason for handing the task down.")
    expect(section.get_by_label("Hand down to")).to_have_value("ESSEX")
    section.get_by_label("Reason").fill("Suspect's address is in Chelmsford.")
    section.get_by_role("button", name="Hand down").click()
    expect(page.get_by_role("status").first).to_contain_text("Task handed down to Essex Police.")
    expect(page.get_by_role("note")).to_contain_text("Your region oversees this task")
    expect(page.locator("#hand-down")).to_have_count(0)
    assert Task.objects.get(pk=held.pk).assignee_org.code == "ESSEX"
    screenshot(page, "11-region-task-handed-down")


def test_auditor_searches_the_trail_and_reads_a_timeline(page: Page, live_server: Any) -> None:
    scenario.person("priya.coord")
    scenario.person("dan.audit")
    kent = scenario.person("kent.vid")
    scenario.busy_board()
    worked = scenario.worked_task()
    page.context.clear_cookies()

    # Hub coordinators may not read the trail.
    sign_in(page, "priya.coord")
    response = page.goto("/audit/")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("You can’t do that here")
    sign_out(page)

    # The officer opens the task (a read the trail must show).
    sign_in(page, "kent.vid")
    page.goto(f"/tasks/{worked.pk}/")
    expect(page.locator("#safeguarding-table")).to_contain_text("Kent MASH")
    sign_out(page)

    sign_in(page, "dan.audit")
    expect(page.locator("canvas[data-chart][data-drawn]")).to_have_count(1)
    page.get_by_label("Actor username").fill("kent.vid")
    page.get_by_label("Action").fill("task.*")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("#audit-table tbody tr")
    expect(rows.first).to_be_visible()
    actions = set(rows.evaluate_all("rows => rows.map(r => r.dataset.action)"))
    assert actions and all(action.startswith("task.") for action in actions), actions
    expect(page.locator("#audit-table")).to_contain_text("Sam Fletcher")
    expect(page.get_by_label("Actor username")).to_have_value("kent.vid")
    screenshot(page, "12-auditor-trail")

    page.locator('tr[data-action="task.viewed"]').first.get_by_role("link", name="Task timeline").click()
    timeline = page.locator("#timeline")
    for action in [
        "referral.received",
        "referral.triaged",
        "task.allocated",
        "task.accepted",
        "lead.created",
        "safeguarding_action.recorded",
        "task.viewed",
    ]:
        expect(timeline.locator(f'li[data-action="{action}"]').first).to_be_visible()
    screenshot(page, "13-auditor-task-timeline")

    searched = AuditEvent.objects.filter(action="audit.searched", actor__username="dan.audit").order_by("seq")
    assert searched.count() >= 3  # landing, the search, the timeline
    assert any(e.changes.get("query") == {"actor": "kent.vid", "action": "task.*"} for e in searched)
    assert searched.last().task_id == worked.pk  # type: ignore[union-attr]
    assert AuditEvent.objects.filter(action="task.viewed", actor=kent.user, task_id=worked.pk).exists()


def test_agency_sees_status_and_outcome_codes_only(page: Page, live_server: Any) -> None:
    scenario.person("ncmec.api")
    waiting = scenario.referral(summary=1)
    scenario.graded(summary=2)
    done = scenario.worked_task()
    scenario.record_outcome(done, summary="Internal: suspect interviewed; devices seized.")
    in_hand = scenario.task("ESSEX", accepted=True, summary=3)
    other_agency = scenario.referral(agency="IWF", summary=6)

    sign_in(page, "ncmec.api")
    table = page.locator("table.data")
    for r in [waiting, done.referral, in_hand.referral]:
        expect(table).to_contain_text(r.external_id)
    expect(table).not_to_contain_text(other_agency.external_id)
    row = page.locator("tr", has_text=done.referral.external_id)
    expect(row).to_contain_text("Charged / summonsed")
    expect(row).to_contain_text("Child safeguarded")
    body = page.content()
    for secret in [
        "Internal:",
        "Kent MASH",
        "School staff list",
        "Kent Police",
        "Essex Police",
        "CyberTipline report",
    ]:
        assert secret not in body, secret
    screenshot(page, "14-agency-referrals")

    row.get_by_role("link").click()
    expect(page.locator("dd[data-outcome='charge_summons']")).to_be_visible()
    assert "Internal:" not in page.content()
    assert Referral.objects.get(pk=done.referral_id).status == "outcome_recorded"
    response = page.goto(f"/referrals/{other_agency.pk}/")
    assert response is not None and response.status == 404


def test_auditor_exports_the_trail_verifies_the_chain_and_reads_the_reports(
    page: Page, live_server: Any
) -> None:
    scenario.person("dan.audit")
    scenario.person("kent.vid")
    scenario.busy_board()
    for holder, days, accept_hours in [
        ("KENT", 2, 0.5),
        ("ESSEX", 19, 3),
        ("HERTS", 6, 30),
        ("KENT", 9, 2.5),
    ]:
        worked = scenario.worked_task(holder)
        scenario.record_outcome(worked)
        scenario.backdate(worked, days=days, accept_hours=accept_hours)
    audit_checkpoint()
    page.context.clear_cookies()

    sign_in(page, "dan.audit")
    page.get_by_label("Action").fill("task.*")
    page.get_by_label("Purpose", exact=True).fill("HMICFRS inspection 2025/11")
    page.get_by_role("button", name="Search").click()
    export = page.locator("#export")
    expect(export.get_by_label("Purpose of the export")).to_have_value("HMICFRS inspection 2025/11")
    with page.expect_download() as csv_download:
        export.get_by_role("button", name="Download CSV").click()
    assert re.fullmatch(r"vihub-audit-\d{8}-\d{4}\.csv", csv_download.value.suggested_filename)
    rows = list(csv.DictReader(io.StringIO(Path(csv_download.value.path()).read_text())))
    assert rows and all(row["action"].startswith("task.") for row in rows)
    with page.expect_download() as json_download:
        export.get_by_role("button", name="Download JSON").click()
    body = json.loads(Path(json_download.value.path()).read_text())
    assert [row["seq"] for row in body] == [int(row["seq"]) for row in rows]
    exported = AuditEvent.objects.filter(action="audit.exported").order_by("seq")
    assert [e.changes["format"] for e in exported] == ["csv", "json"]
    assert all(e.justification == "HMICFRS inspection 2025/11" for e in exported)
    assert exported[0].changes["count"] == len(rows)

    page.get_by_role("link", name="Chain verification").click()
    expect(page.locator("[data-verified]")).to_have_attribute("data-verified", "never")
    expect(page.locator("#checkpoint")).to_contain_text("Matches the verification key")
    page.get_by_role("button", name="Verify now").click()
    expect(page.get_by_role("status")).to_contain_text("The trail is intact")
    expect(page.locator("[data-verified]")).to_have_attribute("data-verified", "ok")
    expect(page.locator("#verification-history tbody tr")).to_have_count(1)
    verified = AuditEvent.objects.get(action="audit.verified")
    assert verified.actor is not None and verified.actor.username == "dan.audit" and verified.changes["ok"]
    assert AuditEvent.objects.filter(action="audit.status_viewed", actor=verified.actor).count() == 2
    screenshot(page, "15-auditor-chain-verification")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accountability reports")
    expect(page.locator("canvas[data-chart][data-drawn]")).to_have_count(4)  # Chart.js drew all four
    for org_code in ["KENT", "ESSEX", "HERTS"]:
        expect(page.locator(f'#timeliness-table tr[data-org="{org_code}"]')).to_be_visible()
    kent_row = page.locator('#timeliness-table tr[data-org="KENT"]')
    expect(kent_row.locator('[data-col="outcome-average"]')).to_have_text("5.5")  # (2 + 9) / 2 days
    expect(kent_row.locator('[data-col="accept-average"]')).to_have_text("1")  # (0 + 0.5 + 2.5) / 3 hours
    kent_results = page.locator('#results-table tr[data-org="KENT"]')
    expect(kent_results.locator('[data-col="children-safeguarded"]')).to_have_text("4")
    page.get_by_label("From", exact=True).fill("2025-06-01")
    page.get_by_label("To (included)").fill("2025-05-01")
    page.get_by_role("button", name="Show the period").click()
    expect(page.get_by_role("alert")).to_contain_text("The period must end on or after the day it starts.")
    expect(page.get_by_label("From", exact=True)).to_have_value("2025-06-01")
    expect(page.locator("canvas")).to_have_count(0)
    page.get_by_role("link", name="Last 12 months").click()
    expect(page.locator("canvas[data-chart][data-drawn]")).to_have_count(4)
    page.locator("#funnel-chart-caption + .chart-box + script + details summary").click()
    expect(page.locator("#funnel-chart-caption ~ details table")).to_contain_text("Outcome recorded")
    screenshot(page, "16-auditor-accountability-reports")
    assert AuditEvent.objects.filter(action="report.spokes_viewed", actor=verified.actor).count() == 2
    assert AuditEvent.objects.filter(action="report.funnel_viewed", actor=verified.actor).count() == 2


def test_hub_registers_an_agency_endpoint_and_replays_a_delivery_the_agency_sees(
    page: Page, live_server: Any
) -> None:
    scenario.person("priya.coord")
    scenario.person("omar.coord")
    scenario.person("ncmec.api")
    worked = scenario.worked_task()
    with Receiver(503) as receiver:  # the agency's system: down for the first attempt
        # One coordinator proposes where NCMEC's outcomes go ...
        sign_in(page, "omar.coord")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Feedback").click()
        form = page.locator("#register-form")
        form.get_by_label("Agency").select_option("NCMEC")
        form.get_by_role("button", name="Propose the change").click()
        expect(page.get_by_role("alert")).to_contain_text("Enter the URL of the agency's receiver.")
        expect(form.get_by_label("Agency")).to_have_value("NCMEC")
        expect(form.get_by_label("Outcome recorded")).to_be_checked()
        form.get_by_label("Endpoint URL").fill(receiver.url)
        form.get_by_role("button", name="Propose the change").click()
        change = page.locator('#changes [data-change="NCMEC"]')
        expect(change).to_contain_text("you proposed it: another coordinator decides")
        expect(change.get_by_role("button", name="Record the decision")).to_have_count(0)
        assert not WebhookEndpoint.objects.filter(agency__code="NCMEC").exists()
        sign_out(page)
        # ... and another approves it, and is the one who sees the signing secret, once.
        sign_in(page, "priya.coord")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Feedback").click()
        change = page.locator('#changes [data-change="NCMEC"]')
        expect(change).to_contain_text("Proposed by Omar Haddad")
        screenshot(page, "14-endpoint-change-waiting")
        change.get_by_label("Approve").check()
        change.get_by_role("button", name="Record the decision").click()
        endpoint = WebhookEndpoint.objects.get(agency__code="NCMEC")
        expect(page.locator("#new-secret")).to_have_text(endpoint.secret)  # shown once, here
        screenshot(page, "17-hub-endpoint-secret-once")
        page.get_by_role("link", name=re.compile("go to the delivery log")).click()
        expect(page.locator("#feedback")).to_contain_text("Nothing sent yet.")
        assert endpoint.secret not in page.content()

        # The force records the outcome; the worker's first attempt fails, the retry lands.
        scenario.record_outcome(worked)
        event = OutboxEvent.objects.get(referral=worked.referral)
        assert webhook_deliver(event_id=event.pk).status == "retrying"
        OutboxEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now())
        assert webhook_deliver(event_id=event.pk).status == "delivered"
        page.reload()
        row = page.locator(f'tr[data-event="{event.pk}"]')
        expect(row).to_have_attribute("data-status", "delivered")
        expect(row.locator("ol.attempts li")).to_have_count(2)
        expect(row.locator("ol.attempts li").first).to_contain_text("HTTP 503")
        expect(row.locator("ol.attempts li").last).to_contain_text("HTTP 200")

        # The agency lost it: the hub re-sends it, with a reason.
        row.locator("summary", has_text="Replay").click()
        row.get_by_role("button", name="Re-send now").click()
        row = page.locator(f'tr[data-event="{event.pk}"]')
        expect(row.get_by_role("alert")).to_contain_text("Give a reason for re-sending this event")
        row.get_by_label("Reason for re-sending").fill("NCMEC ticket 4471: their queue lost the event")
        row.get_by_role("button", name="Re-send now").click()
        expect(page.get_by_role("status")).to_contain_text(f"Re-sent {event.webhook_id}")
        row = page.locator(f'tr[data-event="{event.pk}"]')
        expect(row.locator("ol.attempts li")).to_have_count(3)
        expect(row.locator("ol.attempts li").last).to_contain_text("Replay by Priya Shah")
        assert len(receiver.requests) == 3
        assert {r["headers"]["webhook-id"] for r in receiver.requests} == {event.webhook_id}
        disclosed = AuditEvent.objects.get(action="referral.disclosed", actor__username="priya.coord")
        assert disclosed.justification == "replay: NCMEC ticket 4471: their queue lost the event"
        screenshot(page, "18-hub-delivery-log-replayed")

        page.get_by_role("button", name="Rotate secret").click()
        endpoint.refresh_from_db()
        expect(page.locator("#new-secret")).to_have_text(endpoint.secret)
        assert endpoint.previous_secret and endpoint.previous_secret not in page.content()

        page.get_by_role("navigation", name="Main").get_by_role("link", name="Feedback").click()
        expect(page.locator("#feedback-stats")).to_contain_text("100%")
        expect(page.locator('#endpoints-table tr[data-agency="NCMEC"] [data-state="active"]')).to_be_visible()
        screenshot(page, "19-hub-feedback")
        sign_out(page)

        sign_in(page, "ncmec.api")
        log = page.locator("#feedback")
        expect(log.locator(f'tr[data-event="{event.pk}"]')).to_contain_text("Delivered")
        expect(log.locator("ol.attempts li")).to_have_count(3)
        expect(log.get_by_role("button", name="Re-send now")).to_have_count(0)
        assert endpoint.secret not in page.content() and "Rotate secret" not in page.content()
        screenshot(page, "20-agency-delivery-log")
    viewed = AuditEvent.objects.filter(action="webhook.deliveries_viewed", actor__username="ncmec.api")
    assert viewed.count() == 1 and viewed.get().changes["ids"] == [str(event.pk)]


def test_officer_records_children_is_held_at_bail_then_hands_a_child_to_another_force(
    page: Page, live_server: Any
) -> None:
    """The victim-identification record: two children the suspect can reach, one checked; bail
    is refused naming the other; once checked, bail is recorded; one child is handed to Essex,
    which accepts it."""
    scenario.person("kent.vid")
    scenario.person("essex.vid")
    task = scenario.task("KENT", accepted=True, summary=4)
    sign_in(page, "kent.vid")
    page.goto(f"/tasks/{task.pk}/")
    children = page.locator("#children")
    for reference, route in (("C1", "family"), ("C2", "work")):
        children.get_by_label("Reference").fill(reference)
        children.get_by_label("How the child is involved").select_option("reachable")
        children.get_by_label("Through which part of the suspect's life").select_option(route)
        children.get_by_role("button", name="Add child").click()
        expect(page.get_by_role("status").first).to_contain_text(f"Child {reference} recorded")
    expect(page.locator("#unchecked-children")).to_contain_text("2 children")

    first = page.locator('[data-child="C1"]')
    first.get_by_text("Record a check").click()
    first.get_by_label("What it found").fill("Seen at home with her mother; well")
    first.get_by_role("button", name="Record check").click()
    expect(page.locator("#unchecked-children")).to_contain_text("1 child")

    suspect = page.locator("#suspect")
    suspect.get_by_label("What happened").select_option("bailed")
    suspect.get_by_role("button", name="Record").click()
    expect(page.locator("#suspect")).to_contain_text("Check the children the suspect can reach")
    expect(page.locator("#suspect")).to_contain_text("C2")
    screenshot(page, "23-officer-bail-refused-child-unchecked")

    second = page.locator('[data-child="C2"]')
    second.get_by_text("Record a check").click()
    second.get_by_label("Check").select_option("strategy_discussion")
    second.get_by_label("What it found").fill("Strategy discussion with the school's safeguarding lead")
    second.get_by_role("button", name="Record check").click()
    expect(page.locator("#unchecked-children")).to_have_count(0)
    page.locator("#suspect").get_by_label("What happened").select_option("bailed")
    page.locator("#suspect").get_by_role("button", name="Record").click()
    expect(page.get_by_role("status").first).to_contain_text("Recorded: Bailed")

    second = page.locator('[data-child="C2"]')
    second.get_by_text("Hand this child to another organisation").click()
    second.get_by_label("Hand to").select_option("ESSEX")
    second.get_by_label("Note for them").fill("Attends a school in Essex")
    second.get_by_role("button", name="Hand over").click()
    expect(page.locator('[data-child="C2"] [data-handoff="pending"]')).to_be_visible()
    screenshot(page, "24-officer-children-checked-handoff-pending")
    sign_out(page)

    sign_in(page, "essex.vid")
    page.get_by_role("link", name=re.compile("Hand-offs")).click()
    item = page.locator('#handoff-list [data-status="pending"]')
    expect(item).to_contain_text("Child C2")
    expect(item).to_contain_text("Strategy discussion")
    screenshot(page, "25-receiving-force-handoff")
    item.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("status").first).to_contain_text("accepted")
    assert Notification.objects.filter(kind="handoff_answered", recipient__username="kent.vid").exists()
    assert page.goto(f"/tasks/{task.pk}/").status == 404  # Essex sees the child, not the task


def test_typed_work_survives_a_session_that_ended_in_a_panel(page: Page, live_server: Any) -> None:
    """Issue 17: an officer types safeguarding notes, the session ends, they press Record: the
    panel keeps the form and the text (never a whole page in the card) and asks them to sign in
    again right there; once they have, what they typed is sent."""
    scenario.person("kent.vid")
    task = scenario.task("KENT", accepted=True)
    sign_in(page, "kent.vid")
    page.goto(f"/tasks/{task.pk}/")
    panel = page.locator("#safeguarding")
    panel.get_by_label("Action").select_option("safe_and_well_check")
    panel.get_by_label("Children identified").fill("1")
    panel.get_by_label("Children safeguarded").fill("1")
    notes = "Seen at home with her grandmother; school informed; " * 15
    panel.get_by_label("Notes").fill(notes)
    page.context.clear_cookies()  # the session ends (idle timeout, or signed out elsewhere)
    panel.get_by_role("button", name="Record action").click()
    ended = panel.locator("[data-session-ended]")
    expect(ended).to_contain_text("Not saved: your session has ended.")
    expect(panel.get_by_label("Notes")).to_have_value(notes)
    expect(panel).not_to_contain_text("This form has expired")
    expect(panel.locator("header")).to_have_count(0)  # no page inside the card
    assert not SafeguardingAction.objects.filter(task=task).exists()
    # A wrong password says so where they are, and nothing is sent.
    ended.get_by_label("Username").fill("kent.vid")
    ended.get_by_label("Password").fill("not-the-password")
    ended.get_by_label("Code from your app").fill("123456")
    ended.get_by_role("button", name="Sign in and save").click()
    expect(ended.locator("[data-signin-error]")).to_contain_text(
        "Please enter a correct username and password"
    )
    assert not SafeguardingAction.objects.filter(task=task).exists()
    # A wrong code after the right password: said there too, nothing sent.
    ended.get_by_label("Password").fill(PASSWORD)
    device = enrolled(User.objects.get(username="kent.vid"))
    wrong = "000000" if code_now(device) != "000000" else "111111"
    ended.get_by_label("Code from your app").fill(wrong)
    ended.get_by_role("button", name="Sign in and save").click()
    expect(ended.locator("[data-signin-error]")).to_contain_text("That code is not right")
    assert not SafeguardingAction.objects.filter(task=task).exists()
    # Both factors in the panel send what was typed.
    ended.get_by_label("Code from your app").fill(code_now(enrolled(User.objects.get(username="kent.vid"))))
    ended.get_by_label("Code from your app").press("Enter")
    expect(panel.get_by_role("status")).to_have_text("Safeguarding action recorded.")
    assert SafeguardingAction.objects.get(task=task).notes == notes.strip(), "what was typed is kept"
    assert AuditEvent.objects.filter(action="auth.login", actor__username="kent.vid").count() == 2


def test_typed_work_survives_a_session_that_ended_on_a_full_page_form(browser: Any, live_server: Any) -> None:
    """Issue 17, without JavaScript (a whole-page form): the session ends server-side while the
    officer types; pressing Record asks them to sign in, says what they typed is kept, and after
    signing in shows it with one button that sends it. Someone else signing in is never shown it."""
    scenario.person("kent.vid")
    scenario.person("kent.sup")
    task = scenario.task("KENT", accepted=True)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False, locale="en-GB")
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, "kent.vid")
    page.goto(f"/tasks/{task.pk}/safeguarding/")
    notes = "Strategy discussion with children's services; sister (9) to be seen at school. " * 8
    page.get_by_label("Action").select_option("safe_and_well_check")
    page.get_by_label("Notes").fill(notes)
    Session.objects.all().delete()  # the idle limit ends every session on the server
    page.get_by_role("button", name="Record action").click()
    expect(page).to_have_url(re.compile(r"/login/"))
    expect(page.locator("[data-kept-notice]")).to_contain_text("It is kept: sign in again")
    # Someone else signing in on this browser is not offered it (and it is dropped).
    sign_in(page, "kent.sup")
    expect(page).to_have_url(re.compile(r"/tasks/$"))
    assert page.goto("/resume/").url.endswith("/tasks/")
    sign_out(page)
    assert not SafeguardingAction.objects.filter(task=task).exists()

    # Again, and this time the officer signs back in.
    sign_in(page, "kent.vid")
    page.goto(f"/tasks/{task.pk}/safeguarding/")
    page.get_by_label("Action").select_option("safe_and_well_check")
    page.get_by_label("Notes").fill(notes)
    Session.objects.all().delete()
    page.get_by_role("button", name="Record action").click()
    page.get_by_label("Username").fill("kent.vid")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    enter_code(page, code_now(enrolled(User.objects.get(username="kent.vid"))))
    expect(page).to_have_url(re.compile(r"/resume/$"))
    expect(page.locator("[data-kept]")).to_contain_text("sister (9) to be seen at school")
    screenshot(page, "17-kept-work")
    page.get_by_role("button", name="Send it").click()
    expect(page.get_by_role("status").first).to_contain_text("Safeguarding action recorded")
    assert SafeguardingAction.objects.get(task=task).notes == notes.strip()
    assert page.goto("/resume/").url.endswith("/tasks/")  # sent once: nothing is waiting any more
    context.close()


def test_a_panel_whose_request_fails_says_so_briefly_and_keeps_what_was_typed(
    page: Page, live_server: Any
) -> None:
    """Issue 17: a server error or a lost connection behind a panel's form gives a short message
    in the panel (never a page inside the card, never silence); the text stays, and pressing the
    button again once VIHub answers saves it."""
    scenario.person("kent.vid")
    task = scenario.task("KENT", accepted=True)
    sign_in(page, "kent.vid")
    page.goto(f"/tasks/{task.pk}/")
    panel = page.locator("#safeguarding")
    panel.get_by_label("Action").select_option("safe_and_well_check")
    notes = "Seen at school with the designated safeguarding lead."
    panel.get_by_label("Notes").fill(notes)
    target = f"**/tasks/{task.pk}/safeguarding/"
    page.route(target, lambda route: route.fulfill(status=502, body="Bad gateway"))
    panel.get_by_role("button", name="Record action").click()
    failed = panel.locator("[data-request-failed]")
    expect(failed).to_contain_text("Not saved: VIHub could not do that just now (error 502).")
    expect(panel.get_by_label("Notes")).to_have_value(notes)
    expect(panel).not_to_contain_text("Bad gateway")
    page.unroute(target)
    page.route(target, lambda route: route.abort("connectionrefused"))
    panel.get_by_role("button", name="Record action").click()
    expect(failed).to_contain_text("Not saved: VIHub could not be reached.")
    assert not SafeguardingAction.objects.filter(task=task).exists()
    page.unroute(target)
    panel.get_by_role("button", name="Record action").click()
    expect(panel.get_by_role("status")).to_have_text("Safeguarding action recorded.")
    expect(panel.locator("[data-request-failed]")).to_have_count(0)
    assert SafeguardingAction.objects.get(task=task).notes == notes


def test_an_officer_times_a_media_review_on_the_task_page_and_logs_it(page: Page, live_server: Any) -> None:
    """Issue 16: the timer on the task page does the counting; the officer logs what it timed,
    and the header's "Reviewed today" shows it."""
    from spokes.models import ExposureLog

    scenario.person("kent.vid")
    task = scenario.task("KENT", accepted=True)
    page.clock.install()
    sign_in(page, "kent.vid")
    page.goto(f"/tasks/{task.pk}/")
    form = page.locator("#exposure-form")
    timer = form.get_by_role("button", name="Start review timer")
    timer.click()
    expect(form.get_by_role("button", name="Stop review timer")).to_have_attribute("aria-pressed", "true")
    page.clock.fast_forward("24:30")  # 24 minutes 30 seconds of review
    form.get_by_role("button", name="Stop review timer").click()
    expect(form.get_by_label("Minutes spent reviewing material")).to_have_value("25")  # rounded up
    expect(form.get_by_role("button", name="Log time")).to_be_focused()
    assert not ExposureLog.objects.exists(), "nothing is sent until the officer logs it"
    form.get_by_role("button", name="Log time").click()
    expect(page.locator("#exposure-today")).to_contain_text("Reviewed today: 25 min")
    assert ExposureLog.objects.get().minutes == 25


def test_a_new_auditor_enrols_a_second_factor_is_signed_out_when_idle_and_steps_up_to_export(
    page: Page, live_server: Any
) -> None:
    """Issue 14: first sign-in sets up an authenticator app (the QR code's key, typed as a
    person would) and shows ten recovery codes once; a recovery code signs in once; fifteen
    idle minutes end the session; an export six minutes after the last code asks for one again
    and then downloads."""
    import base64

    import time_machine
    from django_otp.oath import TOTP

    scenario.person("dan.audit")
    page.goto("/login/")
    page.get_by_label("Username").fill("dan.audit")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up your second factor")
    expect(page.locator("header nav")).to_have_count(0)  # nothing of VIHub before the code
    secret = page.locator("[data-secret]").inner_text().replace(" ", "")
    app = TOTP(base64.b32decode(secret + "=" * (-len(secret) % 8)))
    enter_code(page, f"{app.token():06d}", button="Confirm")
    codes = page.locator("[data-recovery-codes] code").all_inner_texts()
    assert len(codes) == 10
    screenshot(page, "14-recovery-codes")
    page.get_by_role("link", name="I have kept them: continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit trail")
    sign_out(page)

    # The phone is at home: a recovery code, once.
    page.get_by_label("Username").fill("dan.audit")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    screenshot(page, "14-enter-code")
    enter_code(page, codes[0])
    expect(page.get_by_role("status").first).to_contain_text("You used a recovery code: 9 left")

    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=True):
        page.goto("/audit/")
        expect(page).to_have_url(re.compile(r"/login/\?next=/audit/"))
    assert AuditEvent.objects.filter(action="auth.session_ended", changes__why="idle").exists()

    sign_in(page, "dan.audit")
    with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=True):
        page.goto("/audit/")
        page.get_by_label("Purpose of the export").fill("IOPC request 2026/114")
        page.get_by_role("button", name="CSV").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it is you")
        screenshot(page, "14-step-up")
        device = enrolled(User.objects.get(username="dan.audit"))
        page.get_by_label("Code", exact=True).fill(code_now(device))
        with page.expect_download() as download:
            page.get_by_role("button", name="Confirm and continue").click()
        assert download.value.suggested_filename.endswith(".csv")
    assert AuditEvent.objects.filter(action="audit.exported", actor__username="dan.audit").count() == 1
    assert AuditEvent.objects.filter(action="auth.second_factor", changes__purpose="step_up").count() == 1


def test_an_officer_adds_a_passkey_and_then_signs_in_with_it_instead_of_the_code(
    page: Page, live_server: Any
) -> None:
    """Issue 14: passkeys (WebAuthn) as a second factor, with Chromium's virtual authenticator
    standing in for the laptop's: added on "Second factors" (a recent factor needed), then used
    after the password at the next sign-in; both audited."""
    scenario.person("kent.vid")
    sign_in(page, "kent.vid")
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True,
    }})  # fmt: skip
    page.get_by_role("link", name="Second factors").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your second factors")
    page.locator("#passkey-register-button").click()
    expect(page.locator("#passkey-register-status-message")).to_contain_text("Registration successful")
    assert AuditEvent.objects.filter(action="auth.factor_enrolled", changes__factor="passkey").count() == 1
    page.reload()
    expect(page.locator("[data-passkeys]")).to_contain_text("added")
    screenshot(page, "14-second-factors")
    sign_out(page)

    page.get_by_label("Username").fill("kent.vid")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter the code from your app")
    page.locator("#passkey-verification-button").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kent Police: our tasks")
    used = AuditEvent.objects.filter(action="auth.second_factor", changes__factor="passkey").get()
    assert used.changes["purpose"] == "sign_in" and used.actor.username == "kent.vid"


def test_the_administrator_adds_a_person_who_signs_in_and_later_switches_them_off(
    page: Page, live_server: Any
) -> None:
    """Issue 16: administration in the product. The administrator adds an Essex officer, who
    sets a password from the one-use link and enrols a second factor; later they are moved,
    given a token that is then revoked, switched off (their session ends); every change is in
    the trail with before and after."""
    from hub.models import ApiToken, AuditEvent

    scenario.person("nca.admin")
    sign_in(page, "nca.admin")
    expect(page).to_have_url(f"{live_server.url}/people/")
    page.get_by_role("link", name="Add a person").click()
    page.get_by_label("Username").fill("jo.marsh2")
    page.get_by_label("First name").fill("Jo")
    page.get_by_label("Surname").fill("Marsh")
    page.get_by_label("Organisation").select_option("ESSEX")
    page.get_by_label("Role").select_option("officer")
    page.get_by_role("button", name="Add and make an invitation link").click()
    link = page.locator("#invitation-link").inner_text()
    assert "/welcome/" in link
    screenshot(page, "30-admin-person-added")
    sign_out(page)

    # The new officer sets their password from the link, then enrols an app at first sign-in.
    page.goto(link[link.index("/welcome/") :])
    page.get_by_label("New password", exact=True).fill("a-long-new-passphrase-for-vihub")
    page.get_by_label("New password confirmation").fill("a-long-new-passphrase-for-vihub")
    page.get_by_role("button", name="Set password").click()
    expect(page).to_have_url(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("jo.marsh2")
    page.get_by_label("Password").fill("a-long-new-passphrase-for-vihub")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/two-factor/enrol/**")
    sign_out(page)

    # Back as the administrator: the person's page, a token shown once, then revoked.
    person = User.objects.get(username="jo.marsh2")
    sign_in(page, "nca.admin")
    page.goto(f"/people/{person.pk}/")
    page.get_by_label("What it is for").fill("Essex triage script")
    page.get_by_role("button", name="Issue token").click()
    raw = page.locator("#raw-token").inner_text()
    token = ApiToken.objects.get(user=person)
    assert raw.startswith(token.prefix) and raw != token.token_hash
    page.goto("/tokens/")
    row = page.locator(f"tr[data-token='{token.prefix}']")
    row.get_by_role("button", name="Revoke").click()
    expect(page.locator(".messages, [role=status]").first).to_contain_text("revoked")
    token.refresh_from_db()
    assert token.revoked_at is not None
    screenshot(page, "31-admin-tokens")

    # Switched off with a reason: the page says so, and the trail has before and after.
    page.goto(f"/people/{person.pk}/")
    switch_off = page.locator("form[action$='/active/']")
    switch_off.get_by_label("Why").fill("Left the force")
    switch_off.get_by_role("button", name="Switch off").click()
    expect(page.locator("[data-state]")).to_have_text("switched off")
    event = AuditEvent.objects.filter(action="person.deactivated", object_id=str(person.pk)).get()
    assert event.changes["before"] == {"active": True} and event.justification == "Left the force"
    screenshot(page, "32-admin-person")


def test_the_administrator_previews_a_deadline_change_and_edits_a_forces_contacts(
    page: Page, live_server: Any
) -> None:
    from hub.models import DeadlinePolicy

    scenario.person("nca.admin")
    running = scenario.task("KENT", accepted=True, grade=3, risk="low")
    sign_in(page, "nca.admin")
    page.get_by_role("link", name="Deadline policy").click()
    page.get_by_role("link", name="Change grade 3 Low").click()
    page.get_by_label("Time to act").fill("10 00:00:00")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("[data-would-tighten]")).to_have_text("1")
    page.get_by_label("Also bring running tasks to these tighter clocks").check()
    page.get_by_label("Why").fill("HMICFRS recommendation")
    screenshot(page, "33-admin-deadline-preview")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(f"{live_server.url}/deadline-policy/")
    assert DeadlinePolicy.objects.get(grade=3, risk="low").act_within.days == 10
    running.refresh_from_db()
    assert (running.due_at - running.created_at).days == 10

    page.get_by_role("link", name="Contacts").click()
    page.get_by_label("Name or code").fill("KENT")
    page.get_by_label("Name or code").press("Enter")
    page.get_by_role("link", name="Edit Kent Police").click()
    page.get_by_label("Victim-ID liaison").fill("DS Priya Shah")
    page.get_by_label("Out-of-hours phone").fill("not a number")
    page.get_by_role("button", name="Save contacts").click()
    expect(page.locator("[data-error-summary]")).to_be_visible()
    page.get_by_label("Out-of-hours phone").fill("+44 1622 690690")
    page.get_by_role("button", name="Save contacts").click()
    expect(page.locator("tr[data-org='KENT']")).to_contain_text("DS Priya Shah")
    expect(page.locator("tr[data-org='KENT']")).to_contain_text("+44 1622 690690")


def test_a_welfare_supervisor_sees_an_officer_over_the_limit_and_records_a_debrief(
    page: Page, live_server: Any
) -> None:
    """Issue 16: an officer's 4 hours of review passes the limit; their supervisor is told, sees
    it on the team page and records the debrief held with them."""
    from spokes.services import exposure_log

    officer = scenario.person("kent.vid").user
    scenario.person("kent.sup")
    task = scenario.task("KENT", accepted=True)
    exposure_log(actor=officer, task=task, minutes=150)
    exposure_log(actor=officer, task=task, minutes=100)  # 250 minutes: over 240
    sign_in(page, "kent.sup")
    page.goto("/inbox/")
    expect(page.locator("main")).to_contain_text("has reviewed material for 4 h 10 min today")
    page.get_by_role("link", name="Welfare").click()
    row = page.locator("tr[data-person='kent.vid']")
    expect(row).to_have_class("is-overdue")
    expect(row.locator("[data-col='today']")).to_have_text("250")
    expect(row).to_contain_text("None recorded")
    page.get_by_label("With").select_option("kent.vid")
    page.get_by_label("Kind").select_option(index=0)
    page.get_by_label("Held on").fill(timezone.localdate().isoformat())
    page.get_by_role("button", name="Record").click()
    expect(page.locator("tr[data-person='kent.vid']")).not_to_contain_text("None recorded")
    screenshot(page, "34-welfare-team")


def test_the_trends_page_shows_a_forces_line_against_the_national_median(
    page: Page, live_server: Any
) -> None:
    """Issue 16: a supervisor sees their own force's trend beside the national median, with the
    numbers in a table under each chart."""
    scenario.person("kent.sup")
    scenario.task("KENT", accepted=True)
    sign_in(page, "kent.sup")
    page.get_by_role("link", name="Trends").click()
    expect(page.locator("h1")).to_contain_text("Kent")
    expect(page.locator("#trend-spoke")).to_have_count(0)  # a force sees its own line, no other
    expect(page.locator("main table").first).to_contain_text("National median")
    screenshot(page, "35-trends")
