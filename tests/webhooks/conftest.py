"""Webhook fixtures: Ada's list "Home", and a real receiver on 127.0.0.1 (stopped after the test)."""

import pytest

from tests.helpers.lists import create_list
from tests.webhook_receiver import Receiver


@pytest.fixture
def home(client, ada):
    return create_list(client, ada.auth, "Home")


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()
