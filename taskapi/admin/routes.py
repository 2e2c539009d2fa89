"""/api/v1/admin/users: list, read, change and delete users (admins only)."""

from flask_jwt_extended import current_user

from taskapi.admin import users
from taskapi.admin.schemas import AdminUserChangeSchema, AdminUserPageSchema, AdminUserQuerySchema, AdminUserSchema
from taskapi.api import Blueprint
from taskapi.auth.models import Role

blp = Blueprint("admin", __name__, url_prefix="/api/v1/admin", description="User administration (admins only).")


@blp.get("/users")
@blp.authenticated(role=Role.admin)
@blp.arguments(AdminUserQuerySchema, location="query")
@blp.response(200, AdminUserPageSchema)
@blp.errors(500, 503)
def list_users(args):
    """List users by id, filtered and paged."""
    return users.page(args)


@blp.get("/users/<int:user_id>")
@blp.authenticated(role=Role.admin)
@blp.response(200, AdminUserSchema)
@blp.errors(404, 500, 503)
def get_user(user_id):
    """Read one user."""
    return users.get(user_id)


@blp.patch("/users/<int:user_id>")
@blp.authenticated(role=Role.admin)
@blp.body(AdminUserChangeSchema)
@blp.response(200, AdminUserSchema)
@blp.errors(404, 500, 503)
def change_user(data, user_id):
    """Change a user's name, role or disabled state."""
    return users.change(current_user, user_id, data)


@blp.delete("/users/<int:user_id>")
@blp.authenticated(role=Role.admin)
@blp.response(204)
@blp.errors(404, 422, 500, 503)
def delete_user(user_id):
    """Delete a user and everything of theirs."""
    users.delete(current_user, user_id)
