"""Media matching: every media item of a referral against every other referral's media and every
known-media set, exact on SHA-256 and MD5, near-duplicate on PDQ within Hamming distance 31
(the multi-index in ``hub.models.media``). Run by a Celery job after the referral commits (and
again by the sweep if that job was lost), or on demand by the hub; idempotent, and audited."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q

from hub.clock import db_now
from hub.constants import AuditAction
from hub.models import (
    PDQ_MATCH_DISTANCE,
    HashType,
    KnownHash,
    MediaHash,
    MediaMatch,
    PdqEntry,
    Referral,
    Task,
    User,
    pdq_slices,
)
from hub.policies.rules import Act, authorize
from hub.services.alerts import notify_hub
from hub.services.audit import audit_record

SLICE_BITS = 16


def _neighbours(value: int) -> list[int]:
    """A 16-bit slice and its 16 one-bit neighbours."""
    return [value, *(value ^ (1 << bit) for bit in range(SLICE_BITS))]


@dataclass(frozen=True)
class PdqHit:
    entry_id: int
    pdq: str
    media_id: int | None
    known_id: int | None
    distance: int


def pdq_search(pdq_hex: str, *, max_distance: int = PDQ_MATCH_DISTANCE) -> list[PdqHit]:
    """Every indexed PDQ hash within ``max_distance`` of ``pdq_hex`` (exact recall up to 31): the
    candidates share a slice within one bit (272 indexed keys), then the full distance decides."""
    if max_distance > PDQ_MATCH_DISTANCE:
        raise ValueError("the 16-slice index is exact only up to distance 31")
    condition = Q()
    for i, value in enumerate(pdq_slices(pdq_hex)):
        condition |= Q(**{f"s{i}__in": _neighbours(value)})
    target = int(pdq_hex, 16)
    hits = []
    for entry_id, pdq, media_id, known_id in PdqEntry.objects.filter(condition).values_list(
        "id", "pdq", "media_id", "known_id"
    ):
        distance = (int(pdq, 16) ^ target).bit_count()
        if distance <= max_distance:
            hits.append(PdqHit(entry_id, pdq, media_id, known_id, distance))
    return hits


@dataclass
class MatchResult:
    referral: Referral
    new: list[MediaMatch] = field(default_factory=list)
    total: int = 0


def _later(a: Referral, b: Referral) -> bool:
    return (a.created_at, str(a.pk)) > (b.created_at, str(b.pk))


def _pair(
    referral: Referral, mine: MediaHash, other: MediaHash, hash_type: str, distance: int
) -> tuple[MediaMatch, bool]:
    """One match between two referrals, stored on the later one (whichever job finds it)."""
    kind = MediaMatch.Kind.EXACT if distance == 0 else MediaMatch.Kind.NEAR
    if _later(referral, other.referral):
        holder, item, other_ref, other_item = referral, mine, other.referral, other
    else:
        holder, item, other_ref, other_item = other.referral, other, referral, mine
    return MediaMatch.objects.get_or_create(
        media=item,
        other_media=other_item,
        hash_type=hash_type,
        defaults={"referral": holder, "other_referral": other_ref, "match": kind, "distance": distance},
    )


def _known(
    referral: Referral, mine: MediaHash, known: KnownHash, hash_type: str, distance: int
) -> tuple[MediaMatch, bool]:
    kind = MediaMatch.Kind.EXACT if distance == 0 else MediaMatch.Kind.NEAR
    return MediaMatch.objects.get_or_create(
        media=mine,
        known=known,
        defaults={"referral": referral, "hash_type": hash_type, "match": kind, "distance": distance},
    )


def _matches_of(referral: Referral) -> Q:
    return Q(referral=referral) | Q(other_referral=referral)


@transaction.atomic
def referral_match_media(*, referral: Referral, actor: User | None = None) -> MatchResult:
    """Match the referral's media; store what is new, set the known-victim and first-generation
    flags, tell the hub of a new match with another referral (``media_match``) and of new
    first-generation material no known set has (``first_generation``). Run twice, it finds the
    same matches and tells nobody again."""
    referral = (
        Referral.objects.select_for_update(no_key=True, of=("self",))
        .select_related("agency")
        .get(pk=referral.pk)
    )
    if actor is not None:
        authorize(actor, Act.MATCH_RUN, referral)
    result = MatchResult(referral)
    known_hit_items: set[int] = set()
    touched: set[Any] = set()
    for item in referral.media.all():
        found: list[tuple[MediaMatch, bool]] = []
        for hash_type, value in ((HashType.SHA256, item.sha256), (HashType.MD5, item.md5)):
            if not value:
                continue
            lookup = {hash_type: value}
            for other in (
                MediaHash.objects.filter(**lookup).exclude(referral=referral).select_related("referral")
            ):
                found.append(_pair(referral, item, other, hash_type, 0))
            for known in KnownHash.objects.filter(hash_type=hash_type, value=value):
                found.append(_known(referral, item, known, hash_type, 0))
        if item.pdq:
            hits = pdq_search(item.pdq)
            others = MediaHash.objects.in_bulk([h.media_id for h in hits if h.media_id is not None])
            knowns = KnownHash.objects.in_bulk([h.known_id for h in hits if h.known_id is not None])
            for hit in hits:
                if hit.media_id is not None:
                    other = others[hit.media_id]
                    if other.referral_id != referral.pk:
                        found.append(_pair(referral, item, other, HashType.PDQ, hit.distance))
                elif hit.known_id is not None:
                    found.append(_known(referral, item, knowns[hit.known_id], HashType.PDQ, hit.distance))
        for match, created in found:
            if match.known_id is not None:
                known_hit_items.add(item.pk)
            else:
                touched.add(
                    match.other_referral_id if match.referral_id == referral.pk else match.referral_id
                )
            if created:
                result.new.append(match)
    matches = MediaMatch.objects.filter(_matches_of(referral))
    result.total = matches.count()
    known_victim = MediaMatch.objects.filter(referral=referral, known__victim_identified=True).exists()
    first_generation = any(
        item.is_first_generation and item.pk not in known_hit_items for item in referral.media.all()
    )
    newly_first_generation = first_generation and not referral.is_first_generation
    referral.is_known_victim, referral.is_first_generation = known_victim, first_generation
    referral.media_match_count, referral.matched_at = result.total, db_now()
    referral.save(
        update_fields=[
            "is_known_victim",
            "is_first_generation",
            "media_match_count",
            "matched_at",
            "updated_at",
        ]
    )
    for other_id in touched:
        Referral.objects.filter(pk=other_id).update(
            media_match_count=MediaMatch.objects.filter(
                Q(referral_id=other_id) | Q(other_referral_id=other_id)
            ).count()
        )
    ref = f"{referral.agency.code} {referral.external_id}"
    shared = [m for m in result.new if m.known_id is None]
    if shared:
        names = sorted(
            {str(m.other_referral if m.referral_id == referral.pk else m.referral) for m in shared}
        )
        notify_hub(
            kind="media_match",
            referral=referral,
            subject=f"Referral {ref} shares media with {len(names)} other referral(s)",
            body="Deconflict before two forces work the same child: " + ", ".join(names)[:400],
        )
    if newly_first_generation:
        notify_hub(
            kind="first_generation",
            referral=referral,
            subject=f"First-generation material in referral {ref}: no known set has it",
            body="Made by the offender: proof of access to a child. It is at the top of the triage queue.",
        )
    audit_record(
        actor=actor,
        action=AuditAction.MEDIA_MATCHED,
        object_type="referral",
        object_id=referral.pk,
        referral_id=referral.pk,
        changes={
            "new": [str(m.pk) for m in result.new],
            "total": result.total,
            "known_victim": known_victim,
            "first_generation": first_generation,
        },
    )
    return result


def referral_match_by_id(referral_id: str) -> int:
    """The match job's work for one referral by id: the number of new matches (0 for a referral
    that no longer exists, or a redelivery that finds nothing new). The referral is read once,
    locked, by ``referral_match_media``."""
    try:
        return len(referral_match_media(referral=Referral(pk=referral_id)).new)
    except Referral.DoesNotExist:
        return 0


def referrals_unmatched(limit: int = 500) -> list[str]:
    """Referrals with media whose match job has not run a minute after intake (lost with a
    broker outage): the sweep runs them."""
    return [
        str(pk)
        for pk in Referral.objects.filter(
            matched_at__isnull=True, media__isnull=False, created_at__lt=db_now() - timedelta(minutes=1)
        )
        .values_list("pk", flat=True)
        .distinct()[:limit]
    ]


def referral_matches(referral: Referral) -> list[dict[str, object]]:
    """What ``GET /referrals/{id}/matches/`` and the referral page show: each other referral the
    referral shares media with (either side of the stored pair) and each known-set hit, with the
    holders of the other referral's open tasks, closest first."""
    rows: list[dict[str, object]] = []
    stored = (
        MediaMatch.objects.filter(_matches_of(referral))
        .select_related(
            "media", "other_media", "known__hash_set", "referral__agency", "other_referral__agency"
        )
        .order_by("distance", "found_at", "id")
    )
    for match in stored:
        if match.known is not None:
            rows.append({
                "id": match.pk, "source": match.known.hash_set.source, "referral": None,
                "hash_type": match.hash_type, "match": match.match, "distance": match.distance,
                "media": match.media.sha256, "victim_identified": match.known.victim_identified,
                "series": match.known.series,
            })  # fmt: skip
            continue
        other = match.other_referral if match.referral_id == referral.pk else match.referral
        mine = match.media if match.referral_id == referral.pk else match.other_media
        if other is None or mine is None:
            continue
        rows.append({
            "id": match.pk, "source": None, "referral": other, "hash_type": match.hash_type,
            "match": match.match, "distance": match.distance, "media": mine.sha256,
            "victim_identified": None, "series": "",
        })  # fmt: skip
    holders: dict[object, list[str]] = {}
    other_ids = [row["referral"].pk for row in rows if row["referral"] is not None]  # type: ignore[attr-defined]
    for referral_id, code in (
        Task.objects.filter(referral_id__in=other_ids, status__in=Task.RUNNING_STATUSES)
        .values_list("referral_id", "assignee_org__code")
        .order_by("assignee_org__code")
    ):
        holders.setdefault(referral_id, []).append(code)
    for row in rows:
        other_referral = row["referral"]
        row["holders"] = holders.get(other_referral.pk, []) if other_referral is not None else []  # type: ignore[attr-defined]
    return rows


def referral_matches_consult(*, actor: User, referral: Referral) -> list[dict[str, object]]:
    authorize(actor, Act.MATCH_LIST, referral, seen=True)
    rows = referral_matches(referral)
    audit_record(
        actor=actor,
        action=AuditAction.MATCH_LISTED,
        object_type="media_match",
        referral_id=referral.pk,
        changes={"ids": [str(row["id"]) for row in rows]},
    )
    return rows
