"""The embedded default used by ``make run``: SQLite and embedded Redis in the data dir.

Only for one machine: a generated secret key kept in the data dir, loopback webhooks allowed,
email printed to the console.
"""

from __future__ import annotations

import base64
import secrets

from config.env import env_bool, env_secret, env_str
from config.settings.base import *  # noqa: F403
from config.settings.base import DATA_DIR

DEBUG = env_bool("DJANGO_DEBUG", True)


def _local_secret_key() -> str:
    configured = env_secret("DJANGO_SECRET_KEY")
    if configured:
        return configured
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def _local_audit_key() -> str:
    """Dev only: an Ed25519 key generated into the data dir (production: from env or file)."""
    configured = env_secret("VIHUB_AUDIT_SIGNING_KEY")
    if configured:
        return configured
    path = DATA_DIR / "audit_signing_key"
    if not path.exists():
        path.write_text(base64.b64encode(secrets.token_bytes(32)).decode(), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def _local_secrets_key() -> str:
    """Dev only: a Fernet key for secrets at rest, generated into the data dir."""
    configured = env_secret("VIHUB_SECRETS_KEYS")
    if configured:
        return configured
    path = DATA_DIR / "secrets_key"
    if not path.exists():
        path.write_text(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


SECRET_KEY = _local_secret_key()
VIHUB_SECRETS_KEYS = _local_secrets_key()
VIHUB_AUDIT_SIGNING_KEY = _local_audit_key()
# The witness of the embedded default lives in its data dir (production's is off-host); make
# run signs a checkpoint at start-up, so a trail emptied behind its back fails verify_audit.
VIHUB_AUDIT_CHECKPOINT_LOG = env_str("VIHUB_AUDIT_CHECKPOINT_LOG", str(DATA_DIR / "audit-witness.log"))
VIHUB_ALLOW_LOOPBACK_WEBHOOKS = env_bool("VIHUB_ALLOW_LOOPBACK_WEBHOOKS", True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
