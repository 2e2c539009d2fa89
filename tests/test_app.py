"""create_app and the configuration for each TASKAPI_ENV."""

import json

import pytest

from taskapi import config, create_app

SECRET = "s" * 32


def test_testing_config(app):
    assert app.config["TASKAPI_ENV"] == "testing" and app.testing


def test_production_refuses_to_start_naming_what_is_missing(capsys):
    with pytest.raises(SystemExit):
        create_app(environ={"TASKAPI_ENV": "production", "SECRET_KEY": "short"})
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 1
    message = json.loads(lines[0])["message"]
    for expected in ("SECRET_KEY is shorter than 32 characters", "JWT_SECRET_KEY is missing",
                     "DATABASE_URL is missing"):
        assert expected in message


def test_production_is_the_default_environment():
    assert config.environment_name({}) == "production"
    with pytest.raises(config.ConfigError):
        config.load("/tmp", {})


def test_production_config_with_everything_set():
    loaded = config.load("/tmp", {"SECRET_KEY": SECRET, "JWT_SECRET_KEY": SECRET,
                                  "DATABASE_URL": "postgres://u@h/db", "CORS_ORIGINS": "https://a.io, https://b.io"})
    assert loaded["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg2://u@h/db"
    assert loaded["SQLALCHEMY_ENGINE_OPTIONS"]["pool_recycle"] == 300
    assert loaded["SQLALCHEMY_ENGINE_OPTIONS"]["query_cache_size"] == 100  # not SQLAlchemy's 500: ~29 MiB more
    assert loaded["CORS_ORIGINS"] == ["https://a.io", "https://b.io"]
    assert loaded["LOG_JSON"] and loaded["HSTS"]


def test_production_has_no_cors_origins_by_default():
    loaded = config.load("/tmp", {"SECRET_KEY": SECRET, "JWT_SECRET_KEY": SECRET, "DATABASE_URL": "sqlite://"})
    assert loaded["CORS_ORIGINS"] == []


def test_development_defaults_to_sqlite_under_instance():
    loaded = config.load("/srv/instance", {"TASKAPI_ENV": "development"})
    assert loaded["SQLALCHEMY_DATABASE_URI"] == "sqlite:////srv/instance/taskapi.db"
    assert "http://localhost:5173" in loaded["CORS_ORIGINS"]
    assert not loaded["LOG_JSON"]


def test_trash_and_feed_retention_default_to_30_days_and_can_be_set():
    loaded = config.load("/tmp", {"TASKAPI_ENV": "development"})
    assert (loaded["TRASH_DAYS"], loaded["SYNC_RETENTION_DAYS"]) == (30, 30)
    loaded = config.load("/tmp", {"TASKAPI_ENV": "development", "TRASH_DAYS": "7", "SYNC_RETENTION_DAYS": "90"})
    assert (loaded["TRASH_DAYS"], loaded["SYNC_RETENTION_DAYS"]) == (7, 90)


@pytest.mark.parametrize("name, value", [("TRASH_DAYS", "0"), ("TRASH_DAYS", "week"), ("SYNC_RETENTION_DAYS", "-1")])
def test_retention_must_be_whole_days_of_at_least_one(name, value):
    with pytest.raises(config.ConfigError, match=name):
        config.load("/tmp", {"TASKAPI_ENV": "development", name: value})


@pytest.mark.parametrize("name, value", [("TASKAPI_ENV", "staging"), ("TRUSTED_PROXIES", "one")])
def test_bad_values_are_refused(name, value):
    with pytest.raises(config.ConfigError, match=name):
        config.load("/tmp", {"TASKAPI_ENV": "development", name: value})


def _production(**extra):
    return {"SECRET_KEY": SECRET, "JWT_SECRET_KEY": SECRET, "DATABASE_URL": "sqlite://", **extra}


@pytest.mark.parametrize("missing", ["MAIL_DEFAULT_SENDER", "PASSWORD_RESET_URL", "INVITATION_URL"])
def test_production_with_mail_server_refuses_to_start_without_sender_or_link(missing):
    environ = _production(MAIL_SERVER="smtp.example.com", MAIL_DEFAULT_SENDER="no-reply@example.com",
                          PASSWORD_RESET_URL="https://app.example.com/reset?token={token}",
                          INVITATION_URL="https://app.example.com/invitations?token={token}")
    del environ[missing]
    problems = config.production_problems(environ)
    assert problems == [f"{missing} is missing (MAIL_SERVER is set)"]
    with pytest.raises(config.ConfigError, match=missing):
        config.load("/tmp", environ)


def test_production_without_mail_server_starts_with_a_warning():
    assert config.production_problems(_production()) == []
    assert config.production_warnings(_production()) == [
        "MAIL_SERVER is not set: password reset by email answers 503 until it is, and invitations wait in "
        "GET /api/v1/invitations without an email"]
    assert config.production_warnings(_production(MAIL_SERVER="smtp.example.com")) == []


def test_mail_settings_and_their_defaults():
    loaded = config.load("/tmp", {"TASKAPI_ENV": "development", "MAIL_USE_TLS": "true", "MAIL_USE_SSL": "0"})
    assert loaded["MAIL_PORT"] == 587 and loaded["MAIL_USE_TLS"] is True and loaded["MAIL_USE_SSL"] is False
    assert loaded["PASSWORD_RESET_URL"] == "http://127.0.0.1:5173/reset-password?token={token}"
    assert loaded["PASSWORD_RESET_EXPIRES"].total_seconds() == 3600 and loaded["PASSWORD_RESET_PER_EMAIL"] == 3


@pytest.mark.parametrize("name, value", [("MAIL_USE_TLS", "maybe"), ("PASSWORD_RESET_URL", "https://app.example.com/reset")])
def test_bad_mail_settings_are_refused(name, value):
    with pytest.raises(config.ConfigError, match=name):
        config.load("/tmp", {"TASKAPI_ENV": "development", name: value})


def test_request_read_timeout_is_read_from_the_environment():
    assert config.load("/tmp", {"TASKAPI_ENV": "development"})["REQUEST_READ_TIMEOUT"] == 10
    assert config.load("/tmp", {"TASKAPI_ENV": "development", "REQUEST_READ_TIMEOUT": "3"})["REQUEST_READ_TIMEOUT"] == 3


@pytest.mark.parametrize("name", ["REQUEST_READ_TIMEOUT", "MAX_CONTENT_LENGTH"])
@pytest.mark.parametrize("value", ["0", "-5", "soon"])
def test_server_limits_must_be_positive_whole_numbers(name, value):
    with pytest.raises(config.ConfigError, match=name):
        config.load("/tmp", {"TASKAPI_ENV": "development", name: value})
