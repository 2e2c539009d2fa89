"""gunicorn.conf.py: the hooks the Procfile's web process runs."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# In a child process: the file sets process-wide variables (the metrics directory, TASKAPI_WEB_PROCESS).
FREEZE_PROBE = """
import gc, runpy
settings = runpy.run_path("gunicorn.conf.py")
from taskapi import create_app
app = create_app({"SECRET_KEY": "s" * 32, "JWT_SECRET_KEY": "j" * 32}, {"TASKAPI_ENV": "testing"})
before = gc.get_freeze_count()
settings["post_worker_init"](type("Worker", (), {"wsgi": app}))
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
