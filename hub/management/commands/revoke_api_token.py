"""manage.py revoke_api_token PREFIX_OR_USERNAME [--all]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hub.models import ApiToken
from hub.services.organisations import api_token_revoke


class Command(BaseCommand):
    help = "Revoke a token by its printed prefix, or every token of a user with --all."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("target", help="Token prefix (first 12 characters) or, with --all, a username")
        parser.add_argument("--all", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["all"]:
            tokens = list(ApiToken.objects.filter(user__username=options["target"], revoked_at__isnull=True))
        else:
            tokens = list(ApiToken.objects.filter(prefix=options["target"], revoked_at__isnull=True))
        if not tokens:
            raise CommandError("No active token matches")
        for token in tokens:
            api_token_revoke(token=token, actor=None)
        self.stdout.write(f"Revoked {len(tokens)} token(s)")
