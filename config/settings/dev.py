"""The embedded default used by ``make run``: SQLite and embedded Redis in the data dir.

Only for one machine: a generated secret key kept in the data dir, loopback webhooks allowed,
email printed to the console.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable

from config.env import env_bool, env_secret, env_str
from config.settings.base import *  # noqa: F403
from config.settings.base import DATA_DIR

DEBUG = env_bool("DJANGO_DEBUG", True)


def _local_key(name: str, file_name: str, make: Callable[[], str]) -> str:
    """Dev only: ``name`` from the environment, else a key generated once into the data dir."""
    configured = env_secret(name)
    if configured:
        return configured
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / file_name
    if not path.exists():
        path.write_text(make(), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


SECRET_KEY = _local_key("DJANGO_SECRET_KEY", "secret_key", lambda: secrets.token_urlsafe(50))
# Fernet keys for secrets at rest, and the Ed25519 key that signs audit checkpoints.
VIHUB_SECRETS_KEYS = _local_key(
    "VIHUB_SECRETS_KEYS", "secrets_key", lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
)
VIHUB_AUDIT_SIGNING_KEY = _local_key(
    "VIHUB_AUDIT_SIGNING_KEY", "audit_signing_key", lambda: base64.b64encode(secrets.token_bytes(32)).decode()
)
# The witness of the embedded default lives in its data dir (production's is off-host); make
# run signs a checkpoint at start-up, so a trail emptied behind its back fails verify_audit.
VIHUB_AUDIT_CHECKPOINT_LOG = env_str("VIHUB_AUDIT_CHECKPOINT_LOG", str(DATA_DIR / "audit-witness.log"))
VIHUB_ALLOW_LOOPBACK_WEBHOOKS = env_bool("VIHUB_ALLOW_LOOPBACK_WEBHOOKS", True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
