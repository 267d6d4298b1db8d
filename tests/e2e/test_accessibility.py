"""Accessibility: axe-core (bundled with axe-playwright-python) injected into the main pages of
every role in Debian's Chromium, at 1280 px and at 390 px (a phone). Any serious or critical
violation fails, listed with its rule, the page and the elements (WCAG 2.2 AA is the bar), and
so does a page wider than the screen (wide tables scroll inside their own focusable region) and
any content outside a landmark (axe's "region" rule, whatever its impact). 640 px is how a
1280 px screen looks at 200% zoom. The navigation stays on one line on a desktop and folds into
a menu that opens, closes with Escape and reaches every page on a phone."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from hub.models import DeadlinePolicy, User
from spokes.services import child_add, handoff_offer
from tests.conftest import PASSWORD
from tests.e2e import scenario
from tests.e2e.conftest import screenshot, sign_in, sign_out
from tests.factories import acting

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("committed_db")]

WIDTHS = (1280, 640, 390)
BLOCKING = {"serious", "critical"}
ALWAYS = {"region"}  # every part of the page inside a landmark


def _violations(axe: Axe, page: Page, url: str, width: int) -> list[str]:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(url)
    page.wait_for_load_state("networkidle")
    found = []
    overflow = page.evaluate("document.documentElement.scrollWidth") - width
    if overflow > 1:
        found.append(f"{width}px {url}: the page is {overflow}px wider than the screen")
    for violation in axe.run(page).response["violations"]:
        if violation.get("impact") in BLOCKING or violation["id"] in ALWAYS:
            targets = [", ".join(node["target"]) for node in violation["nodes"][:3]]
            found.append(f"{width}px {url}: {violation['id']} ({violation['impact']}): {targets}")
    return found


def test_every_role_s_pages_have_no_serious_or_critical_axe_violations(page: Page, live_server: Any) -> None:
    for username in ("priya.coord", "dan.audit", "kent.vid", "kent.sup", "ncmec.api", "nca.admin"):
        scenario.person(username)
    officer = User.objects.get(username="kent.vid")
    policy = DeadlinePolicy.objects.get(grade=3, risk="low")
    task = scenario.task("KENT", accepted=True)
    kid = child_add(task=task, actor=acting("KENT"), reference="C1", relation="reachable")
    handoff_offer(child=kid, actor=acting("KENT"), to_org=scenario.org("ESSEX"))
    referral = task.referral
    pages = {
        "priya.coord": ["/triage/", f"/referrals/{referral.pk}/", "/board/", "/inbox/", "/conferences/",
                        "/review/", "/reports/", "/on-call/", "/people/", "/two-factor/confirm/",
                        "/reports/trends/"],
        "dan.audit": ["/audit/", f"/audit/tasks/{task.pk}/", "/review/"],
        "kent.vid": ["/tasks/", f"/tasks/{task.pk}/", "/handoffs/", "/reports/trends/",
                     "/two-factor/manage/"],
        "kent.sup": ["/welfare/", "/people/", f"/people/{officer.pk}/"],
        "ncmec.api": ["/agency/"],
        "nca.admin": ["/people/", "/people/add/", f"/people/{officer.pk}/", "/tokens/", "/contacts/",
                      f"/contacts/{scenario.org('KENT').pk}/", "/deadline-policy/",
                      f"/deadline-policy/{policy.pk}/"],
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
    # The second-factor pages, as someone signing in for the first time sees them.
    scenario.person("essex.vid")
    page.goto("/login/")
    page.get_by_label("Username").fill("essex.vid")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    for width in WIDTHS:
        problems += _violations(axe, page, page.url.removeprefix(live_server.url), width)
    screenshot(page, "14-enrol-second-factor")
    assert problems == [], "\n".join(problems)


def test_the_navigation_is_one_line_on_a_desktop_and_a_menu_on_a_phone(page: Page, live_server: Any) -> None:
    scenario.person("priya.coord")
    sign_in(page, "priya.coord")
    nav = page.get_by_role("navigation", name="Main")
    links = nav.get_by_role("link")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/triage/")
    tops = {round(box["y"]) for box in (links.nth(i).bounding_box() for i in range(links.count())) if box}
    assert len(tops) == 1, f"the navigation wraps at 1280 px: link tops {sorted(tops)}"
    assert page.get_by_role("button", name="Menu").is_hidden()
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto("/triage/")
    menu = page.get_by_role("button", name="Menu")
    expect(nav).to_be_hidden()
    expect(page.locator("#exposure-today")).to_be_visible()  # the day's review time stays in sight
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    for name in ("Triage queue", "Task board", "Feedback", "Reports", "Safeguarding review", "Inbox"):
        expect(nav.get_by_role("link", name=name)).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    screenshot(page, "phone-menu-open")
    page.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()
    expect(nav).to_be_hidden()
