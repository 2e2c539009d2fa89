"""gunicorn.conf.py: the settings and hooks the Procfile's web process runs with."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# In a child process: the file sets process-wide variables (the metrics directory, TASKAPI_WEB_PROCESS).
FREEZE_PROBE = """
import gc, runpy
settings = runpy.run_path("gunicorn.conf.py")
from taskapi import create_app
app = create_app({"SECRET_KEY": "s" * 32, "JWT_SECRET_KEY": "j" * 32}, {"TASKAPI_ENV": "testing"})
before = gc.get_freeze_count()
settings["post_worker_init"](type("Worker", (), {"wsgi": app, "configure": lambda **settings: None}))
print(before, gc.get_freeze_count(), len(gc.get_objects()))
"""


def test_worker_hides_the_loaded_app_from_the_garbage_collector(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}  # gunicorn's on_starting would make it
    out = subprocess.run([sys.executable, "-c", FREEZE_PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True)
    before, frozen, still_tracked = map(int, out.stdout.split()[-3:])
    assert before == 0
    assert frozen > 10_000  # the app and its modules
    assert still_tracked < frozen / 10  # a full collection now walks a small fraction of the heap


# The file's settings as gunicorn takes them in (gunicorn.app.base.Application.load_config_from_file).
SETTINGS_PROBE = """
import json, runpy
from gunicorn.config import Config
cfg = Config()
for name, value in runpy.run_path("gunicorn.conf.py").items():
    if name in cfg.settings:
        cfg.set(name, value)
print(json.dumps({"forwarded_allow_ips": cfg.forwarded_allow_ips, "secure_scheme_headers": cfg.secure_scheme_headers,
                  "forwarder_headers": cfg.forwarder_headers, "worker_class": cfg.worker_class_str,
                  "limit_request_line": cfg.limit_request_line}))
"""


def gunicorn_settings(tmp_path, **env):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), **env}
    out = subprocess.run([sys.executable, "-c", SETTINGS_PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.splitlines()[-1])


@pytest.mark.parametrize("trusted_proxies", [None, "", "0"])
def test_without_a_trusted_proxy_no_client_sets_the_scheme_or_the_script_name(tmp_path, trusted_proxies):
    env = {} if trusted_proxies is None else {"TRUSTED_PROXIES": trusted_proxies}
    settings = gunicorn_settings(tmp_path, **env)
    assert settings["forwarded_allow_ips"] == []
    assert settings["forwarder_headers"] == []


def test_behind_a_trusted_proxy_only_x_forwarded_proto_says_the_scheme(tmp_path):
    settings = gunicorn_settings(tmp_path, TRUSTED_PROXIES="1")
    assert settings["forwarded_allow_ips"] == ["*"]
    assert settings["secure_scheme_headers"] == {"X-FORWARDED-PROTO": "https"}
    assert settings["forwarder_headers"] == []


def test_every_worker_reads_whole_requests_before_a_thread_takes_them(tmp_path):
    for threads in ("1", "4"):
        settings = gunicorn_settings(tmp_path, GUNICORN_THREADS=threads)
        assert settings["worker_class"] == "taskapi.gunicorn_worker.ThreadWorker"
        # Above gunicorn's own cap of 8190: the contract's longest query is ~26 500 bytes percent-encoded.
        assert settings["limit_request_line"] == 32 * 1024


GARBAGE_PROBE = """
import gc, runpy, weakref
settings = runpy.run_path("gunicorn.conf.py")
from taskapi import create_app
app = create_app({"SECRET_KEY": "s" * 32, "JWT_SECRET_KEY": "j" * 32}, {"TASKAPI_ENV": "testing"})
class Node: pass
node = Node(); node.self = node  # a cycle only the collector frees
left = weakref.ref(node); del node
settings["post_worker_init"](type("Worker", (), {"wsgi": app, "configure": lambda **settings: None}))
print(left() is None)
"""


def test_what_the_worker_freezes_holds_no_garbage(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", GARBAGE_PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.split()[-1] == "True"  # collected before gc.freeze(), not kept for the worker's life
