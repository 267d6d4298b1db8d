"""manage.py set_agency_webhook ORG_CODE URL [--events …] [--rotate-secret]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hub.exceptions import DomainError
from hub.models import Organisation
from safeguarding.feedback import webhook_endpoint_set, webhook_secret_rotate
from safeguarding.models import WebhookEndpoint


class Command(BaseCommand):
    help = "Set an agency's outcome webhook; prints its signing secret (whsec_…) once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("org_code")
        parser.add_argument("url")
        parser.add_argument(
            "--events",
            nargs="+",
            choices=WebhookEndpoint.EventType.values,
            help="Event types to send (default: referral.outcome_recorded)",
        )
        parser.add_argument(
            "--rotate-secret", action="store_true", help="Issue a new secret (old one overlaps)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        agency = Organisation.objects.filter(code=options["org_code"].upper()).first()
        if agency is None:
            raise CommandError(f"No organisation with code {options['org_code']!r}")
        try:
            endpoint, secret = webhook_endpoint_set(
                agency=agency, url=options["url"], actor=None, event_types=options["events"]
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if secret is None and options["rotate_secret"]:
            secret = webhook_secret_rotate(endpoint=endpoint, actor=None)
        self.stderr.write(f"{agency.code} → {endpoint.url} ({', '.join(endpoint.event_types)})")
        if secret:
            self.stderr.write("Signing secret (shown once; store it in the receiver):")
            self.stdout.write(secret)
        else:
            self.stderr.write("Existing secret kept; use --rotate-secret for a new one.")
