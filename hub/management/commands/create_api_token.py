"""manage.py create_api_token USERNAME [--expires-days N]: prints the token once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hub.exceptions import DomainError
from hub.models import User
from hub.services.organisations import api_token_create


class Command(BaseCommand):
    help = "Create a bearer token for USERNAME and print it once (only its hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--expires-days", type=int, default=None)
        parser.add_argument("--name", default="", help="A label, e.g. the script that uses it")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user {options['username']!r}: create it with add_member first")
        try:
            token, raw = api_token_create(
                user=user, actor=None, expires_days=options["expires_days"], name=options["name"]
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write(f"Token for {user.username}, expires {token.expires_at:%Y-%m-%d %H:%M} UTC:")
        self.stdout.write(raw)
