"""``Prepared`` lookups (hub.selectors.prepared): compiled once, they answer what the queryset
they were built from answers — the same row, the same related rows already attached, None for
no row — through Django's cursor, inside the caller's transaction."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hub.models import ApiToken, Organisation, Referral, User
from hub.selectors import DEADLINE_STATES
from hub.selectors.prepared import Prepared
from hub.selectors.rows import one_or_none
from hub.services.organisations import hash_token
from tests.conftest import make_persona
from tests.factories import make_referral, make_task

pytestmark = pytest.mark.django_db

RELATED = ("user", "user__membership__organisation__parent")
TOKEN: Prepared[ApiToken] = Prepared(
    lambda token_hash: ApiToken.objects.select_related(*RELATED).filter(token_hash=token_hash), token_hash=str
)


def _fields(obj: Any) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_a_token_comes_back_as_the_queryset_gives_it_with_its_related_rows_attached() -> None:
    persona = make_persona("prepared-kent", "KENT", "officer")
    digest = hash_token(persona.token)
    expected = one_or_none(ApiToken.objects.select_related(*RELATED).filter(token_hash=digest))
    assert expected is not None
    for _ in range(2):  # compiled on the first call, reused on the second
        with CaptureQueriesContext(connection) as queries:
            token = TOKEN.one(token_hash=digest)
            assert token is not None
            membership = token.user.membership
            chain = (token.user, membership, membership.organisation, membership.organisation.parent)
        assert len(queries) == 1, "user, membership, force and region come with the token"
        assert _fields(token) == _fields(expected)
        assert [_fields(o) for o in chain] == [
            _fields(o)
            for o in (
                expected.user,
                expected.user.membership,
                expected.user.membership.organisation,
                expected.user.membership.organisation.parent,
            )
        ]
        assert membership.organisation.code == "KENT" and (
            membership.organisation.parent is not None and membership.organisation.parent.kind == "region"
        )
        assert not token._state.adding and token._state.db == "default"


def test_no_row_is_none_and_a_missing_join_is_none_not_an_error() -> None:
    assert TOKEN.one(token_hash="no such hash") is None
    user = User.objects.create(username="prepared-no-membership")
    token = ApiToken.objects.create(
        user=user, token_hash="h-" + uuid.uuid4().hex, prefix="vih_x", expires_at="2099-01-01T00:00Z"
    )
    found = TOKEN.one(token_hash=token.token_hash)
    assert found is not None and found.user == user
    with pytest.raises(User.membership.RelatedObjectDoesNotExist):
        found.user.membership  # noqa: B018  (the reverse one-to-one: known absent, no query)


def test_values_are_parameters_never_sql() -> None:
    hostile = "x' OR '1'='1"
    assert TOKEN.one(token_hash=hostile) is None
    by_code: Prepared[Organisation] = Prepared(lambda code: Organisation.objects.filter(code=code), code=str)
    assert by_code.one(code="KENT") is not None and by_code.one(code=hostile) is None


def test_it_reads_inside_the_callers_transaction() -> None:
    reference: Prepared[Referral] = Prepared(
        lambda agency_id, external_id: Referral.objects.filter(agency_id=agency_id, external_id=external_id),
        agency_id=uuid.UUID,
        external_id=str,
    )
    agency = Organisation.objects.get(code="NCMEC")
    creator = make_persona("prepared-ncmec", "NCMEC", "agency").user
    with transaction.atomic():
        made = Referral.objects.create(
            agency=agency, external_id="PREP-1", created_by=creator, received_at=timezone.now()
        )
        assert reference.one(agency_id=agency.pk, external_id="PREP-1") == made
        other = Organisation.objects.get(code="IWF")
        assert reference.one(agency_id=other.pk, external_id="PREP-1") is None
        transaction.set_rollback(True)
    assert reference.one(agency_id=agency.pk, external_id="PREP-1") is None


def test_wrong_use_is_refused() -> None:
    with pytest.raises(TypeError, match="str and uuid.UUID"):
        Prepared(lambda n: Organisation.objects.filter(pk=n), n=int)
    with pytest.raises(TypeError, match="must be str"):
        TOKEN.one(token_hash=b"bytes")
    with pytest.raises(TypeError, match="takes"):
        TOKEN.one(hash="x")
    every = Prepared(lambda kind: Organisation.objects.filter(kind=kind), kind=str)
    with pytest.raises(Organisation.MultipleObjectsReturned):
        every.one(kind="force")
    twice = Prepared(
        lambda code: Organisation.objects.filter(code=code) | Organisation.objects.filter(name=code), code=str
    )
    with pytest.raises(ValueError, match="appears 2 times"):
        twice.one(code="KENT")


def _read_twice(
    cast: dict[str, Any], resource: str, readers: dict[str, dict[Any, int]]
) -> list[tuple[str, Any, dict[str, Any]]]:
    """Each reader reads each object twice round (the second time every read is compiled),
    getting the status given; returns (reader, object, body) for every 200."""
    bodies = []
    for _ in range(2):
        for name, expected in readers.items():
            for obj, status in expected.items():
                answer = cast[name].client.get(f"/api/v1/{resource}/{obj.pk}/")
                assert answer.status_code == status, (name, resource, answer.content[:200])
                if status == 200:
                    bodies.append((name, obj, answer.json()))
    return bodies


def test_the_task_read_compiled_for_one_force_never_answers_for_another(cast: dict[str, Any]) -> None:
    """The officer's task read is compiled once per organisation and role: after Kent's read is
    compiled, Essex (same region) still gets 404 for Kent's task and its own task, the region's
    coordinator sees both, and an agency neither."""
    kent, essex = make_task(holder="KENT"), make_task(holder="ESSEX")
    readers = {
        "kent_officer": {kent: 200, essex: 404},
        "essex_officer": {kent: 404, essex: 200},
        "ersou_coordinator": {kent: 200, essex: 200},
        "ncmec": {kent: 404, essex: 404},
    }
    for name, task, body in _read_twice(cast, "tasks", readers):
        assert body["id"] == str(task.pk) and body["assignee_org"] == task.assignee_org.code, name
        assert body["deadline_state"] in DEADLINE_STATES
    for bad in ("00000000-0000-0000-0000-000000000000", "------------------------------------"):
        assert cast["kent_officer"].client.get(f"/api/v1/tasks/{bad}/").status_code == 404


def test_an_agency_read_compiled_for_one_agency_never_answers_for_another(cast: dict[str, Any]) -> None:
    """The pull API an agency polls (``GET /referrals/{id}/``) is compiled once per agency: after
    NCMEC's read is compiled, the IWF still gets 404 for NCMEC's referral; the hub's read (the
    full view, with versions) is unchanged."""
    ncmec, iwf = make_referral(agency="NCMEC"), make_referral(agency="IWF")
    readers = {"ncmec": {ncmec: 200, iwf: 404}, "iwf": {ncmec: 404, iwf: 200}, "coordinator": {ncmec: 200}}
    for name, referral, body in _read_twice(cast, "referrals", readers):
        assert body["id"] == str(referral.pk) and body["external_id"] == referral.external_id
        assert body["outcome"] is None and body["status"] == "received"
        assert ("summary" in body) == (name == "coordinator"), "the agency's view is the narrow one"
    assert ("summary" in body) == (name == "coordinator"), "the agency's view is the narrow one"
    assert (
        cast["ncmec"].client.get("/api/v1/referrals/------------------------------------/").status_code == 404
    )


def test_a_prefetch_is_refused_not_silently_dropped() -> None:
    with_media: Prepared[Referral] = Prepared(
        lambda pk: Referral.objects.prefetch_related("media").filter(pk=pk), pk=uuid.UUID
    )
    with pytest.raises(TypeError, match="prefetch_related"):
        with_media.one(pk=uuid.uuid4())
