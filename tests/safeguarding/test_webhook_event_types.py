"""Webhook event types are one enum (``hub.constants.WebhookEvent``): a misspelt event raises
where it is raised, every real one reaches the outbox, and the registration command refuses
an unknown event with a clear error."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from hub import hooks
from hub.constants import WebhookEvent, webhook_event
from hub.hooks import referral_event
from hub.models import Referral
from safeguarding.feedback import outbox_emit, webhook_endpoint_set
from safeguarding.models import OutboxEvent, WebhookEndpoint
from tests.factories import make_referral, org

MISSPELT = ["referral.alocated", "referral.Allocated", "referral.allocated ", "allocated", ""]
URL = "http://127.0.0.1:9/hook"


def test_the_endpoint_alias_is_the_hub_enum() -> None:
    assert WebhookEndpoint.EventType is WebhookEvent
    default = WebhookEndpoint.DEFAULT_EVENTS
    assert default == [WebhookEvent.OUTCOME_RECORDED.value]


@pytest.mark.parametrize("name", MISSPELT)
def test_an_unknown_event_name_raises(name: str) -> None:
    with pytest.raises(ValueError, match="unknown webhook event"):
        webhook_event(name)


@pytest.mark.parametrize("name", MISSPELT)
def test_referral_event_raises_for_an_unknown_name_before_any_listener(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    heard: list[tuple[Referral, str]] = []
    monkeypatch.setattr(hooks, "_referral_listeners", [lambda r, e: heard.append((r, e))])
    with pytest.raises(ValueError, match="unknown webhook event"):
        referral_event(Referral(), name)
    assert heard == []


def test_referral_event_raises_even_with_no_listener(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hooks, "_referral_listeners", [])
    with pytest.raises(ValueError, match="unknown webhook event"):
        referral_event(Referral(), "referral.alocated")


@pytest.mark.django_db
def test_outbox_emit_raises_for_an_unknown_name() -> None:
    referral = make_referral(agency="NCMEC")
    webhook_endpoint_set(agency=org("NCMEC"), url=URL, actor=None, event_types=list(WebhookEvent.values))
    with pytest.raises(ValueError, match="unknown webhook event"):
        outbox_emit(referral, "referral.alocated")
    assert not OutboxEvent.objects.filter(referral=referral, event_type="referral.alocated").exists()


@pytest.mark.parametrize("event", list(WebhookEvent))
@pytest.mark.parametrize("as_string", [False, True], ids=["member", "value"])
@pytest.mark.django_db
def test_every_event_is_accepted_and_reaches_the_outbox(event: WebhookEvent, as_string: bool) -> None:
    """Through the hub's hook (as hub services raise them) to the safeguarding outbox, as the
    enum member or its bare string value (existing callers pass strings)."""
    referral = make_referral(agency="NCMEC")
    webhook_endpoint_set(agency=org("NCMEC"), url=URL, actor=None, event_types=list(WebhookEvent.values))
    OutboxEvent.objects.filter(referral=referral).delete()  # whatever creating it emitted
    referral_event(referral, event.value if as_string else event)
    emitted = OutboxEvent.objects.get(referral=referral)
    assert emitted.event_type == event.value
    assert type(emitted.event_type) is str  # stored as the plain value
    assert emitted.payload["type"] == event.value


def _run(*args: str, **options: Any) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("set_agency_webhook", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_set_agency_webhook_rejects_an_unknown_event_from_the_command_line() -> None:
    with pytest.raises(CommandError) as caught:
        _run("NCMEC", URL, "--events", "referral.triaged", "referral.alocated")
    message = str(caught.value)
    assert "referral.alocated" in message
    assert "--events" in message
    assert all(value in message for value in WebhookEvent.values)  # says what would be valid
    assert not WebhookEndpoint.objects.filter(agency=org("NCMEC")).exists()  # nothing written


@pytest.mark.django_db
def test_set_agency_webhook_rejects_an_unknown_event_passed_to_call_command() -> None:
    # call_command(events=...) skips argparse, so the command itself must check.
    with pytest.raises(CommandError, match="referral.alocated"):
        _run("NCMEC", URL, events=["referral.alocated"])
    assert not WebhookEndpoint.objects.filter(agency=org("NCMEC")).exists()


@pytest.mark.django_db
def test_set_agency_webhook_accepts_every_event() -> None:
    _, err = _run("NCMEC", URL, "--events", *WebhookEvent.values)
    endpoint = WebhookEndpoint.objects.get(agency=org("NCMEC"))
    assert sorted(endpoint.event_types) == sorted(WebhookEvent.values)
    assert "referral.allocated" in err
