"""Production: everything from the environment, secure cookies, DEBUG off, PostgreSQL and a
real Redis required. Refuses to start when a mandatory value is missing."""

from __future__ import annotations

import copy

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_secret, env_str, require
from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES, LOGGING, REDIS_URL_FROM_ENV

DEBUG = False
SECRET_KEY = require("DJANGO_SECRET_KEY")
# The signing key lives only where checkpoints are signed (the beat worker); other processes
# need the public key to verify. One of the two must be given.
VIHUB_AUDIT_SIGNING_KEY = env_secret("VIHUB_AUDIT_SIGNING_KEY")
VIHUB_AUDIT_PUBLIC_KEY = env_str("VIHUB_AUDIT_PUBLIC_KEY", "")
if not (VIHUB_AUDIT_SIGNING_KEY or VIHUB_AUDIT_PUBLIC_KEY):
    raise ImproperlyConfigured(
        "Set VIHUB_AUDIT_SIGNING_KEY(_FILE) where checkpoints are signed, else VIHUB_AUDIT_PUBLIC_KEY"
    )
# The witness: every signed checkpoint is appended to a file on storage the database (and its
# owner) cannot write, off this host (docs/deploy.md). Without it a trail emptied together with
# its checkpoints would verify, so production does not start without one.
VIHUB_AUDIT_CHECKPOINT_LOG = env_str("VIHUB_AUDIT_CHECKPOINT_LOG", "")
if not VIHUB_AUDIT_CHECKPOINT_LOG:
    raise ImproperlyConfigured(
        "Set VIHUB_AUDIT_CHECKPOINT_LOG to the audit witness file, on storage off this host "
        "that the database cannot write (docs/deploy.md)"
    )
VIHUB_SECRETS_KEYS = require("VIHUB_SECRETS_KEYS")  # agencies' webhook secrets, encrypted at rest
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must list the host names VIHub serves")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("Production needs DATABASE_URL=postgres://…")
if not REDIS_URL_FROM_ENV:
    raise ImproperlyConfigured("Production needs REDIS_URL=redis://… (the embedded Redis is for make run)")

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_AGE = env_int("VIHUB_SESSION_SECONDS", 12 * 60 * 60, minimum=300)

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = require("EMAIL_HOST_PASSWORD") if EMAIL_HOST_USER else ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
VIHUB_ALLOW_LOOPBACK_WEBHOOKS = False

# One JSON object per line (timestamp, level, logger, message, request_id, exception) for the log
# shipper; gunicorn's access log is the operator's choice of flags, not ours.
LOGGING = copy.deepcopy(LOGGING)
LOGGING["handlers"]["console"]["formatter"] = "json"
