"""Secrets VIHub must use later (agencies' webhook signing secrets) are kept encrypted at rest
(issue 14): Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) under keys from the
environment, never in the database. ``VIHUB_SECRETS_KEYS`` is a comma-separated list of Fernet
keys: the first encrypts, every one decrypts, so a key is rotated by putting a new one first and
removing the old one once ``manage.py reencrypt_secrets`` has run.

``EncryptedTextField`` stores ``fernet:<token>``; a value written before encryption existed
(plain text) is still read, and encrypted the next time its row is saved (safeguarding's migration
0004 does that for every endpoint)."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "fernet:"


def _fernet() -> MultiFernet:
    keys = [key.strip() for key in str(settings.VIHUB_SECRETS_KEYS or "").split(",") if key.strip()]
    if not keys:
        raise ImproperlyConfigured("VIHUB_SECRETS_KEYS (or _FILE) is needed to keep secrets encrypted")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"VIHUB_SECRETS_KEYS holds a key that is not a Fernet key: {exc}"
        ) from None


def encrypt(plain: str) -> str:
    return PREFIX + _fernet().encrypt(plain.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored  # written before encryption: read as it is, encrypted when next saved
    try:
        return _fernet().decrypt(stored.removeprefix(PREFIX).encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with VIHUB_SECRETS_KEYS (a key was removed too soon?)"
        ) from None


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """Text kept encrypted in the database and plain in Python."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return decrypt(value) if isinstance(value, str) and value else value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if isinstance(value, str) and value and not value.startswith(PREFIX):
            return encrypt(value)
        return value
