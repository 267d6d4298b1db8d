"""Hooks through which the hub shows what other apps record, without importing them
(dependencies point only toward the hub). The safeguarding app registers the outcome view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub.models import Referral

OutcomeView = Callable[[Referral, bool], dict[str, Any] | None]
_outcome_view: OutcomeView | None = None


def register_outcome_view(view: OutcomeView) -> None:
    global _outcome_view  # noqa: PLW0603  (a one-slot registry set at app start)
    _outcome_view = view


def outcome_view(referral: Referral, *, internal: bool) -> dict[str, Any] | None:
    """The referral's outcome as shown to a caller; ``internal`` adds spoke-internal text."""
    return _outcome_view(referral, internal) if _outcome_view is not None else None
