"""Standard Webhooks signing (https://www.standardwebhooks.com): ``webhook-signature:
v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`` keyed with the
base64-decoded part of the ``whsec_`` secret; several space-separated signatures during a
secret rotation. Delivery goes through ``hub.outbound.post`` (no private networks)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from hub.outbound import HttpResult, UnsafeTarget, post, vet_url

__all__ = ["HttpResult", "UnsafeTarget", "new_secret", "post", "sign", "signature_header", "vet_url"]

SECRET_PREFIX = "whsec_"  # noqa: S105  (the spec's public prefix, not a secret)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(*, secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    return " ".join(sign(secret=s, msg_id=msg_id, timestamp=timestamp, body=body) for s in secrets_ if s)
