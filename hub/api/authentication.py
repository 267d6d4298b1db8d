"""Bearer-token authentication: ``Authorization: Bearer vih_…``. Expired, revoked and unknown
tokens all get the same 401. Failures are counted per source address (``FailedTokenThrottle``):
past the limit the source gets 429 with ``Retry-After`` before any lookup. They are audited in
aggregate: the first failure from a source in the window, and the one that trips the limit
(with the count), not one chain-locked row per guess."""

from __future__ import annotations

from datetime import timedelta
from typing import NoReturn

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from hub.api.throttles import FailedTokenThrottle
from hub.constants import AuditAction
from hub.models import ApiToken, AuditEvent, User
from hub.selectors.prepared import Prepared
from hub.services.audit import audit_record
from hub.services.organisations import hash_token

_LAST_USED_GRANULARITY = timedelta(minutes=1)
# The token, its user, and the user's membership and organisation (and its parent region), which
# every permission check then reads without another query; compiled once (hub.selectors.prepared).
_TOKEN: Prepared[ApiToken] = Prepared(
    lambda token_hash: ApiToken.objects.select_related(
        "user", "user__membership__organisation__parent"
    ).filter(token_hash=token_hash),
    token_hash=str,
)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if len(parts) == 0 or parts[0].lower() != self.keyword.lower():
            return None
        self._request = request
        throttle = FailedTokenThrottle()
        wait = throttle.blocked(request)
        if wait is not None:
            raise exceptions.Throttled(wait, detail="Too many failed tokens from this address.")
        self._throttle = throttle
        if len(parts) != 2:
            self._reject("malformed Authorization header")
        token = _TOKEN.one(token_hash=hash_token(parts[1]))
        now = timezone.now()
        if token is None:
            return self._reject("unknown token")
        if token.revoked_at is not None:
            self._reject("revoked token", token)
        if token.expires_at <= now:
            self._reject("expired token", token)
        if not token.user.is_active:
            self._reject("inactive user", token)
        if token.last_used_at is None or now - token.last_used_at > _LAST_USED_GRANULARITY:
            # Coarse on purpose: one write a minute per token, not one per request.
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def _reject(self, why: str, token: ApiToken | None = None) -> NoReturn:
        throttle = self._throttle
        failures = throttle.record_failure(self._request)
        if failures in (1, throttle.num_requests):  # the first in the window, and the limit
            audit_record(
                actor=None,
                actor_display=f"token {token.prefix}…" if token else "unknown token",
                action=AuditAction.AUTH_TOKEN_REJECTED,
                object_type="api_token",
                object_id=token.pk if token else "",
                changes={
                    "reason": why,
                    "failures_in_window": failures,
                    "limit_reached": failures >= throttle.num_requests,
                    "source": throttle.get_ident(self._request),
                },
                outcome=AuditEvent.Outcome.DENIED,
            )
        # One message for every failure: a caller learns nothing about which tokens exist.
        raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class VerifiedSessionAuthentication(authentication.SessionAuthentication):
    """DRF's session authentication, for a session that passed both factors only: a password
    alone (the second factor not yet entered, hub/web/factors.py) is no session for the API."""

    def authenticate(self, request: Request) -> tuple[User, None] | None:
        found = super().authenticate(request)
        if found is None:
            return None
        verified = getattr(request._request.user, "is_verified", None)
        if verified is None or not verified():
            return None
        return found
