"""Media matching at scale: the PDQ multi-index against N known and N referral hashes.

Runs in its own database (``bench.db.sibling_database``). Import only after ``django.setup()``.

1. **Seed**: ``known`` known-set PDQ hashes (``KnownHash`` + ``PdqEntry``) and ``referral``
   referral media hashes (``MediaHash`` under a few hundred referrals + ``PdqEntry``), random
   256-bit values, COPYed in with the 16 slice indexes dropped; then the indexes are rebuilt and
   timed (the index build time), and the table and index sizes are read from PostgreSQL.
2. **Incremental**: ``incremental`` more hashes inserted row by row batches with the indexes in
   place, as intake does (hashes/s).
3. **Match latency**: ``queries`` lookups with ``hub.services.matching.pdq_search``, half of them
   planted near-duplicates of indexed hashes (1 to 31 bits flipped, uniformly), half random; p50
   and p99 per lookup, and the SHA-256 exact lookup on its B-tree index.
4. **Recall**: every query is also answered by a brute-force scan of all indexed hashes (numpy
   XOR + popcount); the index must return exactly the same set at distance <= 31 (recall 100%).
"""

from __future__ import annotations

import random
import resource
import time
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection

from bench.measure import percentile
from bench.seed import log
from hub.models import PDQ_MATCH_DISTANCE, KnownHashSet, Organisation, Referral, User
from hub.services.matching import pdq_search

SLICES = 16
PER_REFERRAL = 5_000
CHUNK = 100_000


@dataclass(frozen=True)
class MatchingConfig:
    known: int
    referral: int
    queries: int
    incremental: int

    @classmethod
    def for_mode(cls, mode: str) -> MatchingConfig:
        if mode == "full":
            return cls(known=1_000_000, referral=1_000_000, queries=1_000, incremental=20_000)
        return cls(known=20_000, referral=20_000, queries=200, incremental=2_000)


def _slices(value: int) -> list[int]:
    return [(value >> (240 - 16 * i)) & 0xFFFF for i in range(SLICES)]


SLICE_COLUMNS = ", ".join(f"s{i}" for i in range(SLICES))
KNOWN_COPY = "COPY hub_knownhash (id, hash_set_id, hash_type, value, victim_identified, series) FROM STDIN"
MEDIA_COPY = (
    "COPY hub_mediahash (id, referral_id, sha256, md5, pdq, is_first_generation, category) FROM STDIN"
)


def _reset_sequence(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
        )


def _entry_row(value: int, owner_id: int) -> str:
    return f"{value:064x}\t{owner_id}\t" + "\t".join(map(str, _slices(value))) + "\n"


def _copy(sql: str, rows: list[str]) -> None:
    with connection.cursor() as cursor, cursor.connection.cursor().copy(sql) as copy:  # type: ignore[attr-defined]
        copy.write("".join(rows))


def _slice_indexes(create: bool) -> float:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for i in range(SLICES):
            if create:
                cursor.execute(f"CREATE INDEX pdq_slice_{i} ON hub_pdqentry (s{i})")
            else:
                cursor.execute(f"DROP INDEX IF EXISTS pdq_slice_{i}")
    return time.perf_counter() - started


def _max_id(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        return int(cursor.fetchone()[0])


def _seed(config: MatchingConfig, rng: random.Random) -> tuple[np.ndarray, dict[str, Any]]:
    user, _ = User.objects.get_or_create(username="bench-matching")
    agency = Organisation.objects.get(code="NCMEC")
    hash_set = KnownHashSet.objects.create(source="BENCH")
    values = [rng.getrandbits(256) for _ in range(config.known + config.referral)]
    _slice_indexes(create=False)
    started = time.perf_counter()
    known_id = _max_id("hub_knownhash")
    for start in range(0, config.known, CHUNK):
        known_rows, entry_rows = [], []
        for value in values[start : min(start + CHUNK, config.known)]:
            known_id += 1
            known_rows.append(f"{known_id}\t{hash_set.pk}\tpdq\t{value:064x}\tf\t\n")
            entry_rows.append(_entry_row(value, known_id))
        _copy(KNOWN_COPY, known_rows)
        _copy(f"COPY hub_pdqentry (pdq, known_id, {SLICE_COLUMNS}) FROM STDIN", entry_rows)
    _reset_sequence("hub_knownhash")
    media_id = _max_id("hub_mediahash")
    referral_values = values[config.known :]
    for start in range(0, config.referral, PER_REFERRAL):
        referral = Referral.objects.create(
            agency=agency, external_id=f"BENCH-{uuid.uuid4().hex[:12]}", received_at=time_now(),
            created_by=user, matched_at=time_now(),
        )  # fmt: skip
        media_rows, entry_rows = [], []
        for value in referral_values[start : start + PER_REFERRAL]:
            media_id += 1
            media_rows.append(
                f"{media_id}\t{referral.pk}\t{rng.getrandbits(256):064x}\t\t{value:064x}\tf\t\n"
            )
            entry_rows.append(_entry_row(value, media_id))
        _copy(MEDIA_COPY, media_rows)
        _copy(f"COPY hub_pdqentry (pdq, media_id, {SLICE_COLUMNS}) FROM STDIN", entry_rows)
    _reset_sequence("hub_mediahash")
    load_seconds = time.perf_counter() - started
    build_seconds = _slice_indexes(create=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE hub_pdqentry")
        cursor.execute("ANALYZE hub_mediahash")
        cursor.execute(
            "SELECT pg_relation_size('hub_pdqentry'), pg_indexes_size('hub_pdqentry'), "
            "pg_total_relation_size('hub_pdqentry')"
        )
        table, indexes, total = cursor.fetchone()
    as_bytes = np.frombuffer(b"".join(v.to_bytes(32, "big") for v in values), dtype=np.uint8).reshape(-1, 32)
    return as_bytes, {
        "hashes": len(values),
        "load_seconds": round(load_seconds, 1),
        "index_build_seconds": round(build_seconds, 1),
        "table_mb": round(table / 2**20, 1),
        "slice_indexes_mb": round(indexes / 2**20, 1),
        "total_mb": round(total / 2**20, 1),
        "bytes_per_hash": round(total / len(values)),
    }


def time_now() -> Any:
    from django.utils import timezone  # noqa: PLC0415

    return timezone.now()


def _incremental(config: MatchingConfig, rng: random.Random) -> dict[str, Any]:
    """Rows arriving with the indexes in place, in intake-sized batches of 10."""
    from hub.models import KnownHash, PdqEntry, pdq_entry  # noqa: PLC0415

    hash_set = KnownHashSet.objects.get(source="BENCH")
    started = time.perf_counter()
    for _ in range(config.incremental // 10):
        made = KnownHash.objects.bulk_create(
            [
                KnownHash(hash_set=hash_set, hash_type="pdq", value=f"{rng.getrandbits(256):064x}")
                for _ in range(10)
            ]
        )
        PdqEntry.objects.bulk_create([pdq_entry(k.value, known=k) for k in made])
    seconds = time.perf_counter() - started
    return {
        "hashes": config.incremental,
        "seconds": round(seconds, 2),
        "per_second": round(config.incremental / seconds),
    }


def _queries(values: np.ndarray, config: MatchingConfig, rng: random.Random) -> list[int]:
    queries = []
    for n in range(config.queries):
        if n % 2 == 0:
            base = int.from_bytes(values[rng.randrange(len(values))].tobytes(), "big")
            for position in rng.sample(range(256), rng.randint(1, PDQ_MATCH_DISTANCE)):
                base ^= 1 << position
            queries.append(base)
        else:
            queries.append(rng.getrandbits(256))
    return queries


def _brute(values: np.ndarray, query: int) -> list[int]:
    q = np.frombuffer(query.to_bytes(32, "big"), dtype=np.uint8)
    distances = np.bitwise_count(np.bitwise_xor(values, q)).sum(axis=1, dtype=np.int32)
    return sorted(int(d) for d in distances[distances <= PDQ_MATCH_DISTANCE])


def run(config: MatchingConfig) -> tuple[dict[str, Any], list[str]]:
    from hub.models import MediaHash  # noqa: PLC0415

    rng = random.Random(31)
    log(f"matching: seeding {config.known} known + {config.referral} referral PDQ hashes")
    values, index = _seed(config, rng)
    log(f"matching: index built in {index['index_build_seconds']} s, {index['total_mb']} MB")
    queries = _queries(values, config, rng)
    for query in queries[:10]:  # warm the buffer cache and the plan
        pdq_search(f"{query:064x}")
    latencies: list[float] = []
    neighbours = missed = extra = 0
    for query in queries:
        started = time.perf_counter()
        hits = pdq_search(f"{query:064x}")
        latencies.append((time.perf_counter() - started) * 1000)
        found = sorted(h.distance for h in hits)
        brute = _brute(values, query)
        neighbours += len(brute)
        if found != brute:
            missed += len([d for d in brute if d not in found])
            extra += len([d for d in found if d not in brute])
    with connection.cursor() as cursor:
        cursor.execute("SELECT sha256 FROM hub_mediahash ORDER BY id DESC LIMIT 200")
        shas = [row[0] for row in cursor.fetchall()]
    exact = []
    for sha in shas:
        started = time.perf_counter()
        list(MediaHash.objects.filter(sha256=sha).values_list("id", flat=True))
        exact.append((time.perf_counter() - started) * 1000)
    log(f"matching: {len(queries)} queries timed; inserting {config.incremental} more with the indexes on")
    incremental = _incremental(config, rng)
    recall = 1.0 if neighbours == 0 else (neighbours - missed) / neighbours
    problems = []
    if missed or extra:
        problems.append(f"matching: the index differs from brute force ({missed} missed, {extra} extra)")
    if neighbours < config.queries // 2:
        problems.append(f"matching: only {neighbours} neighbours for {config.queries // 2} planted queries")
    search = {
        "p50": round(percentile(latencies, 50), 2),
        "p99": round(percentile(latencies, 99), 2),
        "max": round(max(latencies), 2),
        "n": len(latencies),
    }
    document = {
        "summary": {
            "hashes": index["hashes"],
            "pdq_search_p50_ms": search["p50"],
            "pdq_search_p99_ms": search["p99"],
            "recall_at_31": recall,
            "index_build_seconds": index["index_build_seconds"],
            "index_total_mb": index["total_mb"],
        },
        "index": index,
        "incremental_insert": incremental,
        "pdq_search_ms": search,
        "sha256_lookup_ms": {"p50": round(percentile(exact, 50), 3), "p99": round(percentile(exact, 99), 3)},
        "recall": {"neighbours_within_31": neighbours, "missed": missed, "extra": extra, "recall": recall},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "method": "pdq_search = 16-way OR of IN-lists on 16 B-tree indexed 16-bit slices, then the exact "
        "Hamming distance in Python on the candidates; brute force = numpy XOR + bitwise_count over "
        "every seeded hash; half the queries are seeded hashes with 1-31 bits flipped, half random",
    }
    return document, problems
