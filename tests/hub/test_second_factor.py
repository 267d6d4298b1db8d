"""Two factors for every interactive account (issue 14): enrolment at first sign-in, a code at
every sign-in, recovery codes, wrong codes slowed and audited, step-up before the rows marked
``step_up``, and the API refusing a password-only session. Through Django's own client (the
password only), typing the codes an app would show (tests/web.py)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import time_machine
from django.test import Client as PasswordOnlyClient
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from hub.models import AuditEvent, User
from tests.conftest import PASSWORD, Persona
from tests.factories import make_task
from tests.web import Client, code_now, enrolled

pytestmark = pytest.mark.django_db


def _password(username: str) -> PasswordOnlyClient:
    client = PasswordOnlyClient()
    answer = client.post("/login/", {"username": username, "password": PASSWORD})
    assert answer.status_code == 302
    return client


def test_first_sign_in_enrols_an_app_and_shows_recovery_codes_once(cast: dict[str, Persona]) -> None:
    user = cast["kent_officer"].user
    task = make_task(holder="KENT", accepted=True)
    client = PasswordOnlyClient()
    answer = client.post("/login/", {"username": "kent_officer", "password": PASSWORD,
                                     "next": f"/tasks/{task.pk}/"})  # fmt: skip
    assert answer["Location"] == f"/two-factor/enrol/?next=%2Ftasks%2F{task.pk}%2F"
    # Nothing of a case until both factors: every page sends the person back to enrol.
    refused = client.get(f"/tasks/{task.pk}/")
    assert refused.status_code == 302 and refused["Location"].startswith("/two-factor/enrol/")
    assert client.get("/api/v1/tasks/").status_code in (401, 403)

    enrol = client.get(answer["Location"])
    assert enrol.status_code == 200 and b"<svg" in enrol.content
    secret = re.search(rb"data-secret>([A-Z2-7 ]+)<", enrol.content)
    assert secret is not None
    pending = TOTPDevice.objects.get(user=user, confirmed=False)
    assert secret.group(1).replace(b" ", b"").decode() in pending.config_url
    assert client.get(answer["Location"]).content.count(secret.group(1)) == 1, "the same secret on reload"

    wrong = client.post(answer["Location"], {"code": "000000" if code_now(pending) != "000000" else "111111"})
    assert wrong.status_code == 400 and b"not right" in wrong.content

    done = client.post(answer["Location"], {"code": code_now(enrolled_pending(pending))})
    assert done.status_code == 200
    codes = re.findall(rb"<code>([a-z2-7]{4} [a-z2-7]{4})</code>", done.content)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert StaticToken.objects.filter(device__user=user).count() == 10
    assert TOTPDevice.objects.get(user=user).confirmed
    assert client.get(f"/tasks/{task.pk}/").status_code == 200, "both factors: the case page"
    assert AuditEvent.objects.filter(action="auth.factor_enrolled", actor=user).count() == 1
    # Enrolled: the enrolment page does not offer a second app to whoever holds the password.
    assert client.get("/two-factor/enrol/")["Location"] == "/"


def enrolled_pending(device: TOTPDevice) -> TOTPDevice:
    """The pending device after the wrong code: wait out the throttle, as a person would."""
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_count=0, throttling_failure_timestamp=None
    )
    device.refresh_from_db()
    return device


def test_every_sign_in_asks_for_the_code_and_a_recovery_code_works_once(cast: dict[str, Persona]) -> None:
    user = cast["coordinator"].user
    device = enrolled(user)
    client = _password("coordinator")
    assert client.get("/triage/")["Location"] == "/two-factor/?next=%2Ftriage%2F"
    ok = client.post("/two-factor/?next=%2Ftriage%2F", {"code": code_now(device)})
    assert ok.status_code == 302 and ok["Location"] == "/triage/"
    assert client.get("/triage/").status_code == 200
    assert client.get("/api/v1/tasks/").status_code == 200, "a session with both factors reaches the API"
    event = AuditEvent.objects.filter(action="auth.second_factor", actor=user).latest("seq")
    assert event.changes == {"purpose": "sign_in", "factor": "totp"}

    # Lost phone: a recovery code signs in once, and says how many are left.
    from hub.services.factors import issue_recovery_codes

    codes = issue_recovery_codes(user)
    for attempt in ("first", "again"):
        other = _password("coordinator")
        answer = other.post("/two-factor/", {"code": codes[0][:4] + " " + codes[0][4:].upper()}, follow=True)
        if attempt == "first":
            assert answer.redirect_chain[0][0] == "/" and b"9 left" in answer.content
        else:
            assert answer.status_code == 400 and b"not right" in answer.content
    used = AuditEvent.objects.filter(action="auth.second_factor", changes__factor="recovery_code").get()
    assert used.changes["recovery_codes_left"] == 9


def test_wrong_codes_are_slowed_down_and_audited(cast: dict[str, Persona]) -> None:
    device = enrolled(cast["kent_supervisor"].user)
    client = _password("kent_supervisor")
    wrong = "000000" if code_now(device) != "000000" else "111111"
    first = client.post("/two-factor/", {"code": wrong})
    assert first.status_code == 400
    second = client.post("/two-factor/", {"code": code_now(device)})
    assert second.status_code == 429 and b"Wait" in second.content, "even the right code waits its turn"
    assert AuditEvent.objects.filter(action="auth.second_factor_failed", outcome="denied").count() == 1
    assert client.get("/tasks/")["Location"].startswith("/two-factor/")


def test_step_up_before_an_export_after_five_minutes_then_it_carries_on(cast: dict[str, Persona]) -> None:
    auditor = cast["auditor"].user
    device = enrolled(auditor)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = Client()
        client.force_login(auditor)
        assert client.get("/audit/export/?format=csv").status_code == 200, "a code just entered"
        clock.shift(6 * 60)
        time.sleep(0)  # the session's clock is time.time(), travelled with the rest
        asked = client.get("/audit/export/?format=csv")
        assert asked.status_code == 302
        assert asked["Location"] == "/two-factor/confirm/?next=%2Faudit%2Fexport%2F%3Fformat%3Dcsv"
        # The API in the same browser session is asked too; a bearer token is not a session.
        api = client.get("/api/v1/audit/events/export/")
        assert api.status_code == 403 and api.json()["code"] == "step_up_required"
        assert cast["auditor"].client.get("/api/v1/audit/events/export/").status_code == 200
        device = enrolled(auditor)
        done = client.post(asked["Location"], {"code": code_now(device)})
        assert done["Location"] == "/audit/export/?format=csv"
        assert client.get(done["Location"]).status_code == 200
        step = AuditEvent.objects.filter(action="auth.second_factor", changes__purpose="step_up").get()
        assert step.actor == auditor


def test_a_form_waiting_for_step_up_is_kept_and_a_button_comes_back_to_its_page(
    cast: dict[str, Persona],
) -> None:
    from safeguarding.feedback import webhook_endpoint_set
    from safeguarding.models import WebhookChange, WebhookEndpoint
    from tests.factories import org

    endpoint = webhook_endpoint_set(agency=org("NCMEC"), url="http://127.0.0.1:9/hook", actor=None)[0]
    coordinator = cast["coordinator"].user
    origin = {"HTTP_ORIGIN": "http://testserver", "HTTP_REFERER": "http://testserver/feedback/"}
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = Client()
        client.force_login(coordinator)
        clock.shift(10 * 60)
        # A button (nothing typed): back to the page it was on after the code, nothing done yet.
        rotate = client.post(f"/feedback/endpoints/{endpoint.pk}/rotate-secret/", **origin)
        assert rotate.status_code == 302 and rotate["Location"] == "/two-factor/confirm/?next=%2Ffeedback%2F"
        assert WebhookEndpoint.objects.get(pk=endpoint.pk).previous_secret_expires_at is None
        # A form with what was typed: kept, and offered back once the code is in.
        typed = {
            "agency": "IWF",
            "url": "http://127.0.0.1:9/iwf-hook",
            "event_types": "referral.outcome_recorded",
        }
        asked = client.post("/feedback/", typed, **origin)
        assert asked["Location"] == "/two-factor/confirm/?next=%2Fresume%2F"
        assert not WebhookEndpoint.objects.filter(agency=org("IWF")).exists()
        done = client.post(asked["Location"], {"code": code_now(enrolled(coordinator))})
        assert done["Location"] == "/resume/"
        assert b"127.0.0.1:9/iwf-hook" in client.get("/resume/").content
        sent = client.post("/feedback/", typed, **origin)
        assert sent["Location"] == "/feedback/#changes", "within five minutes of the code: proposed"
    assert WebhookChange.objects.get(agency=org("IWF"), status="pending").url == "http://127.0.0.1:9/iwf-hook"


def test_a_reset_removes_the_factors_ends_the_sessions_and_is_audited(cast: dict[str, Persona]) -> None:
    from hub.services.factors import issue_recovery_codes

    officer = cast["kent_officer"].user
    enrolled(officer)
    issue_recovery_codes(officer)
    theirs = Client()
    theirs.force_login(officer)
    assert theirs.get("/tasks/").status_code == 200
    supervisor = Client()
    supervisor.force_login(cast["kent_supervisor"].user)
    listed = supervisor.get("/people/")
    assert listed.status_code == 200 and b"app \xc2\xb7 10 recovery codes" in listed.content
    assert b"essex" not in listed.content.lower(), "a supervisor sees only their own force's people"

    refused = supervisor.post(f"/people/{officer.pk}/reset-factors/", {f"reset-{officer.pk}-reason": " "})
    assert refused.status_code == 400 and b"Say why" in refused.content
    assert TOTPDevice.objects.filter(user=officer).exists(), "nothing removed without a reason"

    done = supervisor.post(
        f"/people/{officer.pk}/reset-factors/", {f"reset-{officer.pk}-reason": "Phone lost"}
    )
    assert done.status_code == 302 and done["Location"] == "/people/"
    assert not TOTPDevice.objects.filter(user=officer).exists()
    assert not StaticToken.objects.filter(device__user=officer).exists()
    ended = theirs.get("/tasks/")
    assert ended.status_code == 302 and ended["Location"].startswith("/login/"), "their session ended"
    event = AuditEvent.objects.get(action="auth.factors_reset")
    assert event.actor == cast["kent_supervisor"].user and event.justification == "Phone lost"
    assert event.changes["before"] == "app · 10 recovery codes" and event.changes["after"] == "not enrolled"
    assert event.changes["sessions_ended"] == 1
    # Signing in again: the password, then a new app to set up.
    assert _password("kent_officer").get("/tasks/")["Location"].startswith("/two-factor/enrol/")


def test_nobody_resets_their_own_factor_and_an_officer_resets_nobodys(cast: dict[str, Persona]) -> None:
    supervisor = cast["kent_supervisor"].user
    client = Client()
    client.force_login(supervisor)
    own = client.post(f"/people/{supervisor.pk}/reset-factors/", {f"reset-{supervisor.pk}-reason": "x"})
    assert own.status_code == 403
    officer = Client()
    officer.force_login(cast["kent_officer"].user)
    assert officer.get("/people/").status_code == 403
    assert TOTPDevice.objects.filter(user=supervisor).exists()


def _reset(client: Client, person: User) -> Any:
    return client.post(f"/people/{person.pk}/reset-factors/", {f"reset-{person.pk}-reason": "Phone lost"})


def test_the_hubs_own_people_are_reset_by_the_administrator_only(cast: dict[str, Persona]) -> None:
    """A coordinator resets a force officer's factor, but not a fellow coordinator's, an auditor's
    or the administrator's: knowing one of their passwords and resetting the factor would let
    a coordinator enrol their own and act as them."""
    from tests.conftest import make_persona

    colleague = make_persona("coordinator_two", "NCA", "coordinator").user
    coordinator = Client()
    coordinator.force_login(cast["coordinator"].user)
    for person in (colleague, cast["auditor"].user, cast["administrator"].user):
        enrolled(person)
        assert _reset(coordinator, person).status_code == 403, person.username
        assert TOTPDevice.objects.filter(user=person).exists(), person.username
    officer = cast["kent_officer"].user
    enrolled(officer)
    assert _reset(coordinator, officer).status_code == 302
    assert not TOTPDevice.objects.filter(user=officer).exists()

    administrator = Client()
    administrator.force_login(cast["administrator"].user)
    assert _reset(administrator, colleague).status_code == 302
    assert not TOTPDevice.objects.filter(user=colleague).exists()
    assert AuditEvent.objects.filter(action="auth.factors_reset").count() == 2


def test_the_operator_resets_a_factor_from_the_shell(cast: dict[str, Persona]) -> None:
    import io

    from django.core.management import call_command

    coordinator = cast["coordinator"].user
    enrolled(coordinator)
    out = io.StringIO()
    call_command("reset_factors", "coordinator", "--reason", "Only coordinator lost phone", stdout=out)
    assert "second factor reset" in out.getvalue()
    assert not TOTPDevice.objects.filter(user=coordinator).exists()
    event = AuditEvent.objects.get(action="auth.factors_reset")
    assert event.actor is None and event.justification == "Only coordinator lost phone"


def test_the_passkey_button_is_only_wired_once_its_words_have_loaded(cast: dict[str, Persona]) -> None:
    """django-otp-webauthn's own tag loaded its translation catalog with ``async``: a click on
    "Add a passkey" before the catalog arrived threw in the button's handler and did nothing (a
    failed CI run). The catalog is now a classic script ahead of the module, so it has run before
    the module script makes the button."""
    officer = cast["kent_officer"].user
    enrolled(officer)
    client = Client()
    client.force_login(officer)
    page = client.get("/two-factor/manage/").content.decode()
    scripts = re.findall(r"<script[^>]*>", page)
    catalog = next(i for i, tag in enumerate(scripts) if "jsi18n" in tag or "i18n" in tag)
    module = next(i for i, tag in enumerate(scripts) if "otp_webauthn_register.js" in tag)
    assert catalog < module
    assert not re.search(r"\b(async|defer)\b", scripts[catalog]), scripts[catalog]
