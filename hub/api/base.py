"""Base viewset: every queryset is scoped to the caller before any lookup, filter or order."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import QuerySet
from rest_framework import viewsets

from hub.selectors import membership_for


class HubViewSet(viewsets.GenericViewSet):
    """Subclasses implement ``scoped_queryset(membership)`` and declare ``required_roles``."""

    required_roles: ClassVar[dict[str, frozenset[str] | set[str]]] = {}
    lookup_value_regex = "[0-9a-fA-F-]{36}"

    def scoped_queryset(self, membership: Any) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        membership = membership_for(self.request.user)
        if membership is None:
            base = type(self).queryset
            return base.none() if base is not None else QuerySet().none()
        return self.scoped_queryset(membership)

    @property
    def membership(self) -> Any:
        return membership_for(self.request.user)
