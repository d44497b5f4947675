"""Settings, read from the environment with safe development defaults.

Production is `DEBUG=0`: then SECRET_KEY and ALLOWED_HOSTS must be given, and the
security settings that `manage.py check --deploy` asks for are on.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import TypedDict

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("STATUSPAGE_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def development_secret_key() -> str:
    """A key generated once into var/, so sessions survive restarts of the dev server."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (production).")
    SECRET_KEY = development_secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off (production).")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    "statuspage",
    "incidents",
    "notifiers",
]

MIDDLEWARE = [
    # Outermost, so it counts the queries of every other middleware too.
    "statuspage.operations.queries.QueryCountMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.csp.content_security_policy",
    "incidents.console.throttle.LoginThrottleMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "statuspage.public.context_processors.branding",
                "statuspage.public.context_processors.audience_page",
            ],
        },
    },
]


def database_config() -> dj_database_url.DBConfig:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'statuspage.sqlite3'}"
    config = dj_database_url.parse(url, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # The web server, the engine and the django-q2 cluster share one file: WAL lets
        # readers go on during a write, IMMEDIATE takes the write lock up front so two
        # writers queue on the busy timeout instead of failing with "database is locked".
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
        # Tests use a file too: an in-memory database shares one cache between threads and
        # fails concurrent writers at once ("table is locked") instead of queueing them.
        config["TEST"] = {"NAME": str(VAR_DIR / "test-statuspage.sqlite3")}
    return config


DATABASES = {"default": database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# Readers get their browser's language (Accept-Language) or the one they pick on the page.
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "statuspage" / "locale", BASE_DIR / "incidents" / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "statuspage" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

LOGIN_URL = "admin:login"
# Where a staff login without ?next= lands: the console, not Django's /accounts/profile/.
LOGIN_REDIRECT_URL = "console-dashboard"
# How often the console dashboard asks for new incidents, fired steps and staff alerts.
CONSOLE_REFRESH_SECONDS = env_int("CONSOLE_REFRESH_SECONDS", 5)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Production security (what `check --deploy` asks for) -----------------------------
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_bool("SECURE_PROXY_SSL_HEADER", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Task queue (django-q2) ----------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
Q_TIMEOUT = env_int("Q_TIMEOUT", 60)
Q_CLUSTER = {
    "name": os.environ.get("Q_CLUSTER_NAME", "statuspage"),
    "workers": env_int("Q_WORKERS", 2),
    # A task runs at most `timeout` seconds; an unacknowledged one is handed out again
    # after `retry`, which must be longer, or a slow task would run twice at once.
    "timeout": Q_TIMEOUT,
    "retry": env_int("Q_RETRY", 90),
    "max_attempts": 5,
    "catch_up": False,
    # Delivery rows, not the broker, are the truth for retries: a failed task is acked.
    "ack_failures": True,
    "save_limit": 1000,
    "label": "Task queue",
}
# Redis wherever it is configured (docs/OPERATIONS.md, "The task cluster": why).
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 0.5

# --- The answer store (statuspage.public.store, docs/OPERATIONS.md "The answer store") --
# Public answers rendered once per change of the picture, read by every web worker. Redis
# when there is one (its own key prefix beside django-q2's keys; ANSWERS_REDIS_URL moves it
# to another database or server); otherwise files under var/, which every worker process
# on this machine shares (a per-process memory cache would not see another's renders, and a
# database cache would spend the queries the store exists to save).
ANSWERS_REDIS_URL = os.environ.get("ANSWERS_REDIS_URL", REDIS_URL)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "answers": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": ANSWERS_REDIS_URL,
        "KEY_PREFIX": "statuspage-answers",
        "TIMEOUT": 3600,
    }
    if ANSWERS_REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": os.environ.get("ANSWERS_CACHE_DIR", str(VAR_DIR / "answers")),
        "TIMEOUT": 3600,
        "OPTIONS": {"MAX_ENTRIES": 2000},
    },
}


class AnswersSettings(TypedDict):
    ENABLED: bool
    REFRESH_SECONDS: int


ANSWERS: AnswersSettings = {
    # Off: every public request renders live, as before the store.
    "ENABLED": env_bool("ANSWERS_STORE", True),
    # A stored answer is rendered again at least this often even when nothing changed: the
    # time-driven parts (monitoring interrupted, "last checked", today's bar) move on.
    "REFRESH_SECONDS": env_int("ANSWERS_REFRESH_SECONDS", 10),
}


class TasksSettings(TypedDict):
    STALL_SECONDS: int
    CHECK_SECONDS: float
    STOP_GRACE_SECONDS: float


# `manage.py tasks`, the supervisor of the django-q2 cluster (notifiers.delivery.supervisor).
TASKS: TasksSettings = {
    # Work queued this long with no task finished meanwhile: the queue is stalled; the
    # supervisor restarts its cluster, and the engine and the watchdog page staff once.
    "STALL_SECONDS": env_int("TASKS_STALL_SECONDS", 120),
    # How often the supervisor reads the queue's health.
    "CHECK_SECONDS": float(os.environ.get("TASKS_CHECK_SECONDS", "5")),
    # On stop, workers get this long to finish their task before they are killed (a
    # killed task is handed out again by the broker or swept up by the outbox).
    "STOP_GRACE_SECONDS": float(os.environ.get("TASKS_STOP_GRACE_SECONDS", "8")),
}


# The project's own settings dicts are TypedDicts, so that mypy knows each key's type.
class StatusPageSettings(TypedDict):
    NAME: str
    URL: str
    PAGE_ID: str
    SUPPORT_URL: str
    LOGO_URL: str
    HOME_URL: str
    BRAND_COLOUR: str
    BANNER_TTL_SECONDS: int
    AUTO_RESOLVE_AFTER_SECONDS: int
    MIN_PROBE_INTERVAL_SECONDS: int


class EngineSettings(TypedDict):
    TICK_SECONDS: float
    MAX_CONCURRENCY: int
    HEARTBEAT_SECONDS: float
    CA_FILE: str
    ONCALL_PAGERS: list[str]
    INTERRUPTION_CHANNELS: list[str]
    HOUSEKEEPING: list[str]
    ON_VERDICT: list[str]
    REGION: str
    RAW_RETENTION_DAYS: int


class FirebaseSettings(TypedDict):
    CREDENTIALS_FILE: str
    PROJECT_ID: str
    PUSH_TTL_SECONDS: int
    COMPONENT_TOPIC_PREFIX: str


class TwilioSettings(TypedDict):
    ACCOUNT_SID: str
    AUTH_TOKEN: str
    MESSAGING_SERVICE_SID: str
    VOICE_FROM: str
    SMS_VALIDITY_SECONDS: int
    SMS_PER_SECOND: float
    SMS_KINDS: list[str]
    SMS_COUNTRIES: list[str]
    DEFAULT_REGION: str


class SendGridSettings(TypedDict):
    API_KEY: str
    FROM_EMAIL: str
    FROM_NAME: str
    EVENT_WEBHOOK_PUBLIC_KEY: str


class NotifiersSettings(TypedDict):
    SUBSCRIBE_PER_IP_PER_HOUR: int
    SUBSCRIBE_PER_DESTINATION_PER_HOUR: int
    SEND_SLICE_SECONDS: float
    WEBHOOK_ALLOWED_NETWORKS: list[str]
    SENDING_LEASE_SECONDS: int
    SEND_QUEUE_LEASE_SECONDS: int
    BACKUP_AFTER_BREAKER_OPEN_MINUTES: int


class OperationsSettings(TypedDict):
    METRICS_ALLOWED_NETWORKS: list[str]


class RateLimitSettings(TypedDict):
    PER_IP: int
    PER_DESTINATION: int
    WINDOW_SECONDS: int


# --- The status page -----------------------------------------------------------------
STATUSPAGE: StatusPageSettings = {
    "NAME": os.environ.get("STATUSPAGE_NAME", "Status"),
    "URL": os.environ.get("STATUSPAGE_URL", f"http://127.0.0.1:{env_int('PORT', 8000)}"),
    "PAGE_ID": os.environ.get("STATUSPAGE_PAGE_ID", "statuspage"),
    "SUPPORT_URL": os.environ.get("STATUSPAGE_SUPPORT_URL", ""),
    # Branding of the public page: logo image URL, the company's site, a #rrggbb accent.
    "LOGO_URL": os.environ.get("STATUSPAGE_LOGO_URL", ""),
    "HOME_URL": os.environ.get("STATUSPAGE_HOME_URL", ""),
    "BRAND_COLOUR": os.environ.get("STATUSPAGE_BRAND_COLOUR", ""),
    # How long a banner.json answer stays valid; apps say "status unknown" past it.
    "BANNER_TTL_SECONDS": env_int("BANNER_TTL_SECONDS", 60),
    # Resolve a recovered incident by itself after this many seconds of stability (0: never).
    "AUTO_RESOLVE_AFTER_SECONDS": env_int("AUTO_RESOLVE_AFTER_SECONDS", 0),
    "MIN_PROBE_INTERVAL_SECONDS": 10,
}

# A static copy of the public site, rewritten on every change and at least every minute,
# for any web server or CDN to serve when the app is down (empty: off). It is a symlink the
# publisher switches atomically between versions kept beside it.
STATUS_SNAPSHOT_DIR = os.environ.get("STATUS_SNAPSHOT_DIR", "")

# --- The engine (probes) -------------------------------------------------------------
ENGINE: EngineSettings = {
    "TICK_SECONDS": float(os.environ.get("ENGINE_TICK_SECONDS", "0.5")),
    "MAX_CONCURRENCY": env_int("ENGINE_MAX_CONCURRENCY", 200),
    # The engine stamps its heartbeat this often; two missed => "status unknown" everywhere.
    "HEARTBEAT_SECONDS": float(os.environ.get("ENGINE_HEARTBEAT_SECONDS", "10")),
    # Extra CA certificates to trust for HTTPS probes (a private CA); empty: the system's.
    "CA_FILE": os.environ.get("ENGINE_CA_FILE", ""),
    # Called with (MonitoringState, now) once per interruption, by the web process or the
    # watchdog, and once more (state.interrupted False) when the engine cycles again; and
    # with (ProbeSilence, now) once per probe going silent and once when it is checked again
    # (statuspage.picture.silence).
    "ONCALL_PAGERS": env_list(
        "ENGINE_ONCALL_PAGERS",
        ["statuspage.picture.monitoring.log_page", "incidents.response.interruptions.page"],
    ),
    # The channels incidents.response.interruptions pages on-call staff on (through the outbox).
    "INTERRUPTION_CHANNELS": env_list("ENGINE_INTERRUPTION_CHANNELS", ["sms", "email"]),
    # Called with `now` every few seconds, each in its own try, by the one engine holding the
    # housekeeping lease (statuspage.models.Lease) when several run.
    "HOUSEKEEPING": [
        "incidents.response.workflow.auto_resolve_due",
        "notifiers.delivery.dispatch.retry_due",
        "notifiers.delivery.confirmations.retry_due",
        "notifiers.delivery.backups.send_backups_due",
        "statuspage.probes.rollups.roll_up",
        "statuspage.probes.rollups.purge_expired",
        "statuspage.picture.uptime.refresh_uptime",
        # Probes nobody checked for two intervals: "status unknown" and one page each.
        "statuspage.picture.silence.sweep",
        "statuspage.public.snapshot.publish_if_due",
        # The most-read public answers renewed in the answer store before they go stale.
        "statuspage.public.prewarm.refresh",
        "incidents.response.clock.tick",
        "incidents.response.queue_stall.check_queue",
        # Spent and expired one-time links past the age their signatures are accepted.
        "incidents.response.acks.forget_spent_links",
        "statuspage.public.member_link.forget_old_links",
    ],
    # Run at once by any engine that acted on a verdict, lead or not (the T+0 step must not
    # wait for the leader's next pass); each must be safe in several engines at once.
    "ON_VERDICT": ["incidents.response.clock.tick"],
    # This engine's region, if it is one of the vantage points of multi-region probes.
    "REGION": os.environ.get("ENGINE_REGION", ""),
    # Raw check results are kept this many days; daily roll-ups are kept forever.
    "RAW_RETENTION_DAYS": env_int("RAW_RETENTION_DAYS", 14),
}

# --- Providers -----------------------------------------------------------------------
# Every provider is reached through its official SDK. SANDBOX_URL points all of them at
# our loopback provider sandbox (demo and tests); leave it empty in production.
SANDBOX_PORT = env_int("SANDBOX_PORT", 8001)
SANDBOX_URL = os.environ.get("SANDBOX_URL", "")

FIREBASE: FirebaseSettings = {
    # Path to a service-account JSON file. In sandbox mode one is generated into var/.
    "CREDENTIALS_FILE": os.environ.get("FIREBASE_CREDENTIALS_FILE", ""),
    "PROJECT_ID": os.environ.get("FIREBASE_PROJECT_ID", ""),
    "PUSH_TTL_SECONDS": env_int("PUSH_TTL_SECONDS", 3600),
    # A component's push topic is this prefix and its public id (apps subscribe devices).
    "COMPONENT_TOPIC_PREFIX": os.environ.get("PUSH_COMPONENT_TOPIC_PREFIX", "component-"),
}

DEMO_SERVICE_PORT = env_int("DEMO_SERVICE_PORT", 8002)
# For `manage.py demo replay` only: how much faster than real time statuspage.clock runs,
# from the (real, virtual) moments the replay anchors it at. Never set in production.
DEMO_CLOCK_SPEED = float(os.environ.get("DEMO_CLOCK_SPEED", "1"))
DEMO_CLOCK_ANCHOR: tuple[datetime, datetime] | None = None

# --- Notifiers (SMS, email, subscribers) ---------------------------------------------
# In sandbox mode (SANDBOX_URL set) the sandbox's own test credentials are used instead.
TWILIO: TwilioSettings = {
    "ACCOUNT_SID": os.environ.get("TWILIO_ACCOUNT_SID", ""),
    "AUTH_TOKEN": os.environ.get("TWILIO_AUTH_TOKEN", ""),
    "MESSAGING_SERVICE_SID": os.environ.get("TWILIO_MESSAGING_SERVICE_SID", ""),
    # The caller id of on-call paging calls.
    "VOICE_FROM": os.environ.get("TWILIO_VOICE_FROM", ""),
    # A stale outage text is worse than none: the provider drops it after this long.
    "SMS_VALIDITY_SECONDS": env_int("SMS_VALIDITY_SECONDS", 900),
    # Messages per second the sender allows: 1 long code, 3 toll-free, 100 short code.
    "SMS_PER_SECOND": float(os.environ.get("SMS_PER_SECOND", "1")),
    # SMS is slow and costly: by default the opening, status changes and the resolution.
    "SMS_KINDS": env_list("SMS_KINDS", ["opened", "recovering", "relapsed", "resolved"]),
    # Countries a subscriber's phone may be in (SMS pumping fraud is real).
    "SMS_COUNTRIES": env_list("SMS_COUNTRIES", ["US", "CA", "GB", "IE", "DE", "FR", "NL"]),
    "DEFAULT_REGION": os.environ.get("SMS_DEFAULT_REGION", "US"),
}
SENDGRID: SendGridSettings = {
    "API_KEY": os.environ.get("SENDGRID_API_KEY", ""),
    "FROM_EMAIL": os.environ.get("EMAIL_FROM", "status@example.com"),
    "FROM_NAME": os.environ.get("EMAIL_FROM_NAME", ""),
    # The Event Webhook's verification key (base64 DER, as SendGrid's settings show it).
    "EVENT_WEBHOOK_PUBLIC_KEY": os.environ.get("SENDGRID_EVENT_WEBHOOK_PUBLIC_KEY", ""),
}
# Replays of provider webhooks (docs/RELIABILITY.md, "Security: input, replays and fuzzing"):
# a SendGrid event batch signed longer ago than this (either way) is refused, and event ids
# and Twilio status-callback MessageSids are remembered this long, in the database.
WEBHOOK_REPLAY_TOLERANCE_SECONDS = env_int("WEBHOOK_REPLAY_TOLERANCE_SECONDS", 300)
# Twilio signs no time: the MessageSids of texts sent to our number (STOP, START, HELP) are
# remembered this long, so no replayed START re-enables a number that sent STOP.
TWILIO_INBOUND_MEMORY_DAYS = env_int("TWILIO_INBOUND_MEMORY_DAYS", 400)
# How long the acknowledge link (and voice callback) in an on-call page works, once.
ACK_LINK_MAX_AGE_SECONDS = env_int("ACK_LINK_MAX_AGE_SECONDS", 24 * 3600)
NOTIFIERS: NotifiersSettings = {
    # Rate limits on the public subscribe forms: attempts per hour.
    "SUBSCRIBE_PER_IP_PER_HOUR": env_int("SUBSCRIBE_PER_IP_PER_HOUR", 20),
    "SUBSCRIBE_PER_DESTINATION_PER_HOUR": env_int("SUBSCRIBE_PER_DESTINATION_PER_HOUR", 3),
    # How long a send task keeps a worker before yielding it to other channels' tasks.
    "SEND_SLICE_SECONDS": float(os.environ.get("SEND_SLICE_SECONDS", "5")),
    # Webhooks are never sent to private, loopback, link-local or reserved addresses
    # (SSRF), except to these networks. Development allows loopback (the sandbox).
    "WEBHOOK_ALLOWED_NETWORKS": env_list(
        "WEBHOOK_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"] if DEBUG else []
    ),
    # The outbox sweep's leases (read once at startup): a delivery claimed this long ago
    # is taken to be lost with a dead worker and sent again (a send task is killed at its
    # time limit, so past that and a margin its claim is surely orphaned); a queued fan-out
    # or send task not finished this long after it was queued is queued again.
    "SENDING_LEASE_SECONDS": env_int("OUTBOX_SENDING_LEASE_SECONDS", Q_TIMEOUT + 30),
    "SEND_QUEUE_LEASE_SECONDS": env_int("OUTBOX_SEND_QUEUE_LEASE_SECONDS", 120),
    # A subscriber's pending delivery goes to their confirmed backup contact too once its
    # provider's circuit breaker has been open this long (notifiers.delivery.backups).
    "BACKUP_AFTER_BREAKER_OPEN_MINUTES": env_int("BACKUP_AFTER_BREAKER_OPEN_MINUTES", 10),
}
NOTIFIERS_ONCALL_PROVIDER = "incidents.response.oncall.on_call_now"
# Who a fired page was recorded for (so a retry after a hand-off reaches the same people).
NOTIFIERS_ONCALL_PAGED_PROVIDER = "incidents.response.oncall.paged_contacts"

# Rate limits of the other public endpoints, on the subscribe forms' limiter
# (notifiers.ratelimit): attempts per client address and per destination
# (a ping URL's key, an agent's token) within the window; past them, 429 with Retry-After.
RATE_LIMITS: dict[str, RateLimitSettings] = {
    "ping": {
        "PER_IP": env_int("PING_PER_IP_PER_MINUTE", 1200),
        "PER_DESTINATION": env_int("PING_PER_KEY_PER_MINUTE", 60),
        "WINDOW_SECONDS": 60,
    },
    "agent": {
        "PER_IP": env_int("AGENT_API_PER_IP_PER_MINUTE", 600),
        "PER_DESTINATION": env_int("AGENT_API_PER_TOKEN_PER_MINUTE", 120),
        "WINDOW_SECONDS": 60,
    },
    # Confirmation texts (SMS pumping): per client an hour, and for the whole site an hour
    # (the "destination" is the site); past the site's budget SMS sign-up pauses.
    "sms": {
        "PER_IP": env_int("SMS_CONFIRMATIONS_PER_CLIENT_PER_HOUR", 5),
        "PER_DESTINATION": env_int("SMS_CONFIRMATIONS_PER_HOUR", 100),
        "WINDOW_SECONDS": 3600,
    },
    # One-time sign-in links asked for: per client an hour, and per username an hour.
    "login-link": {
        "PER_IP": env_int("LOGIN_LINKS_PER_CLIENT_PER_HOUR", 10),
        "PER_DESTINATION": env_int("LOGIN_LINKS_PER_USER_PER_HOUR", 3),
        "WINDOW_SECONDS": 3600,
    },
    # Members' sign-in links asked for on an audience page: per client an hour, and per
    # email address an hour (whatever the page).
    "member-link": {
        "PER_IP": env_int("MEMBER_LINKS_PER_CLIENT_PER_HOUR", 10),
        "PER_DESTINATION": env_int("MEMBER_LINKS_PER_ADDRESS_PER_HOUR", 3),
        "WINDOW_SECONDS": 3600,
    },
    # Acknowledge links opened (GET or POST): per client a minute, and per link a minute.
    "ack": {
        "PER_IP": env_int("ACK_LINKS_PER_CLIENT_PER_MINUTE", 30),
        "PER_DESTINATION": env_int("ACK_LINKS_PER_LINK_PER_MINUTE", 10),
        "WINDOW_SECONDS": 60,
    },
    # Push device registrations: per client an hour, and per app installation an hour.
    "push": {
        "PER_IP": env_int("PUSH_REGISTRATIONS_PER_CLIENT_PER_HOUR", 60),
        "PER_DESTINATION": env_int("PUSH_REGISTRATIONS_PER_INSTALLATION_PER_HOUR", 5),
        "WINDOW_SECONDS": 3600,
    },
}

# --- Operations: /metrics, /healthz, /readyz (statuspage.operations) ------------------
OPERATIONS: OperationsSettings = {
    # Who may scrape /metrics: Prometheus on loopback or the private network. A request a
    # proxy forwarded (X-Forwarded-For) is refused whatever its address.
    "METRICS_ALLOWED_NETWORKS": env_list(
        "METRICS_ALLOWED_NETWORKS",
        ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
    ),
}
# prometheus_client's multiprocess mode: each process of a node (web workers, engine, task
# workers) writes its counters here and any web process's /metrics adds them up. Set one
# directory per node; `manage.py metrics_reset` wipes it before the node's processes start.
# Unset: single-process mode (each process's own counters only).
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

# --- Logins, proxies and sign-ups (docs/OPERATIONS.md, "Logins, proxies and sign-ups") ---
# Which X-Forwarded-For hop is the client (statuspage.clients): a count of the proxies in
# front of us, or their comma-separated networks. Unset: REMOTE_ADDR is the client.
TRUSTED_PROXIES = os.environ.get("TRUSTED_PROXIES", "")
if not TRUSTED_PROXIES.strip().isdigit():
    for _network in env_list("TRUSTED_PROXIES", []):
        try:
            ipaddress.ip_network(_network, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES: {_network!r} is neither a count of proxies nor a network."
            ) from None
# Every password login (console, admin, any other) goes through this backend first: it
# refuses, unchecked, a try made during the growing delay (incidents.console.throttle).
AUTHENTICATION_BACKENDS = [
    "incidents.console.throttle.ThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_THROTTLE = {
    # Failures free of delay per (username, client), and per client over all usernames.
    "FREE_PER_USER_CLIENT": env_int("LOGIN_FREE_FAILURES_PER_USER_CLIENT", 5),
    "FREE_PER_CLIENT": env_int("LOGIN_FREE_FAILURES_PER_CLIENT", 20),
    # ... and per username from every client together (many addresses guessing one account).
    "FREE_PER_USER": env_int("LOGIN_FREE_FAILURES_PER_USER", 100),
    # Past them each failure doubles the wait before the next try, from this, up to the cap.
    "FIRST_DELAY_SECONDS": env_int("LOGIN_FIRST_DELAY_SECONDS", 30),
    "MAX_DELAY_SECONDS": env_int("LOGIN_MAX_DELAY_SECONDS", 900),
    # Counters are forgotten this long after the last failure.
    "FORGET_AFTER_SECONDS": env_int("LOGIN_FORGET_AFTER_SECONDS", 86400),
    # The one-time sign-in link by email (a delayed account can still get in).
    "LINK_MAX_AGE_SECONDS": env_int("LOGIN_LINK_MAX_AGE_SECONDS", 900),
    # The one-time sign-in link an audience page's member asks for (statuspage.public.member_link).
    "MEMBER_LINK_MAX_AGE_SECONDS": env_int("MEMBER_LOGIN_LINK_MAX_AGE_SECONDS", 900),
}
# The limits' counters live in a cache every process shares: Redis when REDIS_URL is set,
# otherwise files under var/ (every gunicorn worker on this machine sees the same counts;
# a per-process memory cache would give each worker its own allowance).
LIMITS_CACHE = "limits"
# Beside "default" and the answer store's "answers" (above).
CACHES[LIMITS_CACHE] = (
    {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "limits",
    }
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": os.environ.get("LIMITS_CACHE_DIR", str(VAR_DIR / "limits")),
        "OPTIONS": {"MAX_ENTRIES": 20000},
    }
)
# Push registration: when set, an app proves it is the app with one of these keys in the
# X-App-Key header (comma separated, so a key can be rotated).
PUSH_APP_KEYS = env_list("PUSH_APP_KEYS", [])
