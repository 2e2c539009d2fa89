"""List fixtures: a list of Ada's (the people, Ada, Ben and Cal, are tests/conftest.py's)."""

import pytest

from tests.helpers.lists import create_list


@pytest.fixture
def home(client, ada):
    """A list of Ada's (she is its owner), as created."""
    return create_list(client, ada.auth, "Home")
