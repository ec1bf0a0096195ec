"""Settings for the API diagnostics dashboard: one file, driven by environment variables.

With nothing set, the dashboard runs on embedded defaults (SQLite and a filesystem broker
under ``var/``). Every variable is listed in the README. A malformed value stops start-up
with a message naming the variable.
"""

import os
import re
from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str, env: Mapping[str, str] = os.environ) -> bool:
    value = env.get(name, default).strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0/true/false/yes/no/on/off, not {value!r}")


def envint(name: str, default: str) -> int:
    value = os.getenv(name, default)
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def envfloat(name: str, default: str) -> float:
    value = os.getenv(name, default)
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def envrate(name: str, default: str) -> str:
    """A django-ratelimit rate: a count per second, minute, hour or day ("30/m", "5/10m")."""
    value = os.getenv(name, default).strip()
    if not re.fullmatch(r"\d+/\d*[smhd]", value):
        raise ImproperlyConfigured(f"{name} must be a rate like 30/m or 5/h, not {value!r}")
    return value


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


VAR_DIR = Path(os.getenv("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = envbool("DEBUG", "1")

SECRET_KEY = os.getenv("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"  # noqa: S105

# Fernet keys for secrets stored on runs (API keys, credential headers). Separate from
# SECRET_KEY. Comma-separated: the first encrypts, all decrypt (rotation).
FIELD_ENCRYPTION_KEYS = envlist("FIELD_ENCRYPTION_KEYS", "")
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set when DEBUG is off")
    FIELD_ENCRYPTION_KEYS = ["ZGV2ZWxvcG1lbnQtb25seS1maWVsZC1rZXktMDAwMDA="]

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
SITE_URL = os.getenv("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "django_ratelimit",
    "apps.accounts",
    "apps.runs",
    "apps.egress",
    "apps.diagnosis",
    "apps.sandbox",
    "apps.health",
    "apps.sharing",
    "apps.demo",
    "apps.library",
    "apps.vault",
    "ninja",  # django-ninja: the JSON API's OpenAPI document and its docs page's assets
    "apps.api",
    "apps.monitors",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Before CSRF, which reads the post: a form too large for Django is read field by field.
    "dashboard.middleware.OversizedFormMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout into its own response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.accounts.context_processors.current_team",
                "apps.accounts.context_processors.signup",
                "apps.health.context_processors.worker_status",
                "apps.sandbox.context_processors.sandbox",
            ],
        },
    },
]

# Database: SQLite under var/ unless DATABASE_URL is set (PostgreSQL in production and CI).
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        # Connections are kept between requests and tasks (a new PostgreSQL connection costs
        # a few ms each time); one that broke is noticed and replaced before it is used.
        conn_max_age=envint("DB_CONN_MAX_AGE", "600"),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker processes write to the same file: WAL lets readers
    # go on during a write, IMMEDIATE transactions queue writers instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file, not memory, so that a worker process started by the tests sees it too.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
elif envbool("DB_PREPARED_STATEMENTS", "1"):
    # The few statements every run goes through (apps.runs.statements.prepared_cursor) are
    # prepared on each connection after a few uses, so PostgreSQL stops planning them again;
    # the ORM's own queries bind on the client and are never prepared. Turn off behind a
    # pooler that cannot keep prepared statements (PgBouncer before 1.21 in transaction mode).
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHE_URL = os.getenv("CACHE_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
    # Sessions read from the shared cache (written to both): no database query per request
    # for them. Only with a cache every process shares: with one per process, a session
    # ended in one process would live on in the others' memory.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
elif CACHE_URL:
    raise ImproperlyConfigured(f"CACHE_URL must be a redis:// URL, not {CACHE_URL!r}")
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses sign-in while locked out
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Password reset links in emails stay valid this long (Django's default is 3 days).
PASSWORD_RESET_TIMEOUT = int(envfloat("PASSWORD_RESET_TIMEOUT_HOURS", "24") * 3600)
if PASSWORD_RESET_TIMEOUT <= 0:
    raise ImproperlyConfigured("PASSWORD_RESET_TIMEOUT_HOURS must be more than 0")


def mailers_from_env(env: Mapping[str, str]) -> dict[str, dict[str, object]]:
    """Django's MAILERS: SMTP from EMAIL_URL or EMAIL_HOST, else the console (stdout).

    The console default is what `make run` needs and is not flagged by `check --deploy`
    (it is not one of the backends Django's mail.E001 knows): set EMAIL_URL in production.

    EMAIL_URL is `smtp://` (plain), `smtp+tls://` (STARTTLS) or `smtps://` (TLS from the
    start), with the user and password URL-quoted: `smtp+tls://user:p%40ss@mail.example:587`.
    EMAIL_HOST goes with EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS and
    EMAIL_USE_SSL. Setting both, or a value that cannot be right, stops start-up.
    """
    url, host = env.get("EMAIL_URL", "").strip(), env.get("EMAIL_HOST", "").strip()
    timeout = env.get("EMAIL_TIMEOUT", "10")
    try:
        timeout_seconds = float(timeout)
    except ValueError:
        raise ImproperlyConfigured(f"EMAIL_TIMEOUT must be a number, not {timeout!r}") from None
    if url and host:
        raise ImproperlyConfigured("Set EMAIL_URL or EMAIL_HOST, not both")
    if not url and not host:
        # Django's console backend, printing the text decoded (links can be copied).
        return {"default": {"BACKEND": "apps.accounts.mail.ConsoleEmailBackend"}}
    if url:
        # scheme: (default port, STARTTLS, TLS from the start)
        schemes = {
            "smtp": (25, False, False),
            "smtp+tls": (587, True, False),
            "smtps": (465, False, True),
        }
        parts = urlsplit(url)
        if parts.scheme not in schemes:  # the URL may hold a password: not repeated
            raise ImproperlyConfigured(
                "EMAIL_URL must start with smtp://, smtp+tls:// or smtps://, "
                f"not {parts.scheme + ':' if parts.scheme else 'no scheme'}"
            )
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured("EMAIL_URL has a port that is not a number") from None
        if not parts.hostname:
            raise ImproperlyConfigured("EMAIL_URL must name a host: smtp://host:port")
        default_port, use_tls, use_ssl = schemes[parts.scheme]
        host = parts.hostname
        port = port or default_port
        username = unquote(parts.username or "")
        password = unquote(parts.password or "")
    else:
        use_ssl = envbool("EMAIL_USE_SSL", "0", env)
        use_tls = envbool("EMAIL_USE_TLS", "0" if use_ssl else "1", env)
        if use_tls and use_ssl:
            raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on")
        port_text = env.get("EMAIL_PORT", "465" if use_ssl else "587").strip()
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ImproperlyConfigured(f"EMAIL_PORT must be a port number, not {port_text!r}")
        port = int(port_text)
        username = env.get("EMAIL_HOST_USER", "")
        password = env.get("EMAIL_HOST_PASSWORD", "")
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": host,
                "port": port,
                "username": username,
                "password": password,
                "use_tls": use_tls,
                "use_ssl": use_ssl,
                "timeout": timeout_seconds,
            },
        }
    }


# Email (password resets): Django 6.1's MAILERS, from the environment.
MAILERS = mailers_from_env(os.environ)
DEFAULT_FROM_EMAIL = os.getenv("DEFAULT_FROM_EMAIL", "API diagnostics <noreply@localhost>")
if "@" not in parseaddr(DEFAULT_FROM_EMAIL)[1]:
    raise ImproperlyConfigured(
        f"DEFAULT_FROM_EMAIL must be an address like 'Name <me@example.com>', "
        f"not {DEFAULT_FROM_EMAIL!r}"
    )
SERVER_EMAIL = DEFAULT_FROM_EMAIL

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Security. Production (DEBUG off) defaults to HTTPS everywhere; `manage.py check --deploy`
# passes with only SECRET_KEY, FIELD_ENCRYPTION_KEYS and ALLOWED_HOSTS set.
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", "0" if DEBUG else "1")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "0" if DEBUG else "1")
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000")
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "0" if DEBUG else "1")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if os.getenv("SECURE_PROXY_SSL_HEADER"):  # e.g. "HTTP_X_FORWARDED_PROTO" behind a proxy
    SECURE_PROXY_SSL_HEADER = (os.environ["SECURE_PROXY_SSL_HEADER"], "https")
X_FRAME_OPTIONS = "DENY"
# A load balancer's health check may come over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Content-Security-Policy: scripts only from this site or with the response's nonce
# (htmx is loaded with it); no inline styles, no plugins, no framing.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Against password guessing: a username is locked for an hour after 5 failures from one
# address (django-axes).
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", "5")
AXES_COOLOFF_TIME = envfloat("AXES_COOLOFF_HOURS", "1")
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
AXES_USERNAME_CALLABLE = "apps.accounts.lockouts.attempted_username"

# Rate limits on submissions (django-ratelimit), per user. They need a cache shared by every
# web process: the default per-process cache is right for `make run`'s single process;
# several processes need CACHE_URL (Redis).
RATELIMIT_SUBMIT = os.getenv("RATELIMIT_SUBMIT", "30/m")
# Invite links opened per user, and password reset emails asked for per address.
RATELIMIT_INVITE = envrate("RATELIMIT_INVITE", "20/m")
RATELIMIT_PASSWORD_RESET = envrate("RATELIMIT_PASSWORD_RESET", "5/h")
# Anyone may create an account (and their own first team) at /accounts/signup/ when on;
# off (the default), an invite link is the only way in and that page answers 404.
SIGNUP_OPEN = envbool("SIGNUP_OPEN", "0")
# Sign-up attempts per client address, like the password reset emails.
RATELIMIT_SIGNUP = envrate("RATELIMIT_SIGNUP", "10/h")
# Share pages (/s/<token>) opened per client address, whatever the answer.
RATELIMIT_SHARE_VIEW = envrate("RATELIMIT_SHARE_VIEW", "60/m")
# JSON API requests per API token, whatever the answer (submissions also count against
# RATELIMIT_SUBMIT, with the pages').
RATELIMIT_API = envrate("RATELIMIT_API", "120/m")
# Reverse proxies in front of the web server that append to X-Forwarded-For (0: none, and
# the header is ignored). Rate limits and lockouts count the address they report.
TRUSTED_PROXIES = envint("TRUSTED_PROXIES", "0")
if not 0 <= TRUSTED_PROXIES <= 10:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES must be from 0 to 10, not {TRUSTED_PROXIES}")
RATELIMIT_IP_META_KEY = "dashboard.client_ip.client_ip"
AXES_CLIENT_IP_CALLABLE = "dashboard.client_ip.client_ip"
SILENCED_SYSTEM_CHECKS = [
    "django_ratelimit.W001",  # Django's own RedisCache is atomic; only third-party ones are listed
]
if CACHES["default"]["BACKEND"].endswith("LocMemCache"):
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.E003")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Bearer tokens in link paths (share, invite, password reset) never reach a log line.
    "filters": {
        "redact_token_paths": {"()": "dashboard.logs.RedactTokenPaths"},
        "quiet_routine_tasks": {"()": "dashboard.logs.QuietRoutineTasks"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_token_paths"],
        }
    },
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own handlers (a console one when DEBUG is on, mail_admins) would write
        # "Not Found: /s/<token>" without the filter: its loggers use the console above only.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"level": "WARNING", "handlers": ["console"], "propagate": False},
        # Celery's lines about the sweeper and the monitors' tick (every few seconds):
        # DEBUG, not INFO.
        **{
            name: {"filters": ["quiet_routine_tasks"]}
            for name in ("celery.beat", "celery.worker.strategy", "celery.app.trace")
        },
    },
}

# Celery. The Run row is the source of truth: there is no result backend.
CELERY_BROKER_URL = os.getenv("CELERY_BROKER_URL", "filesystem://")
BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # A broker that needs no server: messages are files in a folder under var/.
    BROKER_DIR = Path(os.getenv("BROKER_DIR", BROKER_DIR))
    for folder in ("queue", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "polling_interval": envfloat("BROKER_POLLING_INTERVAL", "0.1"),
    }
CELERY_TASK_DEFAULT_QUEUE = os.getenv("CELERY_QUEUE", "runs")
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup closes the task thread's database connection before and after every
# task unless this is set: a new PostgreSQL session for every run (2,013 sessions for the
# 2,000 runs of the bulk bench). Each thread keeps its connection as a web thread does
# (DB_CONN_MAX_AGE); dashboard/celery.py closes it around each task when obsolete or broken.
# The fixup then closes one thread's connection every 2 x this many tasks: never, in effect.
CELERY_DB_REUSE_MAX = 1_000_000_000
# A run that outlives these limits is stopped; the soft limit lets it be stored as such.
CELERY_TASK_SOFT_TIME_LIMIT = envint("RUN_SOFT_TIME_LIMIT", "150")
CELERY_TASK_TIME_LIMIT = envint("RUN_HARD_TIME_LIMIT", "180")

# Nothing lost: redelivery, outages, the sweeper, heartbeats (apps/runs/recovery.py).
if CELERY_TASK_SOFT_TIME_LIMIT >= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("RUN_SOFT_TIME_LIMIT must be less than RUN_HARD_TIME_LIMIT")
# SIGTERM lets the current run finish (warm shutdown); a cold shutdown (SIGQUIT, or a second
# Ctrl-C) first waits this long too, so a run stops only at its own hard limit.
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = float(CELERY_TASK_TIME_LIMIT)
# A submission while the broker is down must answer at once (the run stays queued and the
# sweeper publishes it later), not after minutes of connection retries.
CELERY_BROKER_CONNECTION_TIMEOUT = envfloat("BROKER_CONNECTION_TIMEOUT", "2")
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # An unacknowledged run goes back to the queue after this long: longer than any run
        # may last, so that a redelivery always means the first worker is gone.
        "visibility_timeout": CELERY_TASK_TIME_LIMIT + 60,
        "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    }
# Runs in flight per worker process (Celery's threads pool: a run mostly waits on the network).
# Each holds a database connection of its own: workers x this + the web's must stay under the
# database's max_connections.
WORKER_CONCURRENCY = envint("WORKER_CONCURRENCY", "32")
# Fair share: attempts of one team running at once, over all workers. A delivery past the cap
# is published again after RUN_TEAM_WAIT_SECONDS (the claim refuses it), so a team's hanging
# requests hold at most this many slots and other teams' runs go past them.
RUN_TEAM_MAX_IN_FLIGHT = envint("RUN_TEAM_MAX_IN_FLIGHT", "16")
RUN_TEAM_WAIT_SECONDS = envfloat("RUN_TEAM_WAIT_SECONDS", "1")
for _name, _value in [
    ("WORKER_CONCURRENCY", WORKER_CONCURRENCY),
    ("RUN_TEAM_MAX_IN_FLIGHT", RUN_TEAM_MAX_IN_FLIGHT),
    ("RUN_TEAM_WAIT_SECONDS", RUN_TEAM_WAIT_SECONDS),
]:
    if _value <= 0:
        raise ImproperlyConfigured(f"{_name} must be more than 0, not {_value!r}")
CELERY_WORKER_CONCURRENCY = WORKER_CONCURRENCY
# Deliveries of one attempt before it is settled as failed (a request that kills its worker).
RUN_MAX_DELIVERIES = envint("RUN_MAX_DELIVERIES", "5")
# A running attempt notes that it is alive this often; without a note for RUN_STALE_AFTER,
# its worker is taken for gone (more than DB_RETRY_SECONDS: a database outage is not that).
RUN_HEARTBEAT_INTERVAL = envfloat("RUN_HEARTBEAT_INTERVAL", "10")
RUN_STALE_AFTER = envfloat("RUN_STALE_AFTER", "60")
# How long a worker retries claiming and saving a run while the database is unreachable.
DB_RETRY_SECONDS = envfloat("DB_RETRY_SECONDS", "30")
# Each worker notes that it is alive this often; none for WORKER_GONE_AFTER: no worker.
WORKER_HEARTBEAT_INTERVAL = envfloat("WORKER_HEARTBEAT_INTERVAL", "10")
WORKER_GONE_AFTER = envfloat("WORKER_GONE_AFTER", "30")
# The sweeper (`celery -A dashboard beat`): every SWEEP_INTERVAL, publish again the runs never
# published after SWEEP_QUEUED_AFTER (broker down at submit) and those published but not taken
# after SWEEP_REPUBLISH_AFTER (a lost message); settle the running ones whose worker is gone.
SWEEP_INTERVAL = envfloat("SWEEP_INTERVAL", "20")
SWEEP_QUEUED_AFTER = envfloat("SWEEP_QUEUED_AFTER", "30")
SWEEP_REPUBLISH_AFTER = envfloat("SWEEP_REPUBLISH_AFTER", "300")
# The monitors' tick claims the slots due before the next tick (and one tick's delay more)
# and publishes each check for its slot's time: a check starts on time, not at a tick.
MONITOR_TICK_INTERVAL = envfloat("MONITOR_TICK_INTERVAL", "5")
CELERY_BEAT_SCHEDULE = {
    "sweep-runs": {
        "task": "runs.sweep",
        "schedule": SWEEP_INTERVAL,
        # A sweep nobody ran in time is dropped: the next one does the same work.
        "options": {"expires": SWEEP_INTERVAL},
    },
    # Monitors' schedules live in their own table (apps.monitors); this tick claims the due
    # ones, each with a conditional update, so a second beat never doubles a check.
    "monitors-tick": {
        "task": "monitors.tick",
        "schedule": MONITOR_TICK_INTERVAL,
        "options": {"expires": MONITOR_TICK_INTERVAL},
    },
    # Checks older than MONITOR_RETENTION_DAYS go, in batches (apps.monitors.services).
    "monitors-purge": {
        "task": "monitors.purge",
        "schedule": envfloat("MONITOR_PURGE_INTERVAL", "3600"),
        "options": {"expires": envfloat("MONITOR_PURGE_INTERVAL", "3600")},
    },
}
# Monitors (the tick's interval is MONITOR_TICK_INTERVAL, above).
# A new monitor's first check is spread over this many seconds (at most its interval), so
# that monitors made together don't all fire at once.
MONITOR_JITTER_SECONDS = envfloat("MONITOR_JITTER_SECONDS", "30")
# Checks older than this many days are deleted with their runs (a run that only the check
# made); the checks and runs of state changes (the incident timeline) are kept. 0: keep all.
MONITOR_RETENTION_DAYS = envint("MONITOR_RETENTION_DAYS", "30")
if MONITOR_RETENTION_DAYS < 0:
    raise ImproperlyConfigured(
        f"MONITOR_RETENTION_DAYS must be 0 (keep all) or more, not {MONITOR_RETENTION_DAYS!r}"
    )
# Incidents: INCIDENT_MIN_RUNS runs of a team to one host failing with the same diagnosis
# within INCIDENT_WINDOW_MINUTES open an incident (a banner on the team log).
INCIDENT_WINDOW_MINUTES = envint("INCIDENT_WINDOW_MINUTES", "10")
INCIDENT_MIN_RUNS = envint("INCIDENT_MIN_RUNS", "3")
# Alert deliveries: tries in all, and the backoff between them (doubling from the base).
ALERT_MAX_ATTEMPTS = envint("ALERT_MAX_ATTEMPTS", "6")
ALERT_BACKOFF_BASE = envfloat("ALERT_BACKOFF_BASE", "10")
ALERT_BACKOFF_CAP = envfloat("ALERT_BACKOFF_CAP", "600")
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# Outbound requests made by workers (apps.egress).
# Hosts and networks that may be reached although they are not public addresses. The
# development default lets the built-in sandbox (served by this same server) be reached.
EGRESS_ALLOWLIST = envlist("EGRESS_ALLOWLIST", "127.0.0.1,::1,localhost" if DEBUG else "")
EGRESS_MAX_BODY_BYTES = envint("EGRESS_MAX_BODY_BYTES", str(1024 * 1024))
EGRESS_DEFAULT_TIMEOUT = envfloat("EGRESS_DEFAULT_TIMEOUT", "10")
EGRESS_MAX_TIMEOUT = envfloat("EGRESS_MAX_TIMEOUT", "60")
EGRESS_CONNECT_TIMEOUT = envfloat("EGRESS_CONNECT_TIMEOUT", "5")
# Whether the new-request form's "Send a W3C traceparent" box starts ticked.
TRACEPARENT_DEFAULT = envbool("TRACEPARENT_DEFAULT", "0")

# The built-in sandbox under /sandbox/ (a demo upstream, no sign-in for its API): on by
# default only in development. Off, its URLs answer 404 and its presets are hidden.
SANDBOX_ENABLED = envbool("SANDBOX_ENABLED", "1" if DEBUG else "0")
# The largest answer of its oversize endpoints (/sandbox/large?mb=N, bomb, gzip-padding).
SANDBOX_MAX_MIB = envint("SANDBOX_MAX_MIB", "1024")
if SANDBOX_MAX_MIB < 1:
    raise ImproperlyConfigured(f"SANDBOX_MAX_MIB must be 1 or more, not {SANDBOX_MAX_MIB}")

# The TLS sandbox (`manage.py sandbox_tls`, started by `make run`): a sandbox CA and one
# certificate per TLS failure, each served on its own loopback port from SANDBOX_TLS_PORT on.
SANDBOX_TLS_DIR = VAR_DIR / "sandbox-tls"
SANDBOX_TLS_PORT = envint("SANDBOX_TLS_PORT", "8443")
SANDBOX_TLS_CASES = ("good", "expired", "wrong-host", "self-signed", "untrusted")
if not 0 < SANDBOX_TLS_PORT <= 65536 - len(SANDBOX_TLS_CASES):
    raise ImproperlyConfigured(
        f"SANDBOX_TLS_PORT must be a port number from 1 to {65536 - len(SANDBOX_TLS_CASES)} "
        f"(the {len(SANDBOX_TLS_CASES)} ports from it on are used), not {SANDBOX_TLS_PORT}"
    )
SANDBOX_TLS_PORTS = {name: SANDBOX_TLS_PORT + i for i, name in enumerate(SANDBOX_TLS_CASES)}
# CA certificates (PEM) trusted for https on top of certifi's. In development, the TLS
# sandbox's CA, once `sandbox_tls` has made it (read at run time); empty in production.
EGRESS_EXTRA_CA_BUNDLE = os.getenv(
    "EGRESS_EXTRA_CA_BUNDLE", str(SANDBOX_TLS_DIR / "ca.pem") if DEBUG else ""
).strip()
_extra_ca_set = "EGRESS_EXTRA_CA_BUNDLE" in os.environ and EGRESS_EXTRA_CA_BUNDLE
if _extra_ca_set and not Path(EGRESS_EXTRA_CA_BUNDLE).is_file():
    raise ImproperlyConfigured(
        f"EGRESS_EXTRA_CA_BUNDLE must be a PEM file, and {EGRESS_EXTRA_CA_BUNDLE!r} is none"
    )

# Retries with backoff (a run's "Retry with backoff" and the form's automatic retries).
RETRY_BACKOFF_BASE = envfloat("RETRY_BACKOFF_BASE", "1")
RETRY_BACKOFF_CAP = envfloat("RETRY_BACKOFF_CAP", "60")
RETRY_MAX_ATTEMPTS = envint("RETRY_MAX_ATTEMPTS", "5")
RETRY_MAX_WAIT = envfloat("RETRY_MAX_WAIT", "300")
