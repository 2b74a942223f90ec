"""Django settings for ICB, read from the environment (see README "Configuration").

The only module that reads the environment. Importing it writes nothing: the data dir
and the generated secret key are created at startup (icb.web.apps.WebConfig.ready)."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.functional import SimpleLazyObject

from icb.common.secrets import secret_file

BASE_DIR = Path(__file__).resolve().parent
# The SQLite database and broker, the generated secrets, static files. Created at startup.
DATA_DIR = Path(os.environ.get("ICB_DATA_DIR", Path.cwd() / "var")).resolve()


def _generated_secret(filename: str, make) -> str:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return secret_file(DATA_DIR / filename, make)


# Read (and, on the very first start, generated) when first used, not at import.
SECRET_KEY = os.environ.get("ICB_SECRET_KEY") or SimpleLazyObject(
    lambda: _generated_secret("secret_key", lambda: secrets.token_urlsafe(50))
)
DEBUG = os.environ.get("ICB_DEBUG", "0") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("ICB_ALLOWED_HOSTS", "*").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("ICB_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    # Its app serves the API docs page's Swagger UI from our own static files, so the
    # page works without internet (without the app, ninja loads it from a CDN).
    "ninja",
    "icb.common",
    "icb.tenancy",
    "icb.crm",
    "icb.contracts",
    "icb.hub",
    "icb.mapping",
    "icb.billing_sync",
    "icb.invoicing",
    "icb.events",
    "icb.notify",
    "icb.review",
    "icb.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "icb.web.middleware.RefuseNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "icb.tenancy.middleware.CompanyMiddleware",
    "icb.web.middleware.ServiceErrorMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "icb.urls"
WSGI_APPLICATION = "icb.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "icb.web.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'icb.sqlite3'}"),
        conn_max_age=int(os.environ.get("ICB_DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and worker processes write the same file: WAL lets readers run beside a
    # writer, IMMEDIATE transactions plus a busy timeout make writers wait their
    # turn instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "tenancy.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

# Lock-out after repeated failed logins (icb/tenancy/lockout.py, docs/operations.md):
# an account from one address, an account from anywhere, an address on any account.
AXES_FAILURE_LIMIT = int(os.environ.get("ICB_LOGIN_FAILURE_LIMIT", "5"))
ICB_LOGIN_ACCOUNT_FAILURE_LIMIT = 2 * AXES_FAILURE_LIMIT
ICB_LOGIN_ADDRESS_FAILURE_LIMIT = 10 * AXES_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_HANDLER = "icb.tenancy.lockout.LockoutHandler"
AXES_USERNAME_FORM_FIELD = "username"  # what the login form posts (the email)
AXES_USERNAME_CALLABLE = "icb.tenancy.lockout.login_name"
# Behind proxies, how many of them append to X-Forwarded-For (else every login would
# seem to come from the proxy's address).
ICB_TRUSTED_PROXIES = int(os.environ.get("ICB_TRUSTED_PROXIES", "0"))
AXES_CLIENT_IP_CALLABLE = "icb.tenancy.lockout.client_address"
# Axes itself filters by the pair; a success resets only that account's failures from
# that address, never an address's or another account's.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = os.environ.get("ICB_SECURE_COOKIES", "0") == "1"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"  # stored in UTC; shown in the company's zone (CompanyMiddleware)
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Background work.
CELERY_BROKER_URL = os.environ.get(
    "ICB_BROKER_URL", f"sqla+sqlite:///{DATA_DIR / 'celery-broker.sqlite3'}"
)
# Several installations (or test runs) sharing one Redis keep apart by a key prefix.
if os.environ.get("ICB_BROKER_KEY_PREFIX"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": os.environ["ICB_BROKER_KEY_PREFIX"]}
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = os.environ.get("ICB_TASKS_EAGER", "0") == "1"
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"one_line_4xx": {"()": "icb.web.log_filters.ClientErrorWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("ICB_LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        # A refused request is one line, not a traceback (icb/web/log_filters.py).
        "django.request": {"filters": ["one_line_4xx"]},
    },
}

ICB_API_PAGE_SIZE = 50

# The prefix of a company's first invoice numbers ("{year}" is the year of issue); each
# company's sequence keeps its own afterwards (docs/billing-rules.md, "Numbering").
ICB_INVOICE_NUMBER_PREFIX = os.environ.get("ICB_INVOICE_NUMBER_PREFIX", "INV-{year}-")[:30]

# The integration hub (docs/hub-protocol.md). The defaults point at the sandbox hub
# that `make run` starts beside the product.
ICB_HUB_URL = os.environ.get("ICB_HUB_URL", "http://127.0.0.1:8100")
ICB_HUB_CLIENT_ID = os.environ.get("ICB_HUB_CLIENT_ID", "icb")
ICB_HUB_CLIENT_SECRET = os.environ.get("ICB_HUB_CLIENT_SECRET", "icb-sandbox-secret")
ICB_HUB_NAME = os.environ.get("ICB_HUB_NAME", "Integration Hub")
# Where the hub sends the browser back; by default derived from the request.
ICB_HUB_REDIRECT_URI = os.environ.get("ICB_HUB_REDIRECT_URI", "")
ICB_HUB_TIMEOUT = float(os.environ.get("ICB_HUB_TIMEOUT", "15"))
ICB_HUB_ATTEMPTS = int(os.environ.get("ICB_HUB_ATTEMPTS", "4"))
ICB_HUB_RETRY_BASE = float(os.environ.get("ICB_HUB_RETRY_BASE", "1"))
ICB_HUB_MAX_RETRY_WAIT = float(os.environ.get("ICB_HUB_MAX_RETRY_WAIT", "30"))
# A manual sync (Sync now, turning ICB on) runs in the web request: it finishes or gives
# up within this many seconds, well under the web server's limit (icb.cli.WEB_TIMEOUT).
ICB_MANUAL_SYNC_SECONDS = float(os.environ.get("ICB_MANUAL_SYNC_SECONDS", "20"))
ICB_HUB_DIRECTORY_REFRESH_MINUTES = int(os.environ.get("ICB_HUB_DIRECTORY_REFRESH_MINUTES", "60"))
# Fernet key of the hub tokens at rest; empty: generated once into the data dir.
ICB_ENCRYPTION_KEY = os.environ.get("ICB_ENCRYPTION_KEY", "")

# Webhooks (docs/webhooks.md): attempts per delivery, the first retry wait (doubled after
# each failed attempt, up to the maximum), the answer timeout, all in seconds. With the
# defaults a delivery is tried for about 8 hours.
ICB_WEBHOOK_ATTEMPTS = int(os.environ.get("ICB_WEBHOOK_ATTEMPTS", "10"))
ICB_WEBHOOK_RETRY_BASE = float(os.environ.get("ICB_WEBHOOK_RETRY_BASE", "60"))
ICB_WEBHOOK_MAX_RETRY_WAIT = float(os.environ.get("ICB_WEBHOOK_MAX_RETRY_WAIT", "14400"))
ICB_WEBHOOK_TIMEOUT = float(os.environ.get("ICB_WEBHOOK_TIMEOUT", "10"))
# Webhook URLs on loopback, private or link-local addresses are refused (a webhook must
# not reach into the network ICB runs in) unless this is "1" (tests, a lab).
ICB_WEBHOOKS_ALLOW_PRIVATE = os.environ.get("ICB_WEBHOOKS_ALLOW_PRIVATE", "0") == "1"

# Mail (the nightly digest). Without ICB_SMTP_HOST mail is printed on the console (so
# `make run` shows it); with it, sent through that SMTP server.
EMAIL_HOST = os.environ.get("ICB_SMTP_HOST", "")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = int(os.environ.get("ICB_SMTP_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("ICB_SMTP_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("ICB_SMTP_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("ICB_SMTP_STARTTLS", "1") == "1"
EMAIL_USE_SSL = os.environ.get("ICB_SMTP_SSL", "0") == "1"
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = os.environ.get("ICB_EMAIL_FROM", "ICB <icb@localhost>")
# The address people open ICB at, for the links in mails (none when empty).
ICB_PUBLIC_URL = os.environ.get("ICB_PUBLIC_URL", "")

CELERY_BEAT_SCHEDULE = {
    "refresh-hub-directories": {
        "task": "hub.refresh_all_directories",
        "schedule": 60.0 * ICB_HUB_DIRECTORY_REFRESH_MINUTES,
        "options": {"expires": 300},
    },
    # Claims due ICB services (nightly at each company's midnight, retries, catch-up)
    # and enqueues their group tasks (up to 5 batches of one company and module each).
    "billing_sync.dispatch": {
        "task": "billing_sync.dispatch",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Hands new events (icb.events) to the webhook endpoints and sends the due deliveries.
    "notify.relay": {
        "task": "notify.relay",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # The nightly digest of each company whose night's runs have all finished.
    "notify.send_digests": {
        "task": "notify.send_digests",
        "schedule": 300.0,
        "options": {"expires": 280},
    },
}

# The command line (`icb run`, `icb serve`, `icb worker`; src/icb/cli.py).
ICB_HOST = os.environ.get("ICB_HOST", "127.0.0.1")
ICB_PORT = os.environ.get("ICB_PORT", "8000")
ICB_WEB_WORKERS = os.environ.get("ICB_WEB_WORKERS", "2")
ICB_WORKER_CONCURRENCY = os.environ.get("ICB_WORKER_CONCURRENCY", "2")
# Worker processes that run the nightly sync, on all worker machines together: the
# dispatcher shares the night's batches among that many group tasks.
ICB_SYNC_WORKERS = int(os.environ.get("ICB_SYNC_WORKERS", ICB_WORKER_CONCURRENCY))
# `icb run` starts the sandbox hub unless this is "0" or ICB_HUB_URL points elsewhere.
ICB_SANDBOX_HUB = os.environ.get("ICB_SANDBOX_HUB", "1") != "0"
# The demo company and administrator `icb run` creates; empty password: generated once
# into the data dir.
ICB_ADMIN_EMAIL = os.environ.get("ICB_ADMIN_EMAIL", "admin@example.com")
ICB_ADMIN_PASSWORD = os.environ.get("ICB_ADMIN_PASSWORD", "")
ICB_DEMO_COMPANY = os.environ.get("ICB_DEMO_COMPANY", "Demo MSP")
ICB_DEMO_TIMEZONE = os.environ.get("ICB_DEMO_TIMEZONE", "America/New_York")
