"""A Django system check: the server refuses to start while an action has no policy row."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from hub.policies.rules import check_registry


@checks.register()
def policy_registry_complete(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        check_registry()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="hub.E001")]
    return []
