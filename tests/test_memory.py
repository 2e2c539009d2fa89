"""A worker's memory: what Python freed goes back to the system, what a web process leaves unloaded, the
statement cache's bound."""

import ctypes
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from taskapi import memory
from taskapi.tasks import queries


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_heap_memory_goes_back_to_the_system():
    def rss_kib():
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))

    # 64 MiB in blocks under the mmap threshold: glibc takes them from its heap and keeps them once freed.
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = [libc.malloc(64 * 1024) for _ in range(1024)]
    for block in blocks:
        ctypes.memset(block, 1, 64 * 1024)
    keep = blocks.pop()  # a live block at the top of the heap: free() alone cannot shrink the heap
    for block in blocks:
        libc.free(block)
    before = rss_kib()
    assert memory.release_free_memory()
    assert rss_kib() < before - 32 * 1024
    libc.free(keep)


ROOT = Path(__file__).resolve().parents[1]
SECRET = "memory-test-" + "x" * 40

# Modules a worker on PostgreSQL never needs, each left out on purpose: alembic and Flask-Migrate (the
# release step migrates), PyYAML (flask-smorest's YAML command: taskapi.compat.leave_out_yaml), sqlite3
# (SQLite's driver, imported only when an engine on SQLite is made).
LEFT_OUT = ("alembic", "flask_migrate", "yaml", "sqlite3", "_sqlite3")

# In a child process, as a gunicorn worker builds the app: gunicorn.conf.py run first (TASKAPI_WEB_PROCESS=1,
# unless the test unsets it), production settings on PostgreSQL (no connection is made), then create_app
# and post_worker_init. Prints which of the modules named loaded, flask-smorest's PyYAML flag and the document.
WORKER_PROBE = """
import json, os, runpy, sys
settings = runpy.run_path("gunicorn.conf.py")
if os.environ.get("PROBE_NOT_WEB") == "1":
    del os.environ["TASKAPI_WEB_PROCESS"]
from taskapi import create_app
app = create_app({"BACKGROUND_WORK": False})
settings["post_worker_init"](type("Worker", (), {"wsgi": app, "configure": lambda **settings: None}))
import flask_smorest.spec
loaded = [name for name in sys.argv[1:] if sys.modules.get(name) is not None]
document = app.test_client().get("/openapi.json").get_json()
print(json.dumps({"loaded": loaded, "has_pyyaml": flask_smorest.spec.HAS_PYYAML, "document": document}))
"""


def _worker(tmp_path, web=True):
    tmp_path.mkdir()  # the metrics directory, as gunicorn's on_starting makes it
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TASKAPI_", "DATABASE_URL"))}
    env.update({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "TASKAPI_ENV": "production", "SECRET_KEY": SECRET,
                "JWT_SECRET_KEY": SECRET, "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
                "PROBE_NOT_WEB": "0" if web else "1"})
    out = subprocess.run([sys.executable, "-c", WORKER_PROBE, *LEFT_OUT], cwd=ROOT, env=env, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def test_a_worker_leaves_out_what_it_never_uses_and_serves_the_same_document(tmp_path):
    worker = _worker(tmp_path / "web")
    assert worker["loaded"] == []
    assert worker["has_pyyaml"] is False  # how flask-smorest is told (taskapi.compat)
    # The same app outside a web process (`flask` commands) loads them, and documents the API alike.
    other = _worker(tmp_path / "other", web=False)
    assert other["loaded"] == ["alembic", "flask_migrate", "yaml"]
    assert other["has_pyyaml"] is True
    assert worker["document"] == other["document"]
    assert len(worker["document"]["paths"]) > 30


def test_the_list_statements_kept_are_bounded(app):
    queries._list_statement.cache_clear()
    shapes = [(f"{sign}{key}", filters, None) for key in ("created_at", "updated_at", "due_at", "priority", "title")
              for sign in ("", "-") for filters in ((), ("status",), ("priority",), ("status", "priority"))]
    assert len(shapes) > queries.LIST_STATEMENTS_KEPT
    with app.app_context():
        for shape in shapes:
            queries._list_statement(*shape)
    info = queries._list_statement.cache_info()
    assert (info.currsize, info.misses) == (queries.LIST_STATEMENTS_KEPT, len(shapes))
    queries._list_statement.cache_clear()
