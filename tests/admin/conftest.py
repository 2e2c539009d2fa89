"""Admin fixtures: an admin made as the CLI makes one, and requests to /api/v1/admin/users."""

import pytest
from sqlalchemy import update

from taskapi.auth.models import Role, User
from taskapi.extensions import db
from tests.conftest import bearer, register

USERS = "/api/v1/admin/users"


def make_admin(app, pair):
    """Give a registered user the admin role (what `flask users set-role EMAIL admin` does)."""
    with app.app_context():
        db.session.execute(update(User).where(User.id == pair["user"]["id"]).values(role=Role.admin))
        db.session.commit()
    return pair


@pytest.fixture
def admin(app, client):
    """Authorization headers of an admin (Root)."""
    pair = make_admin(app, register(client, email="root@example.com", name="Root"))
    return bearer(pair["access_token"])


@pytest.fixture
def admin_pair(app, client):
    return make_admin(app, register(client, email="root@example.com", name="Root"))


def user_url(user_id):
    return f"{USERS}/{user_id}"
