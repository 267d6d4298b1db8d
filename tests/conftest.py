"""Shared fixtures: the seeded organisation tree, personas for every role, API clients.

The reference organisations are seeded once per session into the test database; tests that
need committed data across connections (concurrency, Celery workers, live servers) use
``committed_db``, which re-seeds and lets the end-of-test flush empty the audit tables (the
suite's own switch, ``tests/audit_guards.py``: production triggers have no way round them).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from django.db import connection
from django.db.models.signals import post_migrate
from rest_framework.test import APIClient

from hub.models import Membership, Organisation, User
from hub.services.deadlines import deadline_policy_ensure_defaults
from hub.services.organisations import api_token_create, membership_set, organisations_seed_reference
from tests.audit_guards import audit_guards, guards_back_after_flush

PASSWORD = "correct-horse-battery-staple"


def pytest_report_header(config: Any) -> list[str]:
    db = os.environ.get("DATABASE_URL", "sqlite (in memory)").split("@")[-1]
    return [f"vihub: database={db} redis={os.environ.get('REDIS_URL', 'none (LocMemCache)')}"]


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """`make test` runs everything on PostgreSQL and Redis. A quick local run on SQLite (no
    DATABASE_URL) leaves out only what needs the real servers, and says so."""
    on_postgres = os.environ.get("DATABASE_URL", "").startswith("postgres")
    has_redis = bool(os.environ.get("REDIS_URL"))
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: run `make test`"))
        if "redis" in item.keywords and not has_redis:
            item.add_marker(pytest.mark.skip(reason="needs Redis: run `make test`"))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> None:
    with django_db_blocker.unblock():
        organisations_seed_reference()
        deadline_policy_ensure_defaults()


@pytest.fixture
def committed_db(transactional_db: Any) -> Iterator[None]:
    """Data really commits (visible to other connections, threads and processes). The Redis
    broker starts empty too, so a worker started by the test does not first chew through jobs
    earlier tests left behind."""
    if redis_url := os.environ.get("REDIS_URL"):
        redis.Redis.from_url(redis_url).flushdb()
    organisations_seed_reference()
    deadline_policy_ensure_defaults()
    yield
    # Let pytest-django's flush, next, empty the append-only audit tables; the guards are back
    # on as soon as it ends (post_migrate).
    audit_guards(connection, enabled=False)


post_migrate.connect(guards_back_after_flush, dispatch_uid="vihub-audit-guards-back")


def wait_for(predicate: Callable[[], object], timeout: float = 20.0) -> bool:
    """Poll ``predicate`` until it holds (True) or ``timeout`` seconds pass (False): for work a
    real Celery worker or server does in the background."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def org(code: str) -> Organisation:
    return Organisation.objects.get(code=code)


@dataclass
class Persona:
    user: User
    token: str
    client: APIClient
    role: str
    org_code: str


def make_persona(username: str, org_code: str, role: str) -> Persona:
    membership: Membership = membership_set(
        username=username, org_code=org_code, role=role, actor=None, password=PASSWORD
    )
    _, raw = api_token_create(user=membership.user, actor=None, expires_days=1)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return Persona(user=membership.user, token=raw, client=client, role=role, org_code=org_code)


# The cast: one persona per role, plus an outsider force in another region.
CAST = {
    "coordinator": ("NCA", "coordinator"),
    "auditor": ("NCA", "auditor"),
    "ncmec": ("NCMEC", "agency"),
    "iwf": ("IWF", "agency"),
    "kent_officer": ("KENT", "officer"),
    "kent_supervisor": ("KENT", "supervisor"),
    "essex_officer": ("ESSEX", "officer"),  # same region as Kent (ERSOU), other force
    "ersou_coordinator": ("ERSOU", "regional_coordinator"),
    "gmp_officer": ("GMP", "officer"),  # another region (TITAN)
    "titan_coordinator": ("TITAN", "regional_coordinator"),
    "administrator": ("NCA", "administrator"),  # accounts, tokens, contacts, policy; no case
}


@pytest.fixture
def cast(db: Any) -> dict[str, Persona]:
    return {name: make_persona(name, code, role) for name, (code, role) in CAST.items()}


@pytest.fixture
def anon() -> APIClient:
    return APIClient()
