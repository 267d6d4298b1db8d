from __future__ import annotations

from django.apps import AppConfig


class SafeguardingConfig(AppConfig):
    """What happened to the children and the case: actions, outcomes, feedback upstream."""

    name = "safeguarding"
