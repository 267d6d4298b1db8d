from __future__ import annotations

from django.apps import AppConfig


class SafeguardingConfig(AppConfig):
    """What happened to the children and the case: actions, outcomes, feedback upstream."""

    name = "safeguarding"

    def ready(self) -> None:
        from hub.hooks import register_outcome_view
        from safeguarding.api.views import outcome_as_dict

        register_outcome_view(outcome_as_dict)
