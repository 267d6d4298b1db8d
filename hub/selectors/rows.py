"""``one_or_none``: the row of a lookup on a unique key, or None."""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


def one_or_none(queryset: QuerySet[M]) -> M | None:
    """The row of ``queryset`` filtered on a unique key (a token's hash, a user's membership, an
    agency's reference), or None. Not ``.first()``: that adds ``ORDER BY pk``, and compiling the
    ordering through a ``select_related`` cost as much CPU again as the rest of the bearer-token
    lookup every API request makes (1.8 against 1.2 ms, measured)."""
    for row in queryset[:1]:
        return row
    return None
