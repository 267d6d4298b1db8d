"""manage.py set_agency_webhook ORG_CODE URL [--events …] [--rotate-secret]

``--events`` must name ``hub.constants.WebhookEvent`` values; an unknown one is refused with
a ``CommandError`` naming it and the known events, before anything is written (whether the
command is run from the shell or through ``call_command``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hub.constants import WebhookEvent, webhook_event
from hub.exceptions import DomainError
from hub.models import Organisation
from safeguarding.feedback import webhook_endpoint_set, webhook_secret_rotate


class Command(BaseCommand):
    help = "Set an agency's outcome webhook; prints its signing secret (whsec_…) once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("org_code")
        parser.add_argument("url")
        parser.add_argument(
            "--events",
            nargs="+",
            metavar="EVENT",
            help=f"Event types to send, of: {', '.join(WebhookEvent.values)} "
            f"(default: {WebhookEvent.OUTCOME_RECORDED.value})",
        )
        parser.add_argument(
            "--rotate-secret", action="store_true", help="Issue a new secret (old one overlaps)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        events = _events(options["events"])
        agency = Organisation.objects.filter(code=options["org_code"].upper()).first()
        if agency is None:
            raise CommandError(f"No organisation with code {options['org_code']!r}")
        try:
            endpoint, secret = webhook_endpoint_set(
                agency=agency, url=options["url"], actor=None, event_types=events
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


def _events(names: list[str] | None) -> list[str] | None:
    """The ``--events`` values, each checked against ``WebhookEvent`` (``None``: the default)."""
    if names is None:
        return None
    try:
        return [webhook_event(name).value for name in names]
    except ValueError as exc:
        raise CommandError(f"--events: {exc}") from exc
