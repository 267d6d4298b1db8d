"""Finding things (issue 17): the agency's reference finds a referral or task on the triage
queue, the board and the audit trail; the board sorts; the hub's "ready to close" queue; the audit
trail names references, in the page and in the export."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from hub.models import AuditEvent, Organisation, Referral
from safeguarding.services import outcome_record
from tests.conftest import Persona
from tests.factories import acting, make_referral, make_task
from tests.web import Client

pytestmark = pytest.mark.django_db


def web(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


def _named(task: Any, reference: str) -> Any:
    Referral.objects.filter(pk=task.referral_id).update(external_id=reference)
    task.referral.refresh_from_db()
    return task


def test_the_triage_queue_finds_a_referral_by_its_reference_and_lists_those_ready_to_close(
    cast: dict[str, Persona],
) -> None:
    waiting = make_referral(external_id="CT-2025-004105")
    make_referral(external_id="CT-2025-009999")
    hub = web(cast["coordinator"])
    found = hub.get("/triage/", {"q": "CT-2025-0041"}).content.decode()
    assert "CT-2025-004105" in found and "CT-2025-009999" not in found
    by_id = hub.get("/triage/", {"q": str(waiting.pk)}).content.decode()
    assert "CT-2025-004105" in by_id and "CT-2025-009999" not in by_id
    assert "No referral matches" in hub.get("/triage/", {"q": "NOPE-1"}).content.decode()
    task = _named(make_task(accepted=True), "CT-2025-007777")
    outcome_record(
        referral=task.referral, actor=acting("KENT"), justice_outcome="outcome_21",
        safeguarding_outcome="no_child_at_risk", arrests=0, children_safeguarded=0, victims_identified=0,
    )  # fmt: skip
    ready = hub.get("/triage/", {"show": "ready"}).content.decode()
    assert "CT-2025-007777" in ready and "CT-2025-004105" not in ready
    assert 'data-tab="ready"' in ready and ">Close<" in ready


def test_the_board_finds_by_reference_and_sorts_by_a_column(cast: dict[str, Persona]) -> None:
    kent = _named(make_task(), "CT-B-0002")
    gmp = _named(make_task(holder="GMP"), "CT-B-0001")
    _named(make_task(holder="ESSEX"), "IWF-OTHER")
    hub = web(cast["coordinator"])
    found = hub.get("/board/", {"q": "CT-B-"}).content.decode()
    assert f'data-task="{kent.pk}"' in found and f'data-task="{gmp.pk}"' in found and "IWF-OTHER" not in found
    by_holder = hub.get("/board/", {"q": "CT-B-", "sort": "holder"}).content.decode()
    assert by_holder.index(f'data-task="{gmp.pk}"') < by_holder.index(f'data-task="{kent.pk}"'), (
        "Greater Manchester before Kent"
    )
    assert 'aria-sort="ascending"' in by_holder
    assert hub.get("/board/", {"sort": "shoe-size"}).status_code == 400


def test_the_audit_trail_finds_a_referral_by_reference_and_names_it_in_the_page_and_export(
    cast: dict[str, Persona],
) -> None:
    task = _named(make_task(), "CT-AUDIT-0001")
    make_task()
    auditor = web(cast["auditor"])
    page = auditor.get("/audit/", {"reference": "CT-AUDIT"}).content.decode()
    assert "data-reference>NCMEC CT-AUDIT-0001</span>" in page
    assert page.count("data-reference>") == page.count('<tr data-seq="'), "only that referral's events"
    export = auditor.get(
        "/audit/export/", {"reference": "CT-AUDIT-0001", "format": "csv", "purpose": "Inspection"}
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))  # type: ignore[attr-defined]
    assert rows and {row["referral_reference"] for row in rows} == {"NCMEC CT-AUDIT-0001"}
    assert {row["referral_id"] for row in rows} == {str(task.referral_id)}


def test_a_timeline_shows_changes_only_when_asked(cast: dict[str, Persona]) -> None:
    task = make_task()
    officer, auditor = web(cast["kent_officer"]), web(cast["auditor"])
    for _ in range(3):
        officer.get(f"/tasks/{task.pk}/")  # reads
    everything = auditor.get(f"/audit/tasks/{task.pk}/").content.decode()
    changes = auditor.get(f"/audit/tasks/{task.pk}/", {"show": "changes"}).content.decode()
    assert 'data-action="task.viewed"' in everything and 'data-action="task.viewed"' not in changes
    assert 'data-action="task.allocated"' in changes, "every change stays"


def test_form_messages_name_the_field_and_say_what_to_do(cast: dict[str, Persona]) -> None:
    """Issue 17 "Words": no stock Django message that names no field."""
    task = make_task(accepted=True)
    officer = web(cast["kent_officer"])
    refused = officer.post(
        f"/tasks/{task.pk}/leads/", {"kind": "shoes", "description": "x" * 10001}
    ).content.decode()
    assert "Kind of lead: choose one of the options offered." in refused
    assert "Description: keep it to 10000 characters (it has 10001)." in refused
    assert "Ensure this value" not in refused and "Select a valid choice" not in refused
    counted = officer.post(
        f"/tasks/{task.pk}/safeguarding/",
        {"action": "safe_and_well_check", "children_identified": "-1", "children_safeguarded": "20000"},
    ).content.decode()
    assert "Children identified: enter 0 or more." in counted
    assert "Children safeguarded: enter at most 10,000." in counted


def test_inbox_items_name_the_case_by_its_reference(cast: dict[str, Persona]) -> None:
    _named(make_task(), "CT-INBOX-0001")
    html = web(cast["kent_officer"]).get("/inbox/").content.decode()
    assert "<span data-reference>NCMEC CT-INBOX-0001</span>" in html, "the task's reference, not just a link"
    assert 'class="badge info">Task allocated<' in html, "kinds read as words"


def test_the_triage_queue_sorts_by_a_column_and_refuses_an_unknown_one(cast: dict[str, Persona]) -> None:
    older = make_referral(external_id="CT-SORT-OLD")
    newer = make_referral(external_id="CT-SORT-NEW")
    Referral.objects.filter(pk=older.pk).update(received_at=newer.received_at.replace(year=2024))
    hub = web(cast["coordinator"])
    by_received = hub.get("/triage/", {"sort": "-received"}).content.decode()
    assert by_received.index("CT-SORT-NEW") < by_received.index("CT-SORT-OLD")
    assert 'aria-sort="descending"' in by_received
    oldest_first = hub.get("/triage/", {"sort": "received"}).content.decode()
    assert oldest_first.index("CT-SORT-OLD") < oldest_first.index("CT-SORT-NEW")
    refused = hub.get("/triage/", {"sort": "shoe-size"})
    assert refused.status_code == 400 and b"Sort: choose one of the column headings." in refused.content


def test_the_audit_trail_sorts_by_who_and_by_action_and_pages_on_in_that_order(
    cast: dict[str, Persona], monkeypatch: pytest.MonkeyPatch
) -> None:
    from hub.constants import AuditAction
    from hub.services.audit import audit_record
    from hub.web.views import audit as audit_views

    monkeypatch.setattr(audit_views, "PAGE_SIZE", 4)
    people = [cast["kent_officer"].user, cast["coordinator"].user, cast["auditor"].user]
    actions = [AuditAction.REFERRAL_VIEWED, AuditAction.TASK_VIEWED, AuditAction.AUDIT_EXPORTED,
               AuditAction.TASK_ACCEPTED]  # fmt: skip
    for n in range(9):
        audit_record(actor=people[n % 3], action=actions[n % 4], object_type="test", object_id=str(n))
    auditor = web(cast["auditor"])
    query = {"action": ""}
    head = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()

    def walk(sort: str) -> list[tuple[str, str, int]]:
        rows: list[tuple[str, str, int]] = []
        params: dict[str, str] = {**query, "sort": sort}
        for _ in range(50):
            answer = auditor.get("/audit/", params)
            assert answer.status_code == 200
            html = answer.content.decode()
            table = html.split('id="audit-table"', 1)[1].split("</table>", 1)[0]
            for chunk in table.split('<tr data-seq="')[1:]:
                seq, rest = chunk.split('"', 1)
                action = rest.split('data-action="', 1)[1].split('"', 1)[0]
                who = rest.split('<span class="primary">', 1)[1].split("<", 1)[0]
                rows.append((who, action, int(seq)))
            if '<nav class="pager"' not in html:
                break
            link = html.split('<nav class="pager"', 1)[1].split('href="?', 1)[1].split('"', 1)[0]
            params = dict(pair.split("=", 1) for pair in link.replace("&amp;", "&").split("&"))
        # The walk's own searches are on the trail too (after ``head``): leave them out.
        return [row for row in rows if row[2] <= head]

    newest = walk("")
    assert [seq for *_, seq in newest] == sorted((seq for *_, seq in newest), reverse=True)
    for sort, key, reverse in (
        ("actor", 0, False),
        ("-actor", 0, True),
        ("action", 1, False),
        ("-action", 1, True),
    ):
        rows = walk(sort)
        assert sorted(rows, key=lambda r: r[2]) == sorted(newest, key=lambda r: r[2]), (
            f"{sort}: every event once"
        )
        keys = [row[key] for row in rows]
        assert keys == sorted(keys, reverse=reverse), sort
        for a, b in zip(rows, rows[1:], strict=False):
            if a[key] == b[key]:
                assert a[2] > b[2], f"{sort}: newest first within the same {('who', 'action')[key]}"
    page = auditor.get("/audit/", {"sort": "actor"}).content.decode()
    assert 'aria-sort="ascending"><a href="?&amp;sort=-actor" data-sort="actor">Who</a>' in page
    assert auditor.get("/audit/", {"sort": "shoe-size"}).status_code == 400


def test_a_person_is_named_one_way_everywhere_with_their_organisation(cast: dict[str, Persona]) -> None:
    officer = cast["kent_officer"].user
    officer.first_name, officer.last_name = "Sam", "Fletcher"
    officer.save(update_fields=["first_name", "last_name"])
    task = make_task(accepted=True)
    named = "Sam Fletcher (KENT)"
    board = web(cast["coordinator"]).get("/board/").content.decode()
    assert f"by {named}" in board
    task_page = web(cast["kent_officer"]).get(f"/tasks/{task.pk}/").content.decode()
    assert f"by {named}</strong>" in task_page
    outcome_record(
        referral=task.referral, actor=acting("KENT"), justice_outcome="outcome_21",
        safeguarding_outcome="no_child_at_risk", arrests=0, children_safeguarded=0, victims_identified=0,
    )  # fmt: skip
    panel = web(cast["kent_officer"]).get(f"/tasks/{task.pk}/outcome/").content.decode()
    assert "(KENT)</dd>" in panel and "Kent Police)" not in panel


def test_a_force_s_tasks_and_an_agency_s_referrals_are_found_by_reference(cast: dict[str, Persona]) -> None:
    mine = _named(make_task(holder="KENT"), "CT-2025-004105")
    _named(make_task(holder="KENT"), "CT-2025-009999")
    officer = web(cast["kent_officer"])
    page = officer.get("/tasks/", {"q": "CT-2025-0041"}).content.decode()
    found = page.split('id="task-table"', 1)[1].split("</table>", 1)[0]  # not the inbox beside it
    assert "CT-2025-004105" in found and "CT-2025-009999" not in found
    assert "CT-2025-004105" in officer.get("/tasks/", {"q": str(mine.pk)}).content.decode()
    assert "No task matches" in officer.get("/tasks/", {"q": "NOPE"}).content.decode()
    agency = web(cast["ncmec"])
    theirs = agency.get("/agency/", {"q": "CT-2025-0041"}).content.decode()
    assert "CT-2025-004105" in theirs and "CT-2025-009999" not in theirs
    assert "No referral matches" in agency.get("/agency/", {"q": "NOPE"}).content.decode()


def test_the_inbox_conferences_and_hand_offs_are_searchable_too(cast: dict[str, Persona]) -> None:
    from spokes.models import ConferenceRequest
    from spokes.services import child_add, handoff_offer

    wanted = _named(make_task(holder="KENT", accepted=True), "CT-2025-004105")
    other = _named(make_task(holder="KENT", accepted=True), "CT-2025-009999")
    officer = web(cast["kent_officer"])
    inbox = officer.get("/inbox/", {"q": "CT-2025-0041"}).content.decode()
    listed = inbox.split('id="inbox-list"', 1)[1].split("</ul>", 1)[0]
    assert "CT-2025-004105" in listed and "CT-2025-009999" not in listed
    assert "No message matches" in officer.get("/inbox/", {"q": "NOPE"}).content.decode()
    for task in (wanted, other):
        ConferenceRequest.objects.create(
            task=task, requested_by=cast["kent_officer"].user, note="shared media"
        )
    hub = web(cast["coordinator"])
    conferences = hub.get("/conferences/", {"q": "CT-2025-0041"}).content.decode()
    assert conferences.count('data-conference="') == 1 and "CT-2025-004105" in conferences
    kid = child_add(task=wanted, actor=acting("KENT"), reference="K-CHILD-7", relation="reachable")
    child_add(task=other, actor=acting("KENT"), reference="K-OTHER-1", relation="reachable")
    handoff_offer(child=kid, actor=acting("KENT"), to_org=Organisation.objects.get(code="ESSEX"))
    essex = web(cast["essex_officer"])
    found = essex.get("/handoffs/", {"q": "K-CHILD"}).content.decode()
    assert found.count('data-handoff="') == 1
    # The receiver sees only the child: the case's reference finds nothing for it.
    assert essex.get("/handoffs/", {"q": "CT-2025-0041"}).content.decode().count('data-handoff="') == 0
