"""Known-media sets: ``import_hashset PATH --source NAME`` loads JSON lines of hashes (the shape
of the VICS and CAID exports forces receive). The file is read twice: first every line is
checked (a bad line is reported by its number and nothing of the file is stored), then it is
stored in batches inside one transaction. Re-importing the same file changes nothing; a line
whose ``victim_identified`` or ``series`` changed is updated."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from hub.constants import AuditAction
from hub.exceptions import DomainError
from hub.models import HashType, KnownHash, KnownHashSet, PdqEntry, User, pdq_entry
from hub.services.audit import audit_record

HEX_LENGTHS = {HashType.SHA256: 64, HashType.MD5: 32, HashType.PDQ: 64}
HEX = re.compile(r"^[0-9a-fA-F]+$")
BATCH = 5000
MAX_ERRORS = 20


@dataclass(frozen=True)
class KnownLine:
    hash_type: str
    value: str
    victim_identified: bool
    series: str


@dataclass
class ImportResult:
    source: str
    lines: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def parse_line(text: str) -> KnownLine:
    """One line of a known-media set, or a ValueError saying what is wrong with it."""
    try:
        row = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise ValueError("not a JSON object")
    types = [name for name in HEX_LENGTHS if name in row]
    if len(types) != 1:
        raise ValueError("give exactly one of sha256, md5 or pdq")
    hash_type = types[0]
    value = row[hash_type]
    if not isinstance(value, str) or len(value) != HEX_LENGTHS[hash_type] or not HEX.match(value):
        raise ValueError(f"{hash_type} must be {HEX_LENGTHS[hash_type]} hex digits")
    identified = row.get("victim_identified", False)
    if not isinstance(identified, bool):
        raise ValueError("victim_identified must be true or false")
    series = row.get("series", "")
    if series is None:
        series = ""
    if not isinstance(series, str) or len(series) > 200:
        raise ValueError("series must be text of at most 200 characters")
    unknown = set(row) - {hash_type, "victim_identified", "series"}
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
    return KnownLine(hash_type, value.lower(), identified, series)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if text.strip():
                yield number, text


def hashset_check(path: Path, progress: Callable[[int], None] | None = None) -> tuple[int, list[str]]:
    """The first pass: the number of hash lines, and the bad lines (by number, at most 20)."""
    errors: list[str] = []
    count = 0
    try:
        for number, text in _lines(path):
            count += 1
            try:
                parse_line(text)
            except ValueError as exc:
                if len(errors) < MAX_ERRORS:
                    errors.append(f"line {number}: {exc}")
                else:
                    errors.append("… and more")
                    break
            if progress is not None and count % BATCH == 0:
                progress(count)
    except UnicodeDecodeError:
        errors.append(f"line {count + 1}: not UTF-8 text")
    return count, errors


def _store(hash_set: KnownHashSet, batch: list[KnownLine], result: ImportResult) -> None:
    existing = {
        (k.hash_type, k.value): k
        for k in KnownHash.objects.filter(hash_set=hash_set, value__in={line.value for line in batch})
    }
    new: dict[tuple[str, str], KnownHash] = {}
    changed = []
    for line in batch:
        key = (line.hash_type, line.value)
        known = existing.get(key)
        if key in new:  # the same hash twice in the file
            result.unchanged += 1
        elif known is None:
            new[key] = KnownHash(
                hash_set=hash_set, hash_type=line.hash_type, value=line.value,
                victim_identified=line.victim_identified, series=line.series,
            )  # fmt: skip
        elif (known.victim_identified, known.series) != (line.victim_identified, line.series):
            known.victim_identified, known.series = line.victim_identified, line.series
            changed.append(known)
        else:
            result.unchanged += 1
    made = KnownHash.objects.bulk_create(list(new.values()))
    PdqEntry.objects.bulk_create([pdq_entry(k.value, known=k) for k in made if k.hash_type == HashType.PDQ])
    KnownHash.objects.bulk_update(changed, ["victim_identified", "series"])
    result.created += len(made)
    result.updated += len(changed)


@transaction.atomic
def hashset_import(
    *, path: Path, source: str, actor: User | None, progress: Callable[[int], None] | None = None
) -> ImportResult:
    """Check the whole file, then store it (all of it, or nothing with the bad lines listed)."""
    source = source.strip()
    if not source or len(source) > 100:
        raise DomainError("Name the set's source in at most 100 characters", field="source")
    result = ImportResult(source=source)
    result.lines, result.errors = hashset_check(path, progress)
    if result.errors:
        return result
    hash_set, _ = KnownHashSet.objects.get_or_create(source=source)
    hash_set = KnownHashSet.objects.select_for_update().get(pk=hash_set.pk)  # one import per set at a time
    batch: list[KnownLine] = []
    for seen, (_, text) in enumerate(_lines(path), start=1):
        batch.append(parse_line(text))
        if len(batch) == BATCH:
            _store(hash_set, batch, result)
            batch = []
            if progress is not None:
                progress(seen)
    if batch:
        _store(hash_set, batch, result)
    hash_set.save(update_fields=["updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.HASHSET_IMPORTED,
        object_type="known_hash_set",
        changes={"source": source, "lines": result.lines, "created": result.created,
                 "updated": result.updated, "file": path.name},
    )  # fmt: skip
    return result
