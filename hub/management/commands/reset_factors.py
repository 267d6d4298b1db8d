"""manage.py reset_factors USERNAME --reason "..."

The shell operator's way to reset someone's second factor (for instance the only hub
coordinator lost their phone): audited with the operating-system user, like every command."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hub.exceptions import DomainError
from hub.models import User
from hub.services.people import factors_reset


class Command(BaseCommand):
    help = "Remove a person's second factors and end their sessions: they enrol again at next sign-in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--reason", required=True, help="Why (kept on the audit trail)")

    def handle(self, *args: Any, **options: Any) -> None:
        person = User.objects.filter(username=options["username"]).first()
        if person is None:
            raise CommandError(f"No user {options['username']!r}")
        try:
            changes = factors_reset(person=person, actor=None, reason=options["reason"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"{person.username}: second factor reset (was {changes['before']}; "
            f"{changes['sessions_ended']} session(s) ended). They set up a new app at their next sign-in."
        )
