from __future__ import annotations

from django.apps import AppConfig


class SpokesConfig(AppConfig):
    """Work done by a region or force on a task it holds: accept/decline, leads."""

    name = "spokes"

    def ready(self) -> None:
        from spokes import policies  # noqa: F401  (the spokes' rows of the policy registry)
