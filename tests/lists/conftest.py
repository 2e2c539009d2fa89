"""List fixtures: three registered people (id, Authorization headers), and a list of Ada's."""

import pytest

from tests.helpers.lists import create_list, person


@pytest.fixture
def ada(client):
    return person(client, "Ada")


@pytest.fixture
def ben(client):
    return person(client, "Ben")


@pytest.fixture
def cal(client):
    return person(client, "Cal")


@pytest.fixture
def home(client, ada):
    """A list of Ada's (she is its owner), as created."""
    return create_list(client, ada.auth, "Home")
