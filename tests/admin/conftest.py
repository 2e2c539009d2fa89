"""Admin fixtures: an admin (Root), as headers or as its token pair."""

import pytest

from tests.helpers.admin import make_admin
from tests.helpers.api import bearer, register


@pytest.fixture
def admin(app, client):
    """Authorization headers of an admin (Root)."""
    pair = make_admin(app, register(client, email="root@example.com", name="Root"))
    return bearer(pair["access_token"])


@pytest.fixture
def admin_pair(app, client):
    return make_admin(app, register(client, email="root@example.com", name="Root"))
