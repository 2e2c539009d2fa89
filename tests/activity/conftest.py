"""Activity fixtures: three people (as the lists' tests have them) and a list of Ada's shared with Ben."""

import pytest

from tests.helpers.lists import add_member, create_list, person


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
def home(app, client, ada, ben):
    """A list of Ada's (owner) where Ben is an editor."""
    made = create_list(client, ada.auth, "Home")
    add_member(app, made["id"], ben.id, "editor")
    return made
