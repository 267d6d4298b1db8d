"""manage.py add_member USERNAME --org CODE --role ROLE [--team CODE ...] [--password-stdin]"""

from __future__ import annotations

import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hub.exceptions import DomainError
from hub.models import Membership
from hub.services.organisations import membership_set, team_member_add


class Command(BaseCommand):
    help = "Create the user if needed and give them ROLE in organisation CODE."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--org", required=True, help="Organisation code, e.g. NCA, KENT, NCMEC")
        parser.add_argument("--role", required=True, choices=Membership.Role.values)
        parser.add_argument(
            "--team",
            action="append",
            default=[],
            help="A named team of the organisation to join (e.g. GROOMING, FIRSTGEN); repeatable",
        )
        parser.add_argument(
            "--password-stdin", action="store_true", help="Read the password from standard input"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = None
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
            if not password:
                raise CommandError("--password-stdin was given but standard input was empty")
        try:
            membership = membership_set(
                username=options["username"],
                org_code=options["org"],
                role=options["role"],
                actor=None,
                password=password,
            )
            for code in options["team"]:
                team_member_add(team_code=code, user=membership.user, actor=None)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        except ValidationError as exc:
            raise CommandError("Password rejected: " + " ".join(exc.messages)) from exc
        self.stdout.write(
            f"{membership.user.username} is now {membership.role} at {membership.organisation.code}"
            + ("" if password else " (no password set: use --password-stdin to allow web sign-in)")
        )
