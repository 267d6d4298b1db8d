"""Media matching (issue 13): real PDQ hashes of generated images, exact matches across agencies,
known sets (import, known victim, first generation) and a force's view showing only a count."""

from __future__ import annotations

import io
import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from hub.models import AuditEvent, KnownHash, MediaMatch, Notification, PdqEntry, Referral
from hub.services.matching import pdq_search, referral_match_media
from tests.conftest import Persona
from tests.factories import make_task
from tests.media import cropped, distance, pdq_hex, picture, reencoded, rotated
from tests.web import Client

pytestmark = pytest.mark.django_db


def _post(persona: Persona, external_id: str, media: list[dict[str, object]]) -> Referral:
    response = persona.client.post(
        "/api/v1/referrals/",
        {"external_id": external_id, "summary": "Upload flagged", "suspect_force": "KENT", "media": media},
        format="json",
    )
    assert response.status_code == 201, response.json()
    referral = Referral.objects.get(pk=response.json()["id"])
    referral_match_media(referral=referral)  # what the Celery job does after commit
    return Referral.objects.get(pk=referral.pk)


def _sha(n: int) -> str:
    return f"{n:064x}"


def test_real_pdq_hashes_of_an_edited_image_match_and_an_unrelated_one_does_not(
    cast: dict[str, Persona],
) -> None:
    original = picture(7)
    edits = {
        "rotated": rotated(original, 1),
        "cropped": cropped(original, 0.015),
        "jpeg": reencoded(original, 30),
    }
    hashes = {name: pdq_hex(img) for name, img in edits.items()}
    base = pdq_hex(original)
    for name, value in hashes.items():
        assert distance(base, value) <= 31, name
    unrelated = pdq_hex(picture(9001))
    assert distance(base, unrelated) > 64
    first = _post(cast["ncmec"], "CT-PDQ-1", [{"sha256": _sha(1), "pdq": base}])
    later = _post(cast["iwf"], "IWF-PDQ-2", [{"sha256": _sha(2), "pdq": hashes["rotated"]},
                                              {"sha256": _sha(3), "pdq": hashes["cropped"]},
                                              {"sha256": _sha(4), "pdq": unrelated}])  # fmt: skip
    matches = cast["coordinator"].client.get(f"/api/v1/referrals/{later.pk}/matches/").json()["results"]
    near = sorted((m["referral"], m["hash_type"], m["match"]) for m in matches)
    assert near == [(str(first.pk), "pdq", "near")] * 2, "rotated and cropped match; unrelated does not"
    assert all(0 < m["distance"] <= 31 for m in matches)
    back = cast["coordinator"].client.get(f"/api/v1/referrals/{first.pk}/matches/").json()["results"]
    assert {m["referral"] for m in back} == {str(later.pk)}, "the earlier referral sees the later one"
    assert {m["referral_external_id"] for m in back} == {"IWF:IWF-PDQ-2"}


def test_an_exact_hash_across_agencies_links_the_cases_and_tells_the_hub_once(
    cast: dict[str, Persona],
) -> None:
    task = make_task()  # NCMEC's referral, held by Kent, whose media is "a" * 64
    later = _post(cast["iwf"], "IWF-0001", [{"sha256": "a" * 64, "md5": "b" * 32}])
    rows = cast["coordinator"].client.get(f"/api/v1/referrals/{later.pk}/matches/").json()["results"]
    assert [(r["referral"], r["hash_type"], r["match"], r["distance"], r["holders"]) for r in rows] == [
        (str(task.referral_id), "sha256", "exact", 0, ["KENT"])
    ]
    told = Notification.objects.filter(kind="media_match", recipient=cast["coordinator"].user)
    assert told.count() == 1 and told[0].referral_id == later.pk
    again = referral_match_media(referral=later)  # a redelivered job
    assert again.new == [] and told.count() == 1, "idempotent: nothing new, nobody told twice"
    assert MediaMatch.objects.count() == 1
    audited = AuditEvent.objects.filter(action="media.matched", object_id=later.pk).order_by("seq")
    assert [len(e.changes["new"]) for e in audited] == [1, 0]
    # Matching the earlier referral again (on demand) stores the pair once, on the later one.
    redo = cast["coordinator"].client.post(f"/api/v1/referrals/{task.referral_id}/matches/")
    assert redo.status_code == 200 and len(redo.json()["results"]) == 1
    assert MediaMatch.objects.count() == 1


def test_a_force_sees_only_a_count_never_the_other_referral(cast: dict[str, Persona]) -> None:
    task = make_task(accepted=True)
    _post(cast["iwf"], "IWF-0002", [{"sha256": "a" * 64}])
    kent = cast["kent_officer"].client
    shown = kent.get(f"/api/v1/tasks/{task.pk}/").json()
    assert shown["media_matches"] == 1
    assert kent.get(f"/api/v1/referrals/{task.referral_id}/matches/").status_code == 403
    page = Client()
    page.force_login(cast["kent_officer"].user)
    html = page.get(f"/tasks/{task.pk}/").content.decode()
    assert 'data-media-matches="1"' in html and "IWF-0002" not in html
    assert (
        cast["ncmec"].client.get(f"/api/v1/referrals/{task.referral_id}/").json().get("media_matches") is None
    )


def test_import_hashset_is_idempotent_and_a_bad_line_stores_nothing(tmp_path: Path) -> None:
    good = tmp_path / "caid.jsonl"
    good.write_text(
        json.dumps({"sha256": "C" * 64, "victim_identified": True, "series": "Series-7"}) + "\n"
        + json.dumps({"md5": "d" * 32}) + "\n\n"
        + json.dumps({"pdq": pdq_hex(picture(3)), "victim_identified": False}) + "\n"
    )  # fmt: skip
    out = io.StringIO()
    call_command("import_hashset", str(good), "--source", "CAID", stdout=out)
    assert "3 lines, 3 new" in out.getvalue()
    assert KnownHash.objects.get(hash_type="sha256").value == "c" * 64, "stored lower-case"
    assert PdqEntry.objects.filter(known__isnull=False).count() == 1
    out = io.StringIO()
    call_command("import_hashset", str(good), "--source", "CAID", stdout=out)
    assert "0 new, 0 updated, 3 unchanged" in out.getvalue() and KnownHash.objects.count() == 3
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({"sha256": "e" * 64}) + "\n" + "{not json\n" + json.dumps({"pdq": "xyz"}) + "\n"
    )
    with pytest.raises(CommandError) as refused:
        call_command("import_hashset", str(bad), "--source", "VICS", stdout=io.StringIO())
    assert "line 2: not JSON" in str(refused.value) and "line 3: pdq must be 64 hex digits" in str(
        refused.value
    )
    assert not KnownHash.objects.filter(value="e" * 64).exists(), "nothing of a bad file is stored"
    assert AuditEvent.objects.filter(action="hashset.imported").count() == 2


def test_a_known_victim_is_said_and_first_generation_material_goes_first(
    cast: dict[str, Persona], tmp_path: Path
) -> None:
    known_picture = pdq_hex(picture(11))
    caid = tmp_path / "known.jsonl"
    caid.write_text(json.dumps({"pdq": known_picture, "victim_identified": True, "series": "S-1"}) + "\n")
    call_command("import_hashset", str(caid), "--source", "CAID", stdout=io.StringIO())
    older = _post(cast["ncmec"], "CT-OLD", [{"sha256": _sha(20)}])
    known = _post(cast["ncmec"], "CT-KNOWN", [{"sha256": _sha(21), "pdq": pdq_hex(reencoded(picture(11))),
                                                 "first_generation": True}])  # fmt: skip
    assert known.is_known_victim and not known.is_first_generation, "a known set has it: not new abuse"
    rows = cast["coordinator"].client.get(f"/api/v1/referrals/{known.pk}/matches/").json()["results"]
    assert [(r["source"], r["victim_identified"], r["series"]) for r in rows] == [("CAID", True, "S-1")]
    assert not Notification.objects.filter(kind="first_generation").exists()
    new_abuse = _post(cast["iwf"], "IWF-NEW", [{"sha256": _sha(22), "pdq": pdq_hex(picture(12)),
                                                  "first_generation": True, "category": "A"}])  # fmt: skip
    assert new_abuse.is_first_generation
    told = Notification.objects.filter(kind="first_generation", recipient=cast["coordinator"].user)
    assert told.count() == 1 and told[0].referral_id == new_abuse.pk
    page = Client()
    page.force_login(cast["coordinator"].user)
    queue = page.get("/triage/").content.decode()
    assert queue.index("IWF-NEW") < queue.index("CT-OLD"), "first-generation material is first in line"
    html = page.get(f"/referrals/{known.pk}/").content.decode()
    assert "Known victim already identified" in html and 'data-match-source="CAID"' in html
    assert older.media_match_count == 0


def test_the_pdq_index_finds_exactly_what_a_brute_force_scan_finds() -> None:
    """Recall 100% at distance <= 31: random hashes plus planted neighbours at 1..31 bits."""
    rng = random.Random(5)
    task = make_task()
    media = task.referral.media.first()
    assert media is not None
    hashes = [rng.getrandbits(256) for _ in range(300)]
    query = hashes[0]
    for bits in (1, 8, 15, 16, 17, 24, 31, 32, 40):
        flipped = query
        for position in rng.sample(range(256), bits):
            flipped ^= 1 << position
        hashes.append(flipped)
    PdqEntry.objects.bulk_create([
        PdqEntry(pdq=f"{h:064x}", media=media, **{f"s{i}": (h >> (240 - 16 * i)) & 0xFFFF for i in range(16)})
        for h in hashes
    ])  # fmt: skip
    found = sorted(hit.distance for hit in pdq_search(f"{query:064x}"))
    brute = sorted(d for d in ((h ^ query).bit_count() for h in hashes) if d <= 31)
    assert found == brute and found[:1] == [0] and 31 in found and 32 not in found


def test_a_force_asks_for_a_conference_and_the_hub_introduces_both_holders(cast: dict[str, Persona]) -> None:
    lone = make_task(accepted=True)
    Referral.objects.filter(pk=lone.referral_id).update(media_match_count=0)
    kent = cast["kent_officer"].client
    none = kent.post(f"/api/v1/tasks/{lone.pk}/conference/", {}, format="json")
    assert none.status_code == 409 and none.json()["code"] == "no_matches"
    task = make_task(accepted=True)
    gmp_task = make_task(holder="GMP", agency="IWF")  # the same media hash ("a" * 64)
    referral_match_media(referral=gmp_task.referral)
    asked = kent.post(
        f"/api/v1/tasks/{task.pk}/conference/", {"note": "Same bedroom as ours?"}, format="json"
    )
    assert asked.status_code == 201, asked.json()
    assert kent.post(f"/api/v1/tasks/{task.pk}/conference/", {}, format="json").status_code == 409, (
        "one waiting"
    )
    hub_told = Notification.objects.get(kind="conference_requested", recipient=cast["coordinator"].user)
    assert "KENT asks for a deconfliction conference" in hub_told.subject
    request_id = asked.json()["id"]
    hub = cast["coordinator"].client
    assert hub.post(f"/api/v1/conference-requests/{request_id}/refuse/", {}, format="json").status_code == 400
    assert kent.post(f"/api/v1/conference-requests/{request_id}/grant/", {}, format="json").status_code == 403
    granted = hub.post(f"/api/v1/conference-requests/{request_id}/grant/", {"reason": "Call at 10:00"},
                       format="json")  # fmt: skip
    assert granted.status_code == 200 and granted.json()["status"] == "granted"
    to_kent = Notification.objects.get(kind="conference_granted", recipient=cast["kent_officer"].user)
    to_gmp = Notification.objects.get(kind="conference_granted", recipient=cast["gmp_officer"].user)
    assert "Greater Manchester" in to_kent.body and "Kent Police" in to_gmp.subject
    audited = AuditEvent.objects.get(action="conference.granted", object_id=request_id)
    assert audited.changes["introduced"] == ["GMP"] and audited.recipient == "KENT,GMP"
    assert [r["id"] for r in cast["gmp_officer"].client.get("/api/v1/conference-requests/").json()] == []
    assert [r["id"] for r in kent.get("/api/v1/conference-requests/").json()] == [request_id]


def test_an_officer_marks_media_reviewed_on_the_task_once_with_the_category(cast: dict[str, Persona]) -> None:
    task = make_task(accepted=True)
    kent = cast["kent_officer"].client
    url = f"/api/v1/tasks/{task.pk}/media/"
    before = kent.get(url).json()
    assert [(m["sha256"], m["reviewed"]) for m in before] == [("a" * 64, None)]
    assert kent.post(url, {"sha256": "f" * 64}, format="json").status_code == 400, "not this referral's"
    done = kent.post(url, {"sha256": "A" * 64, "category": "B"}, format="json")
    assert done.status_code == 201 and done.json()["category"] == "B"
    again = kent.post(url, {"sha256": "a" * 64}, format="json")
    assert again.status_code == 409 and "Already reviewed by" in again.json()["detail"]
    after = cast["ersou_coordinator"].client.get(url).json()
    assert after[0]["reviewed"]["by"] == "kent_officer" and after[0]["reviewed"]["category"] == "B"
    page = Client()
    page.force_login(cast["kent_officer"].user)
    html = page.get(f"/tasks/{task.pk}/").content.decode()
    assert f'data-media="{"a" * 64}" data-reviewed="yes"' in html
    counted = kent.get("/api/v1/exposure/").json()
    assert counted["items_reviewed"] == 1, "reviewed items are counted with the day's exposure"
    team = cast["kent_supervisor"].client.get("/api/v1/exposure/team/").json()
    assert {row["person"]: row["items_reviewed_today"] for row in team}["kent_officer"] == 1


def test_the_match_job_runs_after_intake_and_the_sweep_finds_one_that_was_lost(
    cast: dict[str, Persona], django_capture_on_commit_callbacks: Any
) -> None:
    from hub.services.matching import referrals_unmatched
    from hub.tasks import media_match_job

    earlier = make_task()  # media "a" * 64, never matched: no worker ran in this test
    with django_capture_on_commit_callbacks() as callbacks:
        response = cast["iwf"].client.post(
            "/api/v1/referrals/", {"external_id": "IWF-LOST", "media": [{"sha256": "a" * 64}]}, format="json"
        )
    assert response.status_code == 201
    assert callbacks, "the match job is enqueued after the referral commits"
    referral = Referral.objects.get(pk=response.json()["id"])
    assert referral.matched_at is None
    assert referrals_unmatched() == [], "not yet: the job has a minute"
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert set(referrals_unmatched()) == {str(referral.pk), str(earlier.referral_id)}, (
            "lost jobs are found"
        )
    assert media_match_job(str(referral.pk)) == 1
    assert media_match_job(str(referral.pk)) == 0, "a redelivery finds nothing new"
    assert Referral.objects.get(pk=referral.pk).matched_at is not None
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert referrals_unmatched() == [str(earlier.referral_id)]
