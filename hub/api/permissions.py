"""Deny-by-default permissions for every API action, read from the policy registry.

Each viewset maps its DRF actions to registry actions: ``policies = {"list": Act.TASK_LIST,
…}``. An action with no entry is refused (and fails loudly under test settings, so a new
endpoint cannot ship without a row). Collection actions are decided here; detail actions after
the object is looked up in the caller's scoped queryset, so an object the caller may not see is
a 404, and one they may see but not change a 403. The state (409) is the service's to check, on
the row it locks, after the input has been validated.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from hub.exceptions import NotPermitted
from hub.policies.rules import Act, actor_for, authorize, rule_for
from hub.web.factors import factor_recent

log = logging.getLogger(__name__)


def act_for(view: Any) -> Act | None:
    """The registry action behind the view's current DRF action (None: refuse)."""
    policies: dict[str, Act] = getattr(view, "policies", {})
    action = getattr(view, "action", None)
    if action is None:  # a method the viewset does not route, e.g. OPTIONS
        return None
    act = policies.get(action)
    if act is None:
        message = f"{type(view).__name__}.policies has no entry for action {action!r}"
        if getattr(settings, "VIHUB_STRICT_PERMISSIONS", False):
            raise AssertionError(message)
        log.error(message)
    return act


def _stepped_up(request: Request, act: Act) -> None:
    """A row marked ``step_up`` asked through a browser session needs a recent second factor
    (hub/web/factors.py); a bearer token is not a session and is not asked."""
    if rule_for(act).step_up and request.auth is None and not factor_recent(request._request):
        raise NotPermitted(
            "Enter a code from your authenticator app again before this (at /two-factor/confirm/).",
            code="step_up_required",
        )


class ActionPermission(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated) or actor_for(user) is None:
            return False
        act = act_for(view)
        if act is None:
            return False
        _stepped_up(request, act)
        if getattr(view, "detail", False):
            return True  # decided in has_object_permission, after the scoped lookup (404 first)
        authorize(user, act, state=False)
        return True

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        act = act_for(view)
        if act is None:
            return False
        authorize(request.user, act, obj, seen=True, state=False)  # type: ignore[arg-type]
        return True
