"""Admin helpers: an admin made as the CLI makes one, and the URLs of /api/v1/admin/users."""

from sqlalchemy import update

from taskapi.auth.models import Role, User
from taskapi.extensions import db

USERS = "/api/v1/admin/users"


def make_admin(app, pair):
    """Give a registered user the admin role (what `flask users set-role EMAIL admin` does)."""
    with app.app_context():
        db.session.execute(update(User).where(User.id == pair["user"]["id"]).values(role=Role.admin))
        db.session.commit()
    return pair


def user_url(user_id):
    return f"{USERS}/{user_id}"
