"""`.env.example`: copying it to .env as the README suggests breaks nothing, and it names every variable."""

import re
from pathlib import Path

from dotenv import dotenv_values

from taskapi import config

ROOT = Path(__file__).resolve().parents[1]
READ_BY_CONFIG = re.compile(r"""(?:environ\.get\(|_int\(environ, |_float\(environ, |_bool\(environ, )"([A-Z_]+)\"""")
# Read by gunicorn.conf.py rather than the app's config.
GUNICORN_VARIABLES = {"PORT", "WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_TIMEOUT", "GUNICORN_GRACEFUL_TIMEOUT",
                      "TASKAPI_ENV", "LOG_LEVEL"}


def test_copied_to_env_it_sets_nothing_so_development_still_runs(tmp_path):
    example = dotenv_values(ROOT / ".env.example")
    assert example == {}, "every line must stay a comment: a value would override .flaskenv's development"
    environ = {**dotenv_values(ROOT / ".flaskenv"), **example}
    loaded = config.load(str(tmp_path), environ)
    assert loaded["TASKAPI_ENV"] == "development"
    assert loaded["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")


def test_every_variable_is_in_env_example_and_the_readme():
    read = set(READ_BY_CONFIG.findall((ROOT / "taskapi" / "config.py").read_text())) | GUNICORN_VARIABLES
    example = set(re.findall(r"^# ([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    readme = (ROOT / "README.md").read_text()
    assert len(read) > 30
    assert read - example == set()
    assert {name for name in read if f"`{name}`" not in readme} == set()
