"""Benchmark settings: the test settings plus what an in-process ``django.test.Client`` needs.

``DATABASE_URL`` must point at PostgreSQL (``make bench`` starts a throwaway one).
"""

from __future__ import annotations

from config.settings.test import *  # noqa: F403

ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]  # noqa: F405  (django.test.Client's host)
# One persistent connection for the whole run: a reconnect every CONN_MAX_AGE seconds would land
# in a random sample and make p95 measure connection set-up instead of the query.
DATABASES["default"]["CONN_MAX_AGE"] = None  # noqa: F405
