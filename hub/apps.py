from __future__ import annotations

from django.apps import AppConfig


class HubConfig(AppConfig):
    """The national hub and the shared kernel: organisations, roles, referrals, tasks, audit."""

    name = "hub"
    verbose_name = "VIHub hub"

    def ready(self) -> None:
        from hub import signals  # noqa: F401  (connects the auth-event audit receivers)
        from hub.api import schema  # noqa: F401  (registers the OpenAPI auth extension)
        from hub.policies import checks, rules  # noqa: F401  (the hub's rows; the registry check)
