"""Hooks through which the hub shows what other apps record, without importing them
(dependencies point only toward the hub). The safeguarding app registers the outcome view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub.constants import WebhookEvent, webhook_event
from hub.models import Referral, Task

OutcomeView = Callable[[Referral, bool], dict[str, Any] | None]
_outcome_view: OutcomeView | None = None


def register_outcome_view(view: OutcomeView) -> None:
    global _outcome_view  # noqa: PLW0603  (a one-slot registry set at app start)
    _outcome_view = view


def outcome_view(referral: Referral, *, internal: bool) -> dict[str, Any] | None:
    """The referral's outcome as shown to a caller; ``internal`` adds spoke-internal text."""
    return _outcome_view(referral, internal) if _outcome_view is not None else None


ReferralListener = Callable[[Referral, WebhookEvent], object]
_referral_listeners: list[ReferralListener] = []


def register_referral_listener(listener: ReferralListener) -> None:
    if listener not in _referral_listeners:
        _referral_listeners.append(listener)


def referral_event(referral: Referral, event_type: WebhookEvent | str) -> None:
    """Tell listeners (the outcome-feedback outbox) about a key status change, inside the
    caller's transaction, so the change and its notification commit or roll back together.

    ``event_type`` must be a ``WebhookEvent`` member or its value; anything else raises
    ``ValueError`` before any listener runs (whether or not listeners are registered), so a
    misspelt event fails loudly. Listeners always receive the ``WebhookEvent`` member."""
    event = webhook_event(event_type)
    for listener in _referral_listeners:
        listener(referral, event)


# Checks an app adds on an outcome before it is recorded (the spokes: no more victims identified
# than children recorded on the task). Each raises a DomainError to refuse it.
OutcomeCheck = Callable[[Task, dict[str, Any]], None]
_outcome_checks: list[OutcomeCheck] = []


def register_outcome_check(check: OutcomeCheck) -> None:
    if check not in _outcome_checks:
        _outcome_checks.append(check)


def outcome_checks(task: Task, values: dict[str, Any]) -> None:
    for check in _outcome_checks:
        check(task, values)


# What an app adds to `manage.py seed_demo` (the spokes: a worked case with children, checks
# and a pending hand-off). Each is called with the demo people already in place.
DemoSeeder = Callable[[], str]
_demo_seeders: list[DemoSeeder] = []


def register_demo_seeder(seeder: DemoSeeder) -> None:
    if seeder not in _demo_seeders:
        _demo_seeders.append(seeder)


def demo_seeders() -> list[DemoSeeder]:
    return list(_demo_seeders)


# What an app adds to every page's context (the spokes: the signed-in person's exposure today,
# shown in the header). Each takes the request's user and returns context entries.
PageContext = Callable[[Any], dict[str, Any]]
_page_contexts: list[PageContext] = []


def register_page_context(provider: PageContext) -> None:
    if provider not in _page_contexts:
        _page_contexts.append(provider)


def page_context(user: Any) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for provider in _page_contexts:
        extra.update(provider(user))
    return extra
