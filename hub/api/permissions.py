"""Deny-by-default, role-based function permissions for every API action.

Each viewset declares ``required_roles = {action: {roles…}}``. An action with no entry is
refused (and fails loudly under test settings, so a new endpoint cannot ship without rows).
Collection actions are decided here; detail actions are decided after the object is looked up
in the caller's scoped queryset, so an object the caller may not see is a 404, and one they
may see but not change is a 403.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from hub.selectors import membership_for

log = logging.getLogger(__name__)


def _roles_for(view: Any) -> frozenset[str] | None:
    required: dict[str, Any] = getattr(view, "required_roles", {})
    action = getattr(view, "action", None)
    if action is None:  # a method the viewset does not route, e.g. OPTIONS
        return None
    roles = required.get(action)
    if roles is None:
        message = f"{type(view).__name__}.required_roles has no entry for action {action!r}"
        if getattr(settings, "VIHUB_STRICT_PERMISSIONS", False):
            raise AssertionError(message)
        log.error(message)
        return None
    return frozenset(roles)


class ActionPermission(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        membership = membership_for(user)
        if membership is None:
            return False
        roles = _roles_for(view)
        if roles is None:
            return False
        if getattr(view, "detail", False):
            return True  # decided in has_object_permission, after the scoped lookup (404 first)
        return membership.role in roles

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        membership = membership_for(request.user)
        roles = _roles_for(view)
        if membership is None or roles is None or membership.role not in roles:
            return False
        check = getattr(view, "check_object_policy", None)
        return True if check is None else bool(check(request, obj))
