"""Typed environment readers. Each one fails loudly on a value it cannot parse.

A misconfigured production deployment must refuse to start rather than run with a silently
substituted default, so every reader raises ``ImproperlyConfigured`` naming the variable.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_UNSET = object()


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"Environment variable {name} is required")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    """Accept only ``true`` or ``false`` (any case): ``yes``, ``1`` or a typo is an error."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise ImproperlyConfigured(f"{name} must be 'true' or 'false', not {value!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        parsed = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None
    if minimum is not None and parsed < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {parsed}")
    return parsed


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_secret(name: str, default: str | None = None) -> str | None:
    """Read ``NAME`` or, if ``NAME_FILE`` is set, the file it names (Docker/Kubernetes secrets).

    An unreadable or empty ``NAME_FILE`` is an error, never a fallback to the default.
    """
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            content = Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {exc}") from None
        if not content:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} is empty")
        return content
    value = os.environ.get(name)
    if value:
        return value
    return default


def require(name: str) -> str:
    """A mandatory secret: from ``NAME`` or ``NAME_FILE``, or refuse to start."""
    value = env_secret(name)
    if not value:
        raise ImproperlyConfigured(f"{name} (or {name}_FILE) must be set in production")
    return value
