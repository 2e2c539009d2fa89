"""Webhook fixtures: an app whose retries come fast, Ada's list "Home", a real receiver on 127.0.0.1 (stopped after
the test) and Home's webhook pointing at it."""

import pytest

from tests.helpers.lists import create_list
from tests.helpers.webhooks import FAST_RETRIES, create_webhook
from tests.webhook_receiver import Receiver


@pytest.fixture
def app(make_app):
    return make_app(**FAST_RETRIES)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def home(client, ada):
    return create_list(client, ada.auth, "Home")


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def hook(client, ada, home, receiver):
    """A webhook of Home's for every task event, pointing at the receiver."""
    return create_webhook(client, ada.auth, home["id"], receiver.url())
