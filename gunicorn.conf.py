"""gunicorn settings, read from the repository root by `gunicorn wsgi:app` (see Procfile)."""

import contextlib
import ctypes
import gc
import os
import shutil
import sys
import tempfile

# Workers write Prometheus samples here so /metrics adds up every worker. It must
# be set before any worker imports prometheus_client, hence at the top of this file.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), f"taskapi-metrics-{os.getpid()}"))
# glibc gives each thread that allocates an arena of its own, up to 8 per core, and memory freed in one
# arena serves only that arena: a worker's request threads and background thread each keep a heap's worth
# of free pages. Two arenas for the whole worker; set here, in the master, so every worker forked inherits it.
M_ARENA_MAX = -8  # glibc's mallopt parameter
with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
    ctypes.CDLL(None).mallopt(M_ARENA_MAX, 2)
# Workers never run migrations (the release step does): create_app leaves Flask-Migrate and alembic out.
os.environ["TASKAPI_WEB_PROCESS"] = "1"

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads overlap one request's database round trips with another's Python, and keep client
# connections alive. Each thread holds at most one pooled connection, within DB_POOL_SIZE + DB_MAX_OVERFLOW.
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# gunicorn's gthread worker, but its event loop reads each whole request before a thread takes it, within
# REQUEST_READ_TIMEOUT (else 408): a slow or silent client holds no thread. Also with one thread: a sync
# worker would wait on every client in turn. It runs on gunicorn 27.0.x only, plain HTTP/1.1 (no certfile,
# keyfile, HTTP/2, PROXY or uwsgi protocol: it refuses to start with them), and is told about the app by
# post_worker_init below. See docs/server.md.
worker_class = "taskapi.gunicorn_worker.ThreadWorker"
worker_connections = 1000  # per worker, idle and being read included; accepting pauses beyond
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))  # a stuck worker is killed and replaced
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))  # SIGTERM: finish requests in flight
keepalive = 5  # seconds an idle connection stays open; it waits in the event loop, not in a thread
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
# Only a proxy in front (TRUSTED_PROXIES) may say the scheme; without one, no client does. Behind one,
# the app's ProxyFix reads X-Forwarded-Proto and -For, so gunicorn believes that header alone (not
# X-Forwarded-Ssl, which routers pass through from the client) and no SCRIPT_NAME or PATH_INFO.
forwarded_allow_ips = "*" if os.environ.get("TRUSTED_PROXIES", "").strip() not in ("", "0") else ""
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
forwarder_headers = ""
accesslog = None  # taskapi logs each request itself, with its request id
control_socket_disable = True  # nothing here uses gunicornc, and a PaaS home may be read-only
# The request head: the worker answers 414 (envelope) past the request line limit, 431 past 32 KiB of
# header fields; gunicorn's parser then answers 431 for a field over 8190 bytes or more than 100 fields.
# The longest legal line is ~26 500 bytes: `q` may be 2200 characters, up to 26 400 bytes percent-encoded.
limit_request_line = 32 * 1024
limit_request_field_size = 8190
limit_request_fields = 100

_production = os.environ.get("TASKAPI_ENV", "production").strip().lower() in ("", "production")
_text = {"format": "%(asctime)s %(levelname)s %(message)s"}
_formatter = {"()": "taskapi.logs.JsonFormatter"} if _production else _text
_level = os.environ.get("LOG_LEVEL", "INFO").upper()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"taskapi": _formatter},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "taskapi"}},
    "loggers": {
        "gunicorn.error": {"level": _level, "handlers": ["stdout"], "propagate": False},
        # taskapi logs every request itself, with its request id and duration.
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
    },
    "root": {"level": "INFO", "handlers": []},
}


def on_starting(server):
    """Refuse to start, in one line, when production lacks its settings."""
    from taskapi.config import ConfigError, environment_name, production_problems, production_warnings

    try:
        env = environment_name()
    except ConfigError as exc:
        server.log.critical(str(exc))
        sys.exit(1)
    problems = production_problems(os.environ) if env == "production" else []
    if problems:
        server.log.critical("cannot start in production: " + "; ".join(problems))
        sys.exit(1)
    for warning in production_warnings(os.environ) if env == "production" else []:
        server.log.warning(warning)
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)


def post_worker_init(worker):
    """Tell the worker about the app; start its background thread (mail, and giving freed memory back);
    hide what it loaded from the GC; give back what loading it freed."""
    from taskapi import background, memory, server

    worker.configure(**server.worker_settings(worker.wsgi))
    background.start(worker.wsgi)
    # A full collection walks every tracked object: ~95 000 once the app is loaded, 50-60 ms a time
    # on one busy core, and every request in flight waits it out, a few times a minute under load
    # (it set the list's p99). Frozen objects are never scanned again; requests' garbage still is.
    # The garbage the imports and create_app left goes first: frozen, it would never be freed.
    gc.collect()
    gc.freeze()
    # What the imports freed (their files read, their compilers' work) is glibc's to give back, not the
    # worker's to keep until the background thread's first trim a minute later: ~0.5 MiB at once.
    memory.release_free_memory()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
