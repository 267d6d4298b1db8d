"""manage.py verify_audit: exit 0 if the audit trail is intact; otherwise name the first bad
event and exit 1."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from hub.services.audit_integrity import audit_verify
from hub.services.audit_verify_pg import default_workers


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain and signed checkpoints (streams; bounded memory)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--chunk-size", type=int, default=5000)
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="parallel worker processes on PostgreSQL (default: the CPUs, at most 8)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = audit_verify(
            chunk_size=options["chunk_size"],
            actor_display="manage.py verify_audit",
            workers=options["workers"] or default_workers(),
        )
        seconds = result.duration_ms / 1000
        rate = f"{result.events_checked / seconds:,.0f} events/s" if seconds > 0 else "events/s n/a"
        if result.ok:
            self.stdout.write(f"OK: {result.message} in {result.duration_ms} ms ({rate})")
            return
        self.stderr.write(f"FAILED at event #{result.first_bad_seq}: {result.message}")
        raise SystemExit(1)
