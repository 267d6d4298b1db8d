"""Keyboard only (issue 17): an officer signs in, finds their task and records its outcome with
nothing but Tab, Shift+Tab, typing, Space and Enter, in Debian's Chromium. Every control the
journey reaches shows a visible focus ring, and it is reached in a sensible number of Tabs
(the page order follows what the eye reads)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from hub.models import Referral, User
from tests.conftest import PASSWORD
from tests.e2e import scenario
from tests.e2e.conftest import screenshot
from tests.web import code_now, enrolled

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("committed_db")]

FOCUS_SHOWN = """el => {
  const s = getComputedStyle(el);
  const ring = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
  return ring || (s.boxShadow && s.boxShadow !== 'none');
}"""


def tab_to(page: Page, target: Locator, *, limit: int = 120, back: bool = False) -> int:
    """Press Tab (or Shift+Tab) until ``target`` has the focus; fail if it takes more than
    ``limit`` presses or if the focused control shows no focus ring. Returns the presses."""
    key = "Shift+Tab" if back else "Tab"
    for presses in range(1, limit + 1):
        page.keyboard.press(key)
        if target.evaluate("el => el === document.activeElement"):
            assert target.evaluate(FOCUS_SHOWN), f"no visible focus on {target}"
            return presses
    raise AssertionError(f"{target} not reached in {limit} presses of {key}")


def test_an_officer_signs_in_and_records_an_outcome_with_the_keyboard_alone(
    page: Page, live_server: Any
) -> None:
    scenario.person("kent.vid")
    task = scenario.task("KENT", accepted=True)
    reference = task.referral.external_id
    device = enrolled(User.objects.get(username="kent.vid"))
    page.goto("/login/")

    # The first Tab is the skip link, shown when focused.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    assert skip.evaluate("el => el.getBoundingClientRect().left >= 0"), "the skip link is drawn on screen"

    tab_to(page, page.get_by_label("Username"))
    page.keyboard.type("kent.vid")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    # The second factor: the code field has the focus already.
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter the code from your app")
    expect(page.get_by_label("Code", exact=True)).to_be_focused()
    page.keyboard.type(code_now(device))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Kent Police: our tasks")

    # Skip the header, then the task's link by its agency reference.
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    tab_to(page, page.get_by_role("link", name=reference).first, limit=40)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/tasks/{task.pk}/")

    outcome = page.locator("#outcome")
    justice = outcome.get_by_label("Criminal-justice outcome")
    expect(justice).to_be_visible()  # the htmx panel has loaded
    tab_to(page, justice, limit=200)
    page.keyboard.type("Charged")
    expect(justice).to_have_value("charge_summons")
    tab_to(page, outcome.get_by_label("Safeguarding outcome"), limit=3)
    page.keyboard.type("Child safe")
    expect(outcome.get_by_label("Safeguarding outcome")).to_have_value("child_safeguarded")
    for label, value in (("Arrests", "1"), ("Children safeguarded", "2"), ("Victims identified", "2")):
        tab_to(page, outcome.get_by_label(label), limit=3)
        page.keyboard.press("Control+A")
        page.keyboard.type(value)
    for question in ("access to children", "safeguarding needed"):
        yes = outcome.locator("fieldset", has_text=question).get_by_label("Yes")
        tab_to(page, yes, limit=4)
        page.keyboard.press("Space")
        expect(yes).to_be_checked()
    tab_to(page, outcome.get_by_label("Summary (internal)"), limit=3)
    page.keyboard.type("Charged after interview; both children safe with their mother.")
    tab_to(page, outcome.get_by_role("button", name="Record outcome"), limit=3)
    page.keyboard.press("Enter")

    facts = page.locator("#outcome-facts")
    expect(facts).to_contain_text("Charged / summonsed")
    expect(facts).to_contain_text("Child safeguarded")
    screenshot(page, "24-keyboard-outcome-recorded")
    referral = Referral.objects.get(pk=task.referral_id)
    assert referral.status == "outcome_recorded"
    assert referral.outcome.children_safeguarded == 2  # type: ignore[attr-defined]

    # Signing out is one Shift+Tab walk back up to the header.
    tab_to(page, page.get_by_role("button", name="Sign out"), back=True, limit=200)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
