"""Base viewset: every queryset is scoped to the caller before any lookup, filter or order."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.db.models import QuerySet
from django.http import Http404
from rest_framework import exceptions, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from hub.exceptions import DomainError
from hub.policies.rules import Act
from hub.selectors import membership_for
from hub.selectors.prepared import Prepared
from hub.services.audit import audit_list_read


def bool_param(params: Any, name: str) -> bool | None:
    """A true/false query parameter: absent → None; anything but 'true'/'false' → 400."""
    value = params.get(name)
    if value in (None, ""):
        return None
    if value not in ("true", "false"):
        raise DomainError(f"{name} must be 'true' or 'false'", field=name)
    return bool(value == "true")


def expected_version(request: Request, data: dict[str, Any] | None = None) -> str | None:
    """The referral version a decision was based on: ``If-Match`` or a ``version`` field
    (None when the client sent neither: not checked, as for a v1 client)."""
    header = request.headers.get("If-Match", "")
    if header and header != "*":
        return header
    value = (data or {}).get("version")
    return str(value) if value else None


class HubViewSet(viewsets.GenericViewSet[Any]):
    """Subclasses implement ``scoped_queryset(membership)`` and map each of their actions to a
    row of the policy registry in ``policies``."""

    policies: ClassVar[dict[str, Act]] = {}
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    # ``retrieve``'s lookup compiled once per member's organisation and role
    # (hub.selectors.prepared), for the members ``uses_compiled_read`` names: the same scoped
    # queryset, filtered on the primary key, without building and compiling it on every read.
    compiled_read: ClassVar[Prepared[Any] | None] = None

    def uses_compiled_read(self, membership: Any) -> bool:
        return True

    def scoped_queryset(self, membership: Any) -> QuerySet[Any]:
        raise NotImplementedError

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # OPTIONS (DRF's metadata) and TRACE are no action of the rulebook: the methods an
        # operation takes are in the OpenAPI document, so they answer 405 like any other method
        # an endpoint does not take (Schemathesis found them answering 500 under strict settings).
        if request.method in ("OPTIONS", "TRACE"):
            raise exceptions.MethodNotAllowed(request.method)
        # A NUL byte cannot be stored or compared by PostgreSQL: refuse it as bad input (400)
        # instead of letting it surface as a server error.
        if any("\x00" in key or "\x00" in value for key, value in request.query_params.items()):
            raise DomainError("Query parameters must not contain NUL characters", code="invalid_query")
        super().initial(request, *args, **kwargs)

    def get_object(self) -> Any:
        """DRF's lookup, or for ``retrieve`` the compiled read; 404 alike for an object outside
        the member's scope and one that does not exist."""
        membership = self.membership
        compiled = type(self).compiled_read
        if (
            compiled is None
            or self.action != "retrieve"
            or membership is None
            or not self.uses_compiled_read(membership)
        ):
            return super().get_object()
        try:
            pk = uuid.UUID(self.kwargs[self.lookup_url_kwarg or self.lookup_field])
        except ValueError:
            raise Http404 from None
        found = compiled.one(membership, pk=pk)
        if found is None:
            raise Http404
        self.check_object_permissions(self.request, found)
        return found

    def get_queryset(self) -> QuerySet[Any]:
        membership = membership_for(self.request.user)
        if membership is None:
            base = type(self).queryset
            return base.none() if base is not None else QuerySet().none()
        return self.scoped_queryset(membership)

    @property
    def membership(self) -> Any:
        return membership_for(self.request.user)

    def audited_list(self, request: Request, object_type: str) -> Response:
        """A list page of the (filtered) queryset, its ids recorded as a consultation
        (``<object_type>.listed``) before it is answered."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset())) or []
        audit_list_read(
            actor=request.user,  # type: ignore[arg-type]
            object_type=object_type,
            ids=[item.pk for item in page],
            query=dict(request.query_params.items()),
        )
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
