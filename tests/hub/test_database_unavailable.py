"""The database going away mid-request (a restart, a failover) answers 503 with Retry-After and
a plain reason, never a 500: a careful client retries (intake with the same external_id makes
one referral; bench/load.py's resilience run restarts PostgreSQL under load to show it)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import RequestFactory

from hub.middleware import server_error
from tests.conftest import make_persona
from tests.factories import make_task

pytestmark = pytest.mark.django_db


def test_an_api_read_while_the_database_is_unreachable_is_a_503_to_retry(monkeypatch: Any) -> None:
    task = make_task(holder="KENT")
    kent = make_persona("kent-db-gone", "KENT", "officer").client
    real = CursorWrapper.execute

    def gone(self: CursorWrapper, sql: str, params: Any = None) -> Any:
        if "hub_task" in sql:
            raise OperationalError("server closed the connection unexpectedly")
        return real(self, sql, params)

    monkeypatch.setattr(CursorWrapper, "execute", gone)
    response = kent.get(f"/api/v1/tasks/{task.pk}/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "database_unavailable"
    assert str(task.referral_id) not in response.content.decode()
    monkeypatch.setattr(CursorWrapper, "execute", real)
    assert kent.get(f"/api/v1/tasks/{task.pk}/").status_code == 200, (
        "and it answers once the database is back"
    )


def test_a_database_failure_before_any_view_is_a_503_and_anything_else_stays_a_500() -> None:
    request = RequestFactory().get("/tasks/")
    try:
        raise OperationalError("terminating connection due to administrator command")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert b"cannot reach its database" in response.content
    try:
        raise ValueError("a bug")
    except ValueError:
        assert server_error(request).status_code == 500
