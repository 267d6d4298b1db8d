from __future__ import annotations

from django.apps import AppConfig


class SpokesConfig(AppConfig):
    """Work done by a region or force on a task it holds: accept/decline, leads."""

    name = "spokes"

    def ready(self) -> None:
        from hub.hooks import register_demo_seeder, register_outcome_check, register_page_context
        from spokes import policies  # noqa: F401  (the spokes' rows of the policy registry)
        from spokes.demo import seed_worked_case
        from spokes.services import exposure_header, victims_agree_with_children

        register_outcome_check(victims_agree_with_children)
        register_demo_seeder(seed_worked_case)
        register_page_context(exposure_header)
