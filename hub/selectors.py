"""Reads: tenant-scoped QuerySets and small lookups. Nothing here writes."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from hub.models import Membership, Organisation


def membership_for(user: Any) -> Membership | None:
    """The user's membership (organisation and role), cached on the user object per request."""
    if user is None or not user.is_authenticated:
        return None
    cached = getattr(user, "_vihub_membership", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    membership = Membership.objects.select_related("organisation", "organisation__parent").filter(user=user).first()
    user._vihub_membership = membership
    return membership


def organisation_list() -> QuerySet[Organisation]:
    return Organisation.objects.select_related("parent").filter(is_active=True).order_by("kind", "code")
