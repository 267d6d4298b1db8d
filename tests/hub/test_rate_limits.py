"""Rate limits (issue 14): 429 with Retry-After, counted per source and per account, never
triggered against someone else, and failures audited in aggregate."""

from __future__ import annotations

import itertools
import secrets
from typing import Any

import pytest
from rest_framework.test import APIClient

from hub.models import AuditEvent, Referral
from tests.conftest import Persona

pytestmark = pytest.mark.django_db


_BASE = secrets.randbelow(200) * 256  # another run against the same cache starts elsewhere
_NEXT = itertools.count(1)


def _address() -> str:
    """A source address no other test (or call) uses: 10.x.y.z, x.y from a counter."""
    n = _BASE + next(_NEXT)
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def test_guessing_tokens_is_slowed_per_source_and_audited_in_aggregate(
    cast: dict[str, Persona], settings: Any
) -> None:
    settings.VIHUB_RATE_FAILED_TOKENS = "5/min"
    guesser, elsewhere = _address(), _address()
    client = APIClient(REMOTE_ADDR=guesser)
    client.credentials(HTTP_AUTHORIZATION="Bearer vih_not-a-real-token")
    before = AuditEvent.objects.filter(action="auth.token_rejected").count()
    assert [client.get("/api/v1/tasks/").status_code for _ in range(5)] == [401] * 5
    blocked = client.get("/api/v1/tasks/")
    assert blocked.status_code == 429 and 0 < int(blocked["Retry-After"]) <= 60
    rejected = AuditEvent.objects.filter(action="auth.token_rejected").order_by("seq")[before:]
    assert [e.changes["failures_in_window"] for e in rejected] == [1, 5], "the first, and the limit"
    assert rejected[1].changes["limit_reached"] and rejected[1].changes["source"] == guesser
    # The real agency, from its own address, is not slowed by the guesser.
    real = cast["ncmec"].client
    real.defaults["REMOTE_ADDR"] = elsewhere
    answer = real.get("/api/v1/referrals/")
    assert answer.status_code == 200, (answer.content, guesser, elsewhere)


def test_intake_is_limited_per_account_with_retry_after_and_nothing_half_stored(
    cast: dict[str, Persona], settings: Any
) -> None:
    settings.VIHUB_RATE_INTAKE_ACCOUNT = "3/min"
    agency = cast["ncmec"].client
    agency.defaults["REMOTE_ADDR"] = _address()
    posted = [
        agency.post("/api/v1/referrals/", {"external_id": f"CT-RL-{n}"}, format="json").status_code
        for n in range(4)
    ]
    assert posted == [201, 201, 201, 429]
    assert not Referral.objects.filter(external_id="CT-RL-3").exists()
    # Another agency's account is not affected.
    other = cast["iwf"].client
    other.defaults["REMOTE_ADDR"] = _address()
    assert other.post("/api/v1/referrals/", {"external_id": "IWF-RL-1"}, format="json").status_code == 201


def test_intake_is_limited_per_source_address_across_accounts(
    cast: dict[str, Persona], settings: Any
) -> None:
    settings.VIHUB_RATE_INTAKE_SOURCE = "2/min"
    shared = _address()
    answers = []
    for n, name in enumerate(["ncmec", "iwf", "ncmec"]):
        client = cast[name].client
        client.defaults["REMOTE_ADDR"] = shared
        answers.append(client.post("/api/v1/referrals/", {"external_id": f"SRC-{n}"}, format="json"))
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert "Retry-After" in answers[2]
