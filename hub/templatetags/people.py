"""One way of naming a person on every page (issue 17): their display name (full name, or the
username of an account without one) with their organisation's code, e.g. "Priya Shah (NCA)".

``{{ user|person }}`` uses the organisation they belong to now; ``{{ user|person:org }}`` the
one a record kept (who recorded an outcome for which organisation, at the time). A built-in
(``TEMPLATES.OPTIONS.builtins``), so no page needs ``{% load %}``."""

from __future__ import annotations

from typing import Any

from django import template

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
