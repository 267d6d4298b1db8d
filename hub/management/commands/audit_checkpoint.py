"""manage.py audit_checkpoint: sign the current head of the audit trail now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from hub.services.audit_integrity import audit_checkpoint


class Command(BaseCommand):
    help = "Write a signed checkpoint of the audit trail (Celery beat does this every few minutes)."

    def handle(self, *args: Any, **options: Any) -> None:
        checkpoint = audit_checkpoint()
        self.stdout.write(
            f"checkpoint #{checkpoint.seq} {checkpoint.head_hash}" if checkpoint else "nothing new"
        )
