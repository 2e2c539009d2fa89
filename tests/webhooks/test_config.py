"""The webhooks' settings: http:// and private addresses allowed outside production only unless set, honoured
wherever set; the timeout and the retry window may be fractional."""

import pytest

from taskapi import config

SECRET = "s" * 40
PRODUCTION = {"SECRET_KEY": SECRET, "JWT_SECRET_KEY": SECRET, "DATABASE_URL": "postgresql://db/taskapi"}


def test_defaults():
    production = config.load("/tmp", PRODUCTION)
    assert production["WEBHOOK_ALLOW_HTTP"] is False
    assert (production["WEBHOOK_TIMEOUT"], production["WEBHOOK_RETRY_HOURS"]) == (10, 72)
    assert production["MAX_WEBHOOKS_PER_LIST"] == 10
    assert config.load("/tmp", {"TASKAPI_ENV": "development"})["WEBHOOK_ALLOW_HTTP"] is True


def test_allow_http_is_honoured_wherever_it_is_set():
    assert config.load("/tmp", {**PRODUCTION, "WEBHOOK_ALLOW_HTTP": "true"})["WEBHOOK_ALLOW_HTTP"] is True
    assert config.load("/tmp", {"TASKAPI_ENV": "development", "WEBHOOK_ALLOW_HTTP": "false"})[
        "WEBHOOK_ALLOW_HTTP"] is False


def test_fractional_values():
    loaded = config.load("/tmp", {**PRODUCTION, "WEBHOOK_RETRY_HOURS": "0.5", "WEBHOOK_TIMEOUT": "2.5"})
    assert (loaded["WEBHOOK_RETRY_HOURS"], loaded["WEBHOOK_TIMEOUT"]) == (0.5, 2.5)


@pytest.mark.parametrize(("name", "value"), [("WEBHOOK_RETRY_HOURS", "0"), ("WEBHOOK_RETRY_HOURS", "-1"),
                                             ("WEBHOOK_TIMEOUT", "soon"), ("WEBHOOK_TIMEOUT", "inf"),
                                             ("WEBHOOK_TIMEOUT", "nan"), ("MAX_WEBHOOKS_PER_LIST", "0")])
def test_nonsense_is_refused(name, value):
    with pytest.raises(config.ConfigError, match=name):
        config.load("/tmp", {**PRODUCTION, name: value})
