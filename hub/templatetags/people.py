"""One way of naming a person on every page (issue 17): their display name (full name, or the
username of an account without one) with their organisation's code, e.g. "Priya Shah (NCA)".

``{{ user|person }}`` uses the organisation they belong to now; ``{{ user|person:org }}`` the
one a record kept (who recorded an outcome for which organisation, at the time). A built-in
(``TEMPLATES.OPTIONS.builtins``), so no page needs ``{% load %}``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template
from django.utils.dateparse import parse_duration

register = template.Library()


@register.filter
def person(user: Any, org: Any = None) -> str:
    if user is None:
        return "system"
    name = user.get_full_name() or user.username
    if org is None:
        membership = getattr(user, "membership", None)  # None for an account without one
        org = membership.organisation if membership is not None else None
    code = getattr(org, "code", "") or ""
    return f"{name} ({code})" if code else name


@register.filter
def span(value: Any) -> str:
    """A duration as a person says it: "30 days", "4 h", "1 day 2 h 30 min" (a timedelta, or
    its ``str()`` as the deadline policy's audit rows keep it)."""
    if isinstance(value, str):
        value = parse_duration(value)
    if not isinstance(value, timedelta):
        return "—"
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{mins} min"] if mins else []
    return " ".join(parts) or "0 min"
