"""Accessibility: axe-core (bundled with axe-playwright-python) injected into the main pages of
every role in Debian's Chromium, at 1280 px and at 390 px (a phone). Any serious or critical
violation fails, listed with its rule, the page and the elements (WCAG 2.2 AA is the bar), and
so does a page wider than the screen (wide tables scroll inside their own focusable region)."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from spokes.services import child_add, handoff_offer
from tests.e2e import scenario
from tests.e2e.conftest import screenshot, sign_in, sign_out
from tests.factories import acting

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("committed_db")]

WIDTHS = (1280, 390)
BLOCKING = {"serious", "critical"}


def _violations(axe: Axe, page: Page, url: str, width: int) -> list[str]:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(url)
    page.wait_for_load_state("networkidle")
    found = []
    overflow = page.evaluate("document.documentElement.scrollWidth") - width
    if overflow > 1:
        found.append(f"{width}px {url}: the page is {overflow}px wider than the screen")
    for violation in axe.run(page).response["violations"]:
        if violation.get("impact") in BLOCKING:
            targets = [", ".join(node["target"]) for node in violation["nodes"][:3]]
            found.append(f"{width}px {url}: {violation['id']} ({violation['impact']}): {targets}")
    return found


def test_every_role_s_pages_have_no_serious_or_critical_axe_violations(page: Page, live_server: Any) -> None:
    for username in ("priya.coord", "dan.audit", "kent.vid", "kent.sup", "ncmec.api"):
        scenario.person(username)
    task = scenario.task("KENT", accepted=True)
    kid = child_add(task=task, actor=acting("KENT"), reference="C1", relation="reachable")
    handoff_offer(child=kid, actor=acting("KENT"), to_org=scenario.org("ESSEX"))
    referral = task.referral
    pages = {
        "priya.coord": ["/triage/", f"/referrals/{referral.pk}/", "/board/", "/inbox/", "/conferences/",
                        "/review/", "/reports/", "/on-call/"],
        "dan.audit": ["/audit/", f"/audit/tasks/{task.pk}/", "/review/"],
        "kent.vid": ["/tasks/", f"/tasks/{task.pk}/", "/handoffs/"],
        "kent.sup": ["/welfare/"],
        "ncmec.api": ["/agency/"],
    }  # fmt: skip
    # Screenshots at 390 px for the README (test-artifacts/).
    phone_shots = {"/triage/": "phone-hub-triage-queue", f"/tasks/{task.pk}/": "phone-officer-task-page"}
    axe = Axe()
    problems: list[str] = []
    for username, urls in pages.items():
        sign_in(page, username)
        for url in urls:
            for width in WIDTHS:
                problems += _violations(axe, page, url, width)
                if width == 390 and url in phone_shots:
                    screenshot(page, phone_shots[url])
        page.set_viewport_size({"width": 1280, "height": 900})
        sign_out(page)
    assert problems == [], "\n".join(problems)
