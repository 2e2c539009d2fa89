"""Configuration for each TASKAPI_ENV, read from the environment."""

import os
from datetime import timedelta

MIN_SECRET_LENGTH = 32
MAIL_REQUIRES = ("MAIL_DEFAULT_SENDER", "PASSWORD_RESET_URL", "INVITATION_URL")
DEV_RESET_URL = "http://127.0.0.1:5173/reset-password?token={token}"
DEV_INVITATION_URL = "http://127.0.0.1:5173/invitations?token={token}"
ENVIRONMENTS = ("production", "development", "testing")
# argon2id: OWASP's minimum (19 MiB, 2 passes, 1 lane), tens of logins a second per core. Tests hash
# with the cheapest parameters argon2 takes: a thousand registrations and logins are no benchmark.
PASSWORD_HASHING = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}
PASSWORD_HASHING_TESTING = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}


class ConfigError(Exception):
    """The environment cannot run the service; the message says why."""


def _int(environ, name, default):
    raw = environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


def _float(environ, name, default):
    raw = environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{name} must be a positive number, not {raw!r}")
    return value


def _bool(environ, name, default=False):
    raw = (environ.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _database_url(url):
    """Accept postgres:// (PaaS) and pin the psycopg2 driver SQLAlchemy 2.1 no longer defaults to."""
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return "postgresql+psycopg2://" + url[len(scheme) :]
    return url


def _origins(raw):
    return [origin.strip() for origin in raw.split(",") if origin.strip()]


def production_problems(environ):
    """List what the environment lacks to run in production (empty when fine)."""
    problems = []
    for name in ("SECRET_KEY", "JWT_SECRET_KEY"):
        value = environ.get(name, "")
        if not value:
            problems.append(f"{name} is missing")
        elif len(value) < MIN_SECRET_LENGTH:
            problems.append(f"{name} is shorter than {MIN_SECRET_LENGTH} characters")
    if not environ.get("DATABASE_URL"):
        problems.append("DATABASE_URL is missing")
    if environ.get("MAIL_SERVER"):
        # Mail would go out with no sender or a link nowhere: refuse rather than find out from users.
        problems.extend(f"{name} is missing (MAIL_SERVER is set)" for name in MAIL_REQUIRES if not environ.get(name))
    return problems


def production_warnings(environ):
    """What production can run without, but should be told about at start."""
    if not environ.get("MAIL_SERVER"):
        return ["MAIL_SERVER is not set: password reset by email answers 503 until it is, and invitations wait "
                "in GET /api/v1/invitations without an email"]
    return []


def environment_name(environ=None):
    environ = os.environ if environ is None else environ
    name = environ.get("TASKAPI_ENV", "production").strip().lower() or "production"
    if name not in ENVIRONMENTS:
        raise ConfigError(f"TASKAPI_ENV must be one of {', '.join(ENVIRONMENTS)}, not {name!r}")
    return name


def load(instance_path, environ=None):
    """Build the Flask config mapping for the environment named by TASKAPI_ENV."""
    environ = os.environ if environ is None else environ
    env = environment_name(environ)
    if env == "production":
        problems = production_problems(environ)
        if problems:
            raise ConfigError("cannot start in production: " + "; ".join(problems))

    production = env == "production"
    dev_secret = f"{env}-only-secret-not-for-production-use"
    default_db = f"sqlite:///{os.path.join(instance_path, 'taskapi.db')}"
    if env == "testing":
        default_db = f"sqlite:///{os.path.join(instance_path, 'taskapi-test.db')}"
    database_url = _database_url(environ.get("DATABASE_URL") or default_db)
    dev_origins = "http://localhost:3000,http://127.0.0.1:3000,http://localhost:5173,http://127.0.0.1:5173"

    config = {
        "TASKAPI_ENV": env,
        "TESTING": env == "testing",
        "SECRET_KEY": environ.get("SECRET_KEY") or dev_secret,
        "JWT_SECRET_KEY": environ.get("JWT_SECRET_KEY") or dev_secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url, environ),
        "MAX_CONTENT_LENGTH": _int(environ, "MAX_CONTENT_LENGTH", 64 * 1024),
        # gunicorn's worker (taskapi/gunicorn_worker.py): seconds a request may take to arrive, then 408.
        "REQUEST_READ_TIMEOUT": _int(environ, "REQUEST_READ_TIMEOUT", 10),
        "CORS_ORIGINS": _origins(environ.get("CORS_ORIGINS", "" if env == "production" else dev_origins)),
        "REDIS_URL": environ.get("REDIS_URL") or None,
        # Outside production the limits stay on, high enough that a developer's own scripts never meet them.
        "AUTH_RATE_LIMIT": environ.get("AUTH_RATE_LIMIT") or ("10 per minute" if production else "300 per minute"),
        "TRUSTED_PROXIES": _int(environ, "TRUSTED_PROXIES", 0),
        "LOG_LEVEL": (environ.get("LOG_LEVEL") or "INFO").upper(),
        "LOG_JSON": env == "production",
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(seconds=_int(environ, "JWT_ACCESS_TOKEN_EXPIRES", 15 * 60)),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(seconds=_int(environ, "JWT_REFRESH_TOKEN_EXPIRES", 30 * 24 * 3600)),
        "IDEMPOTENCY_TTL": timedelta(hours=24),
        "LOGIN_FAILURE_LIMIT": _int(environ, "LOGIN_FAILURE_LIMIT", 5 if production else 50),
        "PASSWORD_HASHING": PASSWORD_HASHING_TESTING if env == "testing" else PASSWORD_HASHING,
        "SECURITY_EVENT_RETENTION_DAYS": _int(environ, "SECURITY_EVENT_RETENTION_DAYS", 90),
        "TRASH_DAYS": _int(environ, "TRASH_DAYS", 30),
        "MAX_TASKS_PER_LIST": _int(environ, "MAX_TASKS_PER_LIST", 10_000),
        "MAX_LISTS_PER_USER": _int(environ, "MAX_LISTS_PER_USER", 100),
        "MAX_MEMBERS_PER_LIST": _int(environ, "MAX_MEMBERS_PER_LIST", 50),
        "MAX_TOKENS_PER_USER": _int(environ, "MAX_TOKENS_PER_USER", 25),
        # Requests one personal access token may make (on top of any per-address limit of the route).
        "TOKEN_RATE_LIMIT": environ.get("TOKEN_RATE_LIMIT") or "600 per minute",
        # Live update streams (GET /api/v1/stream): open at once per user, and seconds between heartbeats.
        "MAX_STREAMS_PER_USER": _int(environ, "MAX_STREAMS_PER_USER", 10),
        "STREAM_HEARTBEAT_SECONDS": _int(environ, "STREAM_HEARTBEAT_SECONDS", 15),
        "SYNC_RETENTION_DAYS": _int(environ, "SYNC_RETENTION_DAYS", 30),
        "ACTIVITY_RETENTION_DAYS": _int(environ, "ACTIVITY_RETENTION_DAYS", 90),
        **webhook_settings(environ, env),
        "HSTS": env == "production",
        **mail_settings(environ, env),
    }
    if config["TRUSTED_PROXIES"] < 0:
        raise ConfigError("TRUSTED_PROXIES must not be negative")
    for name in ("MAX_CONTENT_LENGTH", "REQUEST_READ_TIMEOUT", "LOGIN_FAILURE_LIMIT", "TRASH_DAYS",
                 "SYNC_RETENTION_DAYS", "MAX_TASKS_PER_LIST", "MAX_LISTS_PER_USER", "MAX_MEMBERS_PER_LIST",
                 "MAX_TOKENS_PER_USER", "MAX_STREAMS_PER_USER", "STREAM_HEARTBEAT_SECONDS", "MAX_WEBHOOKS_PER_LIST",
                 "INVITATION_DAYS", "INVITATIONS_PER_HOUR", "MAINTENANCE_INTERVAL", "ACTIVITY_RETENTION_DAYS"):
        if config[name] < 1:
            raise ConfigError(f"{name} must be at least 1")
    if "{token}" not in config["PASSWORD_RESET_URL"]:
        raise ConfigError("PASSWORD_RESET_URL must contain {token}, where the reset token goes")
    if "{token}" not in config["INVITATION_URL"]:
        raise ConfigError("INVITATION_URL must contain {token}, where the invitation goes")
    return config


def webhook_settings(environ, env):
    """Webhook delivery: how long an endpoint may take, how long failures are retried, where endpoints may be."""
    return {
        "WEBHOOK_TIMEOUT": _float(environ, "WEBHOOK_TIMEOUT", 10),
        "WEBHOOK_RETRY_HOURS": _float(environ, "WEBHOOK_RETRY_HOURS", 72),
        "MAX_WEBHOOKS_PER_LIST": _int(environ, "MAX_WEBHOOKS_PER_LIST", 10),
        # http:// and private addresses: for development only, honoured wherever it is set.
        "WEBHOOK_ALLOW_HTTP": _bool(environ, "WEBHOOK_ALLOW_HTTP", env != "production"),
        # A failed delivery is tried again after this, then twice as long each time (at most 6 hours), jittered.
        "WEBHOOK_RETRY_FIRST": timedelta(seconds=30),
    }


def mail_settings(environ, env):
    """SMTP for password-reset messages; without MAIL_SERVER, development logs them and production refuses."""
    return {
        "MAIL_SERVER": environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": _int(environ, "MAIL_PORT", 587),
        "MAIL_USERNAME": environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool(environ, "MAIL_USE_TLS"),
        "MAIL_USE_SSL": _bool(environ, "MAIL_USE_SSL"),
        "MAIL_DEFAULT_SENDER": environ.get("MAIL_DEFAULT_SENDER") or "taskapi <no-reply@localhost>",
        "MAIL_TIMEOUT": _int(environ, "MAIL_TIMEOUT", 10),
        # A failed send is tried again after this, then twice as long each time (at most 10 minutes).
        "MAIL_RETRY_FIRST": timedelta(seconds=5),
        "PASSWORD_RESET_URL": environ.get("PASSWORD_RESET_URL") or DEV_RESET_URL,
        "PASSWORD_RESET_EXPIRES": timedelta(seconds=_int(environ, "PASSWORD_RESET_EXPIRES", 3600)),
        "PASSWORD_RESET_PER_EMAIL": _int(environ, "PASSWORD_RESET_PER_EMAIL", 3),
        "INVITATION_URL": environ.get("INVITATION_URL") or DEV_INVITATION_URL,
        "INVITATION_DAYS": _int(environ, "INVITATION_DAYS", 7),
        "INVITATIONS_PER_HOUR": _int(environ, "INVITATIONS_PER_HOUR", 20),
        # Each process delivers in a background thread, woken at once by its own requests and
        # every BACKGROUND_INTERVAL seconds for other processes' messages and retries.
        # Off on the web processes only where `flask background run` runs as a process type of its own.
        "BACKGROUND_WORK": _bool(environ, "BACKGROUND_WORK", env != "testing"),
        "BACKGROUND_INTERVAL": _int(environ, "BACKGROUND_INTERVAL", 5),
        # Each maintenance job (taskapi/maintenance.py) runs once per this many seconds, in one process of all.
        "MAINTENANCE_INTERVAL": _int(environ, "MAINTENANCE_INTERVAL", 3600),
    }


# Compiled statements SQLAlchemy keeps per engine (its default is 500). The service runs a few dozen
# statements; the rest are list shapes (sort, filters, cursor), which a client can vary by the thousand.
# After 800 shapes, 500 held ~29 MiB more than 100 do (docs/performance.md, "Memory"); 100 hold the usual ones.
QUERY_CACHE_SIZE = 100


def engine_options(database_url, environ):
    """Pool settings that survive a PaaS database: dropped idle connections, failovers; a bounded cache."""
    if database_url.startswith("sqlite"):
        # Wait for a concurrent writer rather than fail.
        return {"connect_args": {"timeout": 15}, "query_cache_size": QUERY_CACHE_SIZE}
    if not database_url.startswith("postgresql"):
        return {}
    return {
        "query_cache_size": QUERY_CACHE_SIZE,
        # Dead connections are found on checkout without a round trip: see taskapi/sessions.py.
        "pool_pre_ping": False,
        "pool_recycle": _int(environ, "DB_POOL_RECYCLE", 300),
        "pool_size": _int(environ, "DB_POOL_SIZE", 5),
        "max_overflow": _int(environ, "DB_MAX_OVERFLOW", 5),
        "pool_timeout": _int(environ, "DB_POOL_TIMEOUT", 10),
        "connect_args": {"connect_timeout": _int(environ, "DB_CONNECT_TIMEOUT", 5)},
    }
