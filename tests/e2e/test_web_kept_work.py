"""Typed work kept across a session that ended (hub/web/kept.py), through Django's test client
with CSRF checks on: what is kept, what never is, and that it reaches only its own author."""

from __future__ import annotations

import pytest

from safeguarding.models import SafeguardingAction
from tests.conftest import PASSWORD
from tests.e2e import scenario
from tests.web import Client, sign_in_through_pages

pytestmark = pytest.mark.django_db

HOST = "testserver"
ORIGIN = f"http://{HOST}"


def _form() -> dict[str, str]:
    return {"action": "safe_and_well_check", "children_identified": "1", "children_safeguarded": "1",
            "notes": "Seen at school; mother present."}  # fmt: skip


def _signed_in(username: str) -> Client:
    client = Client(enforce_csrf_checks=True)
    page = sign_in_through_pages(client, username, PASSWORD, HTTP_ORIGIN=ORIGIN)
    assert page.status_code == 302, page.content[:300]
    return client


def _token(client: Client, path: str) -> str:
    client.get(path)
    return str(client.cookies["csrftoken"].value)


def test_a_stale_token_keeps_the_post_and_the_resume_page_sends_it_once() -> None:
    scenario.person("kent.vid")
    task = scenario.task("KENT", accepted=True)
    client = _signed_in("kent.vid")
    path = f"/tasks/{task.pk}/safeguarding/"
    # The token the page was rendered with went stale (signed in again in another tab).
    answer = client.post(path, {**_form(), "csrfmiddlewaretoken": "x" * 64}, HTTP_ORIGIN=ORIGIN,
                         HTTP_REFERER=ORIGIN + path)  # fmt: skip
    assert answer.status_code == 302 and answer["Location"] == "/resume/"
    resume = client.get("/resume/")
    assert resume.status_code == 200
    assert b"Seen at school; mother present." in resume.content
    assert not SafeguardingAction.objects.exists()
    token = _token(client, "/resume/")
    sent = client.post(path, {**_form(), "csrfmiddlewaretoken": token}, HTTP_ORIGIN=ORIGIN)
    assert sent.status_code == 302
    assert SafeguardingAction.objects.get(task=task).notes == "Seen at school; mother present."
    assert client.get("/resume/")["Location"] == "/", "sent once: nothing waits any more"


def test_a_post_from_another_site_or_from_htmx_is_never_kept() -> None:
    scenario.person("kent.vid")
    task = scenario.task("KENT", accepted=True)
    client = _signed_in("kent.vid")
    path = f"/tasks/{task.pk}/safeguarding/"
    foreign = client.post(path, {**_form(), "csrfmiddlewaretoken": "x" * 64},
                          HTTP_ORIGIN="https://evil.example")  # fmt: skip
    assert foreign.status_code == 403
    assert b"This form has expired" in foreign.content
    htmx = client.post(path, _form(), HTTP_ORIGIN=ORIGIN, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 403
    assert client.get("/resume/")["Location"] == "/"
    assert "vihub_kept_post" not in client.session


def test_the_discard_button_drops_the_kept_copy() -> None:
    scenario.person("kent.vid")
    task = scenario.task("KENT", accepted=True)
    client = _signed_in("kent.vid")
    path = f"/tasks/{task.pk}/safeguarding/"
    client.post(path, {**_form(), "csrfmiddlewaretoken": "x" * 64}, HTTP_ORIGIN=ORIGIN,
                HTTP_REFERER=ORIGIN + path)  # fmt: skip
    token = _token(client, "/resume/")
    discarded = client.post("/resume/", {"csrfmiddlewaretoken": token}, HTTP_ORIGIN=ORIGIN)
    assert discarded.status_code == 302 and discarded["Location"] == path
    assert "vihub_kept_post" not in client.session
    assert not SafeguardingAction.objects.exists()
