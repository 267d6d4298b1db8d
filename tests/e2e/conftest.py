"""Real-browser fixtures: Debian's Chromium driven by Playwright against pytest-django's live
server. One browser per session; a fresh context (cookies, storage) per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from config.celery import app as celery_app
from hub.models import User
from tests.conftest import PASSWORD
from tests.web import code_now, enrolled

# Playwright's sync API runs an asyncio event loop in this thread; Django would otherwise refuse
# ORM calls made from the test body (SynchronousOnlyOperation). Only the e2e tests need this.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(autouse=True)
def _jobs_not_sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """No Celery worker runs behind these pages: the jobs they enqueue after commit (reminder
    emails, webhook deliveries) are recorded here instead of left on the shared Redis broker,
    where a later test's real worker would pick up jobs for rows that no longer exist."""
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(celery_app, "send_task", lambda *args, **kwargs: sent.append((args, kwargs)))
    return sent


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser, live_server: Any) -> Iterator[BrowserContext]:
    ctx = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1440, "height": 900},
        locale="en-GB",
        timezone_id="Europe/London",
    )
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page that fails its test if the browser refused anything under the Content Security
    Policy (an inline script or style element, an eval, a foreign source)."""
    made = context.new_page()
    refused: list[str] = []
    made.on(
        "console",
        lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None,
    )
    yield made
    assert refused == [], "the Content Security Policy refused:\n" + "\n".join(refused)


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Sign in as a person does: the password, then the code their app shows (an app is set
    up for them first if they have none; tests/web.py)."""
    device = enrolled(User.objects.get(username=username))
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/two-factor/**")
    enter_code(page, code_now(device))


def enter_code(page: Page, code: str, button: str = "Continue") -> None:
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_role("button", name=button).click()
    page.wait_for_load_state()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login/")


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot to test-artifacts/ (git-ignored) for a human to look at."""
    # A locator, not wait_for_function: polling a string expression is an eval, which the
    # Content Security Policy (rightly) refuses.
    expect(page.locator(".loading, .htmx-request")).to_have_count(0)
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
