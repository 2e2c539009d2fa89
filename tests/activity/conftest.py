"""Activity fixtures: a list of Ada's shared with Ben (the people are tests/conftest.py's)."""

import pytest

from tests.helpers.lists import add_member, create_list


@pytest.fixture
def home(app, client, ada, ben):
    """A list of Ada's (owner) where Ben is an editor."""
    made = create_list(client, ada.auth, "Home")
    add_member(app, made["id"], ben.id, "editor")
    return made
