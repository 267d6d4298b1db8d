"""manage.py reencrypt_secrets: after a new key was put first in VIHUB_SECRETS_KEYS, store every
agency's webhook secret under it (then the old key can be removed). Idempotent."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from hub.constants import AuditAction
from hub.services.audit import audit_record
from safeguarding.models import WebhookEndpoint


class Command(BaseCommand):
    help = "Re-encrypt the webhook signing secrets under the first key of VIHUB_SECRETS_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        count = 0
        with transaction.atomic():
            for endpoint in WebhookEndpoint.objects.select_for_update():
                # Read decrypts with any key; saving encrypts afresh with the first.
                WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                    secret=_fresh(endpoint.secret), previous_secret=_fresh(endpoint.previous_secret)
                )
                count += 1
            audit_record(
                actor=None,
                action=AuditAction.SECRETS_REENCRYPTED,
                object_type="webhook_endpoint",
                changes={"endpoints": count},
            )
        self.stdout.write(f"{count} endpoint{'s' if count != 1 else ''} re-encrypted")


def _fresh(plain: str) -> str:
    from hub.crypto import encrypt

    return encrypt(plain) if plain else ""
