"""Issue 14's smaller findings, each written to fail on the main it was found on."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.utils import timezone

from hub.models import ApiToken, AuditEvent, Referral
from hub.outbound import UnsafeTarget, vet_url
from tests.conftest import Persona
from tests.factories import make_task
from tests.web import Client, sign_in_through_pages

pytestmark = pytest.mark.django_db


def test_the_trail_records_vihub_s_own_request_id_never_the_caller_s(cast: dict[str, Persona]) -> None:
    client = cast["kent_officer"].client
    answer = client.get("/api/v1/tasks/", HTTP_X_REQUEST_ID="another-requests-id-0001")
    ours = answer["X-Request-ID"]
    assert ours != "another-requests-id-0001" and answer["X-Client-Request-ID"] == "another-requests-id-0001"
    assert AuditEvent.objects.filter(request_id=ours).exists()
    assert not AuditEvent.objects.filter(request_id="another-requests-id-0001").exists()
    unsafe = client.get("/api/v1/tasks/", HTTP_X_REQUEST_ID="x\r\nSet-Cookie: a=b")
    assert "X-Client-Request-ID" not in unsafe


@pytest.mark.parametrize("query", ["?format=csv", "?format=nonsense", ""])
def test_a_revoked_token_is_a_401_whatever_the_format_asked_for(cast: dict[str, Persona], query: str) -> None:
    """Content negotiation refuses an unknown format before DRF reads the token; a revoked
    token (its person switched off meanwhile) must still be a 401, not a 500."""
    officer = cast["kent_officer"]
    ApiToken.objects.filter(user=officer.user).update(revoked_at=timezone.now())
    response = officer.client.get(f"/api/v1/audit/events/export/{query}")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_json_nested_too_deep_is_a_400_not_a_500(cast: dict[str, Persona]) -> None:
    body = "[" * 100_000 + "]" * 100_000
    answer = cast["ncmec"].client.post("/api/v1/referrals/", body, content_type="application/json")
    assert answer.status_code == 400 and "nested too deeply" in answer.json()["detail"]
    assert not Referral.objects.exists()


def test_health_tells_a_stranger_nothing_about_what_the_service_runs_on() -> None:
    checks = Client().get("/healthz").json()["checks"]
    assert "database_vendor" not in checks and "debug" not in checks
    assert "database" in checks  # what a load balancer needs stays


def test_case_pages_and_the_api_are_never_cached(cast: dict[str, Persona]) -> None:
    task = make_task(accepted=True)
    web = Client()
    web.force_login(cast["kent_officer"].user)
    for answer in (
        web.get(f"/tasks/{task.pk}/"),
        cast["kent_officer"].client.get(f"/api/v1/tasks/{task.pk}/"),
    ):
        assert answer.status_code == 200
        assert "no-store" in answer["Cache-Control"] and "private" in answer["Cache-Control"]


@pytest.mark.parametrize(
    "literal",
    [
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b:1::a00:1",  # local-use NAT64 of 10.0.0.1
        "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254 (cloud metadata)
        "::127.0.0.1",  # IPv4-compatible
        "::ffff:10.0.0.1",  # IPv4-mapped
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
    ],
)
def test_ipv6_literals_that_lead_to_a_private_ipv4_address_are_refused(literal: str) -> None:
    with pytest.raises(UnsafeTarget, match="private, loopback or link-local"):
        vet_url(f"https://[{literal}]/hook", allow_loopback=False)


def test_a_nat64_address_of_a_public_ipv4_one_is_allowed() -> None:
    assert vet_url("https://[64:ff9b::808:808]/hook", allow_loopback=False)[3] == "64:ff9b::808:808"


def test_reading_the_inbox_and_opening_a_message_are_on_the_trail(cast: dict[str, Persona]) -> None:
    make_task(holder="KENT")  # tells Kent's people: one message each
    web = Client()
    web.force_login(cast["kent_officer"].user)
    assert web.get("/inbox/").status_code == 200
    listed = AuditEvent.objects.filter(action="notification.listed", actor=cast["kent_officer"].user).get()
    mine = cast["kent_officer"].user.notifications.get()  # type: ignore[attr-defined]
    assert listed.changes["ids"] == [str(mine.pk)]
    web.post(f"/inbox/{mine.pk}/read/")
    opened = AuditEvent.objects.get(action="notification.read", object_id=str(mine.pk))
    assert opened.task_id == mine.task_id


def test_a_management_command_s_events_name_the_person_at_the_shell(cast: dict[str, Persona]) -> None:
    from django.core.management import call_command

    from hub.context import operator_from_argv, operator_var

    assert operator_from_argv(["manage.py", "runserver"]) == ""
    operator = operator_from_argv(["manage.py", "set_agency_webhook", "NCMEC", "https://x"])
    assert operator.endswith(", manage.py set_agency_webhook") and " on " in operator
    token = operator_var.set(operator)  # what manage.py does for the whole command
    try:
        call_command("revoke_api_token", cast["ncmec"].user.username, "--all", stdout=io.StringIO())
    finally:
        operator_var.reset(token)
    event = AuditEvent.objects.filter(action="token.revoked").latest("seq")
    assert event.actor is None and event.actor_display == f"system ({operator})"


def test_a_session_ends_after_15_idle_minutes_and_12_hours_in_all(cast: dict[str, Persona]) -> None:
    import time_machine
    from django.utils import timezone

    task = make_task(accepted=True)
    page = f"/tasks/{task.pk}/"
    with time_machine.travel(timezone.now(), tick=False) as clock:
        web = Client()
        assert sign_in_through_pages(web, "kent_officer", "correct-horse-battery-staple").status_code == 302
        assert web.get(page).status_code == 200
        clock.shift(14 * 60)
        assert web.get(page).status_code == 200, "14 minutes idle: still signed in"
        clock.shift(16 * 60)
        ended = web.get(page)
        assert ended.status_code == 302 and ended["Location"].startswith("/login/"), "16 minutes idle"
        assert AuditEvent.objects.filter(action="auth.session_ended", changes__why="idle").exists()
        # Busy all day, never idle: still ended 12 hours after signing in.
        sign_in_through_pages(web, "kent_officer", "correct-horse-battery-staple")
        minutes = 0
        while minutes < 13 * 60:
            clock.shift(10 * 60)
            minutes += 10
            last = web.get(page)
            if last.status_code != 200:
                break
        assert last.status_code == 302 and 12 * 60 <= minutes <= 12 * 60 + 10, minutes
        assert AuditEvent.objects.filter(action="auth.session_ended", changes__why="max_age").exists()


def test_passwords_are_at_least_15_characters_and_not_a_common_one() -> None:
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="at least 15 characters"):
        validate_password("Short-but-ok1")
    with pytest.raises(ValidationError, match="too common"):
        validate_password("polniypizdec0211")  # 16 characters, on the list
    validate_password("a-long-unusual-passphrase-7")


def test_every_page_carries_a_content_security_policy_without_inline_script() -> None:
    policy = Client().get("/login/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'" and directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'" and directives["form-action"] == "'self'"
    assert "unsafe-inline" not in directives["style-src"]


def test_webhook_secrets_are_encrypted_at_rest_and_survive_a_key_rotation(settings: Any) -> None:
    from cryptography.fernet import Fernet
    from django.core.management import call_command
    from django.db import connection

    from hub.models import Organisation
    from safeguarding.feedback import webhook_endpoint_set
    from safeguarding.models import WebhookEndpoint

    settings.VIHUB_ALLOW_LOOPBACK_WEBHOOKS = True
    ncmec = Organisation.objects.get(code="NCMEC")
    endpoint, secret = webhook_endpoint_set(agency=ncmec, url="http://127.0.0.1:9/hook", actor=None)
    assert secret and secret.startswith("whsec_")

    def stored() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT secret FROM safeguarding_webhookendpoint")
            return str(cursor.fetchone()[0])

    assert stored().startswith("fernet:") and secret not in stored(), "never in the clear in the database"
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == secret
    # A new key first, the old one still there: the secret reads; re-encrypted, the old key can go.
    old = settings.VIHUB_SECRETS_KEYS
    settings.VIHUB_SECRETS_KEYS = f"{Fernet.generate_key().decode()},{old}"
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == secret
    call_command("reencrypt_secrets", stdout=io.StringIO())
    assert AuditEvent.objects.get(action="webhook.secrets_reencrypted").changes == {"endpoints": 1}
    settings.VIHUB_SECRETS_KEYS = settings.VIHUB_SECRETS_KEYS.split(",")[0]
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == secret


@pytest.mark.django_db
def test_a_date_in_the_year_311_is_refused_not_stored(cast: dict[str, Persona]) -> None:
    """Schemathesis found it: stored, it came back with London's 1847 local-mean-time offset
    ("-00:01:15"), which no client can parse. Every date VIHub records is this century."""
    from spokes.models import ExternalRequest

    task = make_task(holder="KENT", accepted=True)
    officer = cast["kent_officer"].client
    body = {
        "kind": ExternalRequest.Kind.values[0],
        "counterpart": "Platform X",
        "sent_at": "0311-03-17T11:45:44Z",
    }
    refused = officer.post(f"/api/v1/tasks/{task.pk}/requests/", body, format="json")
    assert refused.status_code == 400 and "2000 and 2099" in str(refused.json()["sent_at"])
    assert not ExternalRequest.objects.filter(task=task).exists()
    body["sent_at"] = "2026-11-30T09:00:00Z"
    assert officer.post(f"/api/v1/tasks/{task.pk}/requests/", body, format="json").status_code == 201
