"""Organisations, members, tokens: what scripts and people rely on from day one."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from hub.models import ApiToken, AuditEvent, MediaMatch, Membership, Organisation, Referral, Task, User
from hub.services.organisations import hash_token, organisations_seed_reference
from safeguarding.management.commands.demo_receiver import verified
from safeguarding.models import OutboxEvent, WebhookEndpoint
from safeguarding.webhooks import signature_header
from spokes.models import Handoff
from tests.conftest import make_persona
from tests.web import Client

pytestmark = pytest.mark.django_db


def test_seed_reference_loads_the_real_tree_and_is_idempotent() -> None:
    again = organisations_seed_reference()
    assert again.created == 0 and again.updated == 0
    counts = {kind: Organisation.objects.filter(kind=kind).count() for kind in Organisation.Kind.values}
    assert counts["hub"] == 1 and counts["region"] == 10 and counts["force"] == 43
    assert {"NCMEC", "IWF"} <= set(Organisation.objects.filter(kind="agency").values_list("code", flat=True))
    kent = Organisation.objects.get(code="KENT")
    assert kent.name == "Kent Police" and kent.parent is not None and kent.parent.code == "ERSOU"
    assert kent.parent.parent is not None and kent.parent.parent.code == "NCA"
    assert all(
        o.parent.kind == "region" for o in Organisation.objects.filter(kind="force").select_related("parent")
    )
    assert kent.group.name == "org:KENT"


def test_organisations_api_lists_hub_regions_forces_and_agencies_for_a_token() -> None:
    persona = make_persona("kent1", "KENT", "officer")
    response = persona.client.get("/api/v1/organisations/")
    assert response.status_code == 200
    by_code = {row["code"]: row for row in response.json()}
    assert by_code["NCA"] == {
        "code": "NCA",
        "name": "National Crime Agency (CEOP Command)",
        "kind": "hub",
        "parent": None,
    }
    assert by_code["KENT"]["parent"] == "ERSOU" and by_code["KENT"]["kind"] == "force"
    assert sum(1 for row in by_code.values() if row["kind"] == "force") == 43
    assert persona.client.get("/api/v1/organisations/kent/").json()["code"] == "KENT"


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer vih_not-a-real-token", "Token abc", "Bearer a b"],
    ids=["missing", "no-token", "unknown", "wrong-scheme", "malformed"],
)
def test_missing_or_bad_token_gets_401(anon, header: str) -> None:  # type: ignore[no-untyped-def]
    if header:
        anon.credentials(HTTP_AUTHORIZATION=header)
    response = anon.get("/api/v1/organisations/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_expired_token_gets_401_and_is_audited() -> None:
    persona = make_persona("kent2", "KENT", "officer")
    ApiToken.objects.filter(token_hash=hash_token(persona.token)).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    persona.client.defaults["REMOTE_ADDR"] = "192.0.2.69"  # its own source: the first failure from it
    response = persona.client.get("/api/v1/organisations/")
    assert response.status_code == 401
    event = AuditEvent.objects.filter(action="auth.token_rejected").last()
    assert event is not None and event.outcome == "denied"
    assert event.changes["reason"] == "expired token" and event.changes["failures_in_window"] >= 1


def test_revoked_token_gets_401_at_once() -> None:
    persona = make_persona("kent3", "KENT", "officer")
    assert persona.client.get("/api/v1/organisations/").status_code == 200
    call_command("revoke_api_token", persona.token[:12], stdout=io.StringIO())
    assert persona.client.get("/api/v1/organisations/").status_code == 401


def test_deactivated_user_token_gets_401() -> None:
    persona = make_persona("kent4", "KENT", "officer")
    persona.user.is_active = False
    persona.user.save()
    assert persona.client.get("/api/v1/organisations/").status_code == 401


def test_only_the_hash_of_a_token_is_stored() -> None:
    out = io.StringIO()
    make_persona("hashcheck", "NCA", "coordinator")
    call_command("create_api_token", "hashcheck", "--expires-days", "5", stdout=out, stderr=io.StringIO())
    raw = out.getvalue().strip()
    assert raw.startswith("vih_")
    row = ApiToken.objects.get(token_hash=hash_token(raw))
    stored = [str(v) for v in ApiToken.objects.filter(pk=row.pk).values().first().values()]  # type: ignore[union-attr]
    assert raw not in stored
    assert timedelta(days=4, hours=23) < row.expires_at - timezone.now() <= timedelta(days=5)


def test_token_lifetime_is_bounded() -> None:
    make_persona("bounded", "NCA", "coordinator")
    with pytest.raises(CommandError, match="between 1 and"):
        call_command("create_api_token", "bounded", "--expires-days", "0", stdout=io.StringIO())


def test_add_member_creates_user_with_role_and_group(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("sys.stdin", io.StringIO("a-sufficiently-long-passphrase\n"))
    call_command(
        "add_member",
        "sup1",
        "--org",
        "kent",
        "--role",
        "supervisor",
        "--password-stdin",
        stdout=io.StringIO(),
    )
    membership = Membership.objects.select_related("user", "organisation").get(user__username="sup1")
    assert (membership.organisation.code, membership.role) == ("KENT", "supervisor")
    assert membership.user.check_password("a-sufficiently-long-passphrase")
    assert list(membership.user.groups.values_list("name", flat=True)) == ["org:KENT"]


def test_moving_a_member_moves_their_group_and_is_audited() -> None:
    make_persona("mover", "KENT", "officer")
    call_command("add_member", "mover", "--org", "ESSEX", "--role", "officer", stdout=io.StringIO())
    membership = Membership.objects.get(user__username="mover")
    assert membership.organisation.code == "ESSEX"
    assert list(membership.user.groups.values_list("name", flat=True)) == ["org:ESSEX"]
    event = AuditEvent.objects.filter(action="membership.set").last()
    assert event is not None
    assert event.changes["before"] == {"org": "KENT", "role": "officer"}
    assert event.changes["after"] == {"org": "ESSEX", "role": "officer"}


@pytest.mark.parametrize(
    ("org_code", "role", "message"),
    [
        ("KENT", "coordinator", "hub organisation"),
        ("NCA", "agency", "agency organisation"),
        ("NOPE", "officer", "No organisation"),
        ("ERSOU", "auditor", "hub organisation"),
    ],
)
def test_add_member_rejects_role_that_does_not_fit_the_organisation(
    org_code: str, role: str, message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("add_member", "wrong", "--org", org_code, "--role", role, stdout=io.StringIO())
    assert not Membership.objects.filter(user__username="wrong").exists()


def test_weak_password_is_refused_and_nothing_is_stored(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    with pytest.raises(CommandError, match="Password rejected"):
        call_command(
            "add_member",
            "weak",
            "--org",
            "KENT",
            "--role",
            "officer",
            "--password-stdin",
            stdout=io.StringIO(),
        )
    assert not Membership.objects.filter(user__username="weak").exists()


def test_user_without_membership_gets_403() -> None:
    client = Client()
    client.force_login(User.objects.create_user("nobody", password="x-long-password-1"))
    assert client.get("/api/v1/organisations/").status_code == 403


def test_schema_describes_the_api() -> None:
    response = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert "/api/v1/organisations/" in response.json()["paths"]


def test_seed_demo_gives_a_newcomer_people_for_every_role_and_referrals_to_triage(
    settings, monkeypatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match="not production"):
        call_command("seed_demo", stdout=io.StringIO())
    settings.DEBUG = True
    settings.DATA_DIR = tmp_path
    settings.VIHUB_ALLOW_LOOPBACK_WEBHOOKS = True
    monkeypatch.setattr("sys.stdin", io.StringIO("demo-password-long-enough\n"))
    out = io.StringIO()
    call_command("seed_demo", "--password-stdin", stdout=out)
    roles = set(Membership.objects.filter(user__username__startswith="demo-").values_list("role", flat=True))
    assert roles == set(Membership.Role.values)
    assert User.objects.get(username="demo-kent-officer").check_password("demo-password-long-enough")
    assert "4 demo referrals" in out.getvalue()
    assert "sets up an authenticator app" in out.getvalue() and "reset_factors" in out.getvalue()
    # Six months of history: the trends show West Midlands drifting, and summaries exist.
    from safeguarding.models import MonthlySummary
    from safeguarding.trends import recent_months, spoke_trends

    west_midlands = next(s for s in spoke_trends(months=recent_months(7))["spokes"] if s["org"] == "WMP")
    outcome = [days for days in west_midlands["days_to_outcome"] if days is not None]
    assert len(outcome) == 6 and outcome[0] < 7 and outcome[-1] > 19, outcome
    assert MonthlySummary.objects.filter(organisation__code="WMP").count() == 6
    assert Membership.objects.filter(user__username__startswith="demo-", role="coordinator").count() == 2
    # A worked case shows every part of the task page: children, a check, a pending hand-off.
    worked = Task.objects.get(referral__external_id="CT-DEMO-0005")
    assert worked.status == "accepted" and worked.children.count() == 3  # type: ignore[attr-defined]
    assert worked.children.filter(checks__isnull=False).count() == 1  # type: ignore[attr-defined]
    assert Handoff.objects.filter(child__task=worked, status="pending").count() == 1
    # ... and the prioritisation record: the hub's factors and team, Kent's re-assessment beside it.
    assert worked.referral.team is not None and worked.referral.team.code == "GROOMING"
    assert worked.referral.missing_information == ["suspect_location"]
    assert [r.risk for r in worked.reassessments.all()] == ["very_high"]  # type: ignore[attr-defined]
    assert "worked case" in out.getvalue()
    # ... and media matching: a small known set and two referrals that match each other.
    two = Referral.objects.get(external_id="CT-DEMO-0002")
    assert (
        two.media_match_count == 1
        and MediaMatch.objects.get(referral__external_id="IWF-DEMO-0003").match == "near"
    )
    assert Referral.objects.get(external_id="CT-DEMO-0004").is_known_victim
    assert Referral.objects.get(external_id="CT-DEMO-0001").is_first_generation
    # ... and outcome feedback: NCMEC's endpoint on the loopback demo receiver, whose kept secret
    # verifies what VIHub signs, and an outcome already waiting to be delivered to it.
    endpoint = WebhookEndpoint.objects.get(agency__code="NCMEC")
    assert endpoint.url == "http://127.0.0.1:8766/vihub-hook"
    kept = (tmp_path / "demo-webhook-secret").read_text().strip()
    assert oct((tmp_path / "demo-webhook-secret").stat().st_mode & 0o777) == "0o600"
    stamp, body = int(time.time()), b'{"type":"referral.outcome_recorded"}'
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(stamp),
               "webhook-signature": signature_header(secrets_=[endpoint.secret], msg_id="msg_1",
                                                     timestamp=stamp, body=body)}  # fmt: skip
    assert verified(secret=kept, headers=headers, body=body) == ""
    assert verified(secret=kept, headers=headers, body=body + b" ") == "signature does not match"
    assert verified(secret=kept, headers={**headers, "webhook-timestamp": str(stamp - 600)}, body=body) == (
        "timestamp outside 5 minutes"
    )
    waiting = OutboxEvent.objects.get(referral__external_id="CT-DEMO-0006")
    assert waiting.event_type == "referral.outcome_recorded" and waiting.agency == endpoint.agency
    assert "CT-DEMO-0006" in out.getvalue() and "make demo-receiver" in out.getvalue()
    monkeypatch.setattr("sys.stdin", io.StringIO("demo-password-long-enough\n"))
    call_command("seed_demo", "--password-stdin", stdout=io.StringIO())  # a second run changes nothing
    assert Task.objects.filter(referral__external_id="CT-DEMO-0005").count() == 1
    assert OutboxEvent.objects.filter(referral__external_id="CT-DEMO-0006").count() == 1
    assert (tmp_path / "demo-webhook-secret").read_text().strip() == kept


def test_each_lockout_of_the_same_account_and_source_in_a_day_doubles_the_next(client) -> None:  # type: ignore[no-untyped-def]
    """Progressive delay: 15 minutes, then 30, then 60 for a guesser who keeps coming back from
    the same address; a new address, or a day later, starts at 15 again. Each lockout is
    audited with its length."""
    import time_machine

    make_persona("patient", "KENT", "officer")
    here = {"REMOTE_ADDR": "192.0.2.44"}
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for expected in (15, 30, 60):
            for _ in range(5):
                client.post("/login/", {"username": "patient", "password": "wrong-password-guess"}, **here)
            locked = client.post("/login/", {"username": "patient", "password": "still-wrong-guess"}, **here)
            assert locked.status_code == 429 and int(locked["Retry-After"]) == expected * 60
            assert f"for {expected} minutes".encode() in locked.content
            clock.shift(timedelta(minutes=expected - 1))
            right = {"username": "patient", "password": "correct-horse-battery-staple"}
            still = client.post("/login/", right, **here)
            assert still.status_code == 429, f"{expected - 1} minutes into a {expected}-minute lockout"
            clock.shift(timedelta(minutes=expected + 1))  # a whole cool-off after the last try
        audited = AuditEvent.objects.filter(
            action="auth.locked_out", actor_display="unauthenticated (patient)"
        )
        assert sorted(e.changes["locked_for_minutes"] for e in audited) == [15, 30, 60]
        elsewhere = {"REMOTE_ADDR": "192.0.2.45"}
        for _ in range(6):
            other = client.post("/login/", {"username": "patient", "password": "wrong-password-guess"},
                                **elsewhere)  # fmt: skip
        assert int(other["Retry-After"]) == 15 * 60, "another source starts again at 15 minutes"


def test_five_failed_sign_ins_lock_that_account_from_that_device_only(client) -> None:  # type: ignore[no-untyped-def]
    make_persona("locky", "KENT", "officer")
    here = {"REMOTE_ADDR": "192.0.2.10"}
    for _ in range(5):
        response = client.post("/login/", {"username": "locky", "password": "wrong-password-guess"}, **here)
        assert response.wsgi_request.user.is_authenticated is False
    locked = client.post("/login/", {"username": "locky", "password": "correct-horse-battery-staple"}, **here)
    assert locked.status_code == 429 and int(locked["Retry-After"]) == 15 * 60
    assert not locked.wsgi_request.user.is_authenticated  # the right password, refused while locked
    assert b"cannot sign in from this device for 15 minutes" in locked.content
    # Audited in aggregate: the first failure and the lockout, not one row per guess.
    failed = AuditEvent.objects.filter(action="auth.login_failed", actor_display="unauthenticated (locky)")
    assert failed.count() == 1
    locked_out = AuditEvent.objects.filter(action="auth.locked_out", actor_display="unauthenticated (locky)")
    assert locked_out.count() == 1 and locked_out.get().changes["source"] == "192.0.2.10"
    # A name that does not exist locks the same way: nothing tells which accounts exist.
    for _ in range(6):
        ghost = client.post("/login/", {"username": "nobody-here", "password": "guess-guess-guess"}, **here)
    assert ghost.status_code == 429
    # The real person, from their own device, is not locked out by whoever guessed.
    elsewhere = client.post(
        "/login/", {"username": "locky", "password": "correct-horse-battery-staple"}, REMOTE_ADDR="192.0.2.99"
    )
    assert elsewhere.wsgi_request.user.is_authenticated
