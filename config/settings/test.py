"""Test settings: the database and Redis come from DATABASE_URL / REDIS_URL set by `make test`
(a throwaway PostgreSQL and Redis); without them, SQLite in memory and the local Redis URL."""

from __future__ import annotations

import base64
import os
import secrets
from urllib.parse import urlsplit, urlunsplit

# pytest-xdist runs the suite in several processes against one Redis: each process gets a Redis
# database of its own (gw0 -> 1, gw1 -> 2, ...), so a test that empties the broker and cache
# (``committed_db``) or runs a real worker never touches another process's keys or jobs. Set in
# the environment before the base settings read it, so the workers and servers a test starts
# use the same database.
_process = os.environ.get("PYTEST_XDIST_WORKER", "")
if os.environ.get("REDIS_URL", "").startswith("redis://") and _process.startswith("gw"):
    _url = urlsplit(os.environ["REDIS_URL"])
    os.environ["REDIS_URL"] = urlunsplit(_url._replace(path=f"/{int(_process[2:]) + 1}"))

from config.env import env_bool  # noqa: E402
from config.settings.base import *  # noqa: E402, F403

SECRET_KEY = secrets.token_urlsafe(50)  # fresh per run: nothing to leak
VIHUB_AUDIT_SIGNING_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
VIHUB_ALLOW_LOOPBACK_WEBHOOKS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

if not REDIS_URL_FROM_ENV:  # noqa: F405
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

VIHUB_STRICT_PERMISSIONS = True
STATIC_ROOT = None  # type: ignore[assignment]  # no collected files in tests

VIHUB_WEBHOOK_RETRY_BASE_SECONDS = 1

# Tests move time with time-machine, which cannot move PostgreSQL's clock: deadlines follow the
# application's clock here, except in the tests that prove the database's clock wins.
VIHUB_CLOCK = "application"
# Tests decide which jobs run when; the start-up jobs are switched on by the test that checks them.
VIHUB_STARTUP_JOBS = env_bool("VIHUB_STARTUP_JOBS", False)

# The suite's many clients share one address: the limits are set low only by the tests of them
# (tests/hub/test_rate_limits.py), each from its own address.
VIHUB_RATE_FAILED_TOKENS = "100000/min"
VIHUB_RATE_INTAKE_ACCOUNT = "100000/min"
VIHUB_RATE_INTAKE_SOURCE = "100000/min"

VIHUB_SECRETS_KEYS = "tDC4uSAzzmKxzHLF0g9r5X3o2yfiQHy5hpYKlgxZCWU="  # a test-only Fernet key

# The suite reads the trail straight after each action: events are chained in their own
# transaction, except in the tests of the sequencer (tests/hub/test_audit_sequencer.py).
VIHUB_AUDIT_CHAIN = "inline"
