"""``one_or_none``: the row of a lookup on a unique key, or None."""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


def one_or_none(queryset: QuerySet[M]) -> M | None:
    """The row of ``queryset`` filtered on a unique key (a user's membership, a referral in the
    caller's scope), or None. Not ``.first()``: that adds ``ORDER BY pk``, which a unique key does
    not need, and compiling an ordering through a ``select_related`` is not free (it once cost the
    bearer-token lookup 1.8 against 1.2 ms; that lookup, like the other per-request ones, is now a
    compiled ``hub.selectors.prepared.Prepared``)."""
    for row in queryset[:1]:
        return row
    return None
