"""manage.py seed_reference: load the hub, regions, 43 forces and agencies (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from hub.services.deadlines import deadline_policy_ensure_defaults
from hub.services.organisations import organisations_seed_reference


class Command(BaseCommand):
    help = "Load the reference organisations and the default deadline policy. Safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        result = organisations_seed_reference()
        self.stdout.write(
            f"Reference organisations: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged."
        )
        if result.reparented:
            self.stderr.write(
                f"{result.reparented} organisation(s) moved to another parent: restart the web processes and "
                "workers (they cache the region tree), and reassign open tasks whose oversight should move."
            )
        created = deadline_policy_ensure_defaults()
        self.stdout.write(f"Deadline policy: {created} default rows added (edited rows are kept).")
