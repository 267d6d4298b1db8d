"""The anonymised research extract (issue 16): nothing that names or points at a person or a
case, and its release is a disclosure on the audit trail."""

from __future__ import annotations

import csv
import io

import pytest

from hub.models import AuditEvent, Referral
from safeguarding.services import outcome_record
from tests.conftest import Persona
from tests.factories import acting, make_task

pytestmark = pytest.mark.django_db

APPROVAL = {"recipient": "University of Kent study team", "approval": "REC 24/0042: attrition after referral"}


def test_the_extract_has_no_names_no_free_text_and_no_ids_and_is_audited_as_a_disclosure(
    cast: dict[str, Persona],
) -> None:
    task = make_task(accepted=True)
    Referral.objects.filter(pk=task.referral_id).update(summary="Suspect John Smith, 12 Acacia Avenue")
    outcome_record(
        referral=task.referral, actor=acting("KENT"), justice_outcome="charge_summons",
        safeguarding_outcome="child_safeguarded", arrests=1, children_safeguarded=2, victims_identified=1,
        summary="Charged; Amy (9) safe with her aunt.",
    )  # fmt: skip
    answer = cast["coordinator"].client.get("/api/v1/reports/research/", APPROVAL)
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    body = answer.content.decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 1
    row = rows[0]
    for secret in (
        "John Smith",
        "Acacia",
        "Amy",
        str(task.referral_id),
        str(task.pk),
        task.referral.external_id,
    ):
        assert secret not in body, secret
    assert row["holder_region"] == "ERSOU" and "KENT" not in body  # the region, never the force
    assert len(row["received_month"]) == 7 and row["received_month"].count("-") == 1  # YYYY-MM
    assert row["justice_outcome"] == "charge_summons" and row["children_safeguarded"] == "2"
    again = list(csv.DictReader(io.StringIO(cast["coordinator"].client.get(
        "/api/v1/reports/research/", APPROVAL).content.decode())))  # fmt: skip
    assert again[0]["case"] != row["case"], "two extracts cannot be linked to each other"
    disclosed = AuditEvent.objects.filter(action="research.exported").order_by("seq")
    assert disclosed.count() == 2 and disclosed[0].recipient == APPROVAL["recipient"]
    assert disclosed[0].justification == APPROVAL["approval"] and disclosed[0].changes["rows"] == 1


def test_the_extract_needs_a_recipient_and_an_approval_and_only_the_hub_releases_it(
    cast: dict[str, Persona],
) -> None:
    make_task(accepted=True)
    hub = cast["coordinator"].client
    missing = hub.get("/api/v1/reports/research/", {"recipient": "Team"})
    assert missing.status_code == 400 and "approval" in str(missing.json())
    assert not AuditEvent.objects.filter(action="research.exported").exists()
    assert cast["auditor"].client.get("/api/v1/reports/research/", APPROVAL).status_code == 403
    assert cast["kent_officer"].client.get("/api/v1/reports/research/", APPROVAL).status_code == 403
