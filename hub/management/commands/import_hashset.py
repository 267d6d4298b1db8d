"""manage.py import_hashset PATH --source NAME: load a known-media set (JSON lines)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hub.exceptions import DomainError
from hub.services.hashsets import hashset_import


class Command(BaseCommand):
    help = (
        'Load a known-media set: one JSON object per line, {"sha256"|"md5"|"pdq": hex, '
        '"victim_identified": bool, "series": str?}. A bad line stores nothing of the file.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--source", required=True, help="The set's name, e.g. CAID or VICS-2026-11")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        size = path.stat().st_size
        show = sys.stderr.isatty() or size > 5_000_000

        def progress(lines: int) -> None:
            if show:
                self.stderr.write(f"\r{options['source']}: {lines:,} lines…", ending="")

        try:
            result = hashset_import(path=path, source=options["source"], actor=None, progress=progress)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if show:
            self.stderr.write("")
        if result.errors:
            raise CommandError(
                f"{path.name}: nothing stored; fix these lines and import again:\n  "
                + "\n  ".join(result.errors)
            )
        self.stdout.write(
            f"{result.source}: {result.lines} lines, {result.created} new, {result.updated} updated, "
            f"{result.unchanged} unchanged."
        )
