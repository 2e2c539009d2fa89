"""/api/v1/lists: the caller's lists, shared with members by role; their members and invitations.
/api/v1/invitations: the invitations waiting for the caller's email."""

from flask import make_response, url_for
from flask_jwt_extended import current_user

from taskapi.api import Blueprint
from taskapi.lists import commands, invitations, queries
from taskapi.lists.models import etag
from taskapi.lists.schemas import (
    AcceptedSchema,
    InvitationCreateSchema,
    ListInvitationListSchema,
    ListPageSchema,
    ListSchema,
    ListWriteSchema,
    MemberListSchema,
    MemberSchema,
    MyInvitationListSchema,
    RoleChangeSchema,
)
from taskapi.schemas import PageQuerySchema
from taskapi.tasks.routes import ETAG_HEADER, not_modified, versions_from
from taskapi.tasks.schemas import IfMatchSchema, IfNoneMatchSchema

blp = Blueprint("lists", __name__, url_prefix="/api/v1/lists",
                description="Lists of tasks, shared with members by role.")

LOCATION_HEADER = {"Location": {"description": "URL of the new list.", "required": True, "schema": {"type": "string"}}}


def _headers(task_list):
    return {"ETag": etag(task_list.id, task_list.version)}


@blp.post("")
@blp.authenticated(scope="lists:write")
@blp.body(ListWriteSchema)
@blp.response(201, ListSchema, headers={**ETAG_HEADER, **LOCATION_HEADER})
@blp.errors(409, 500, 503)
def create_list(data):
    """Make a list; the caller is its owner."""
    task_list = commands.create_list(current_user, data["name"])
    return task_list, 201, {**_headers(task_list), "Location": url_for("lists.get_list", list_id=task_list.id)}


@blp.get("")
@blp.authenticated(scope="lists:read")
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, ListPageSchema)
@blp.errors(500, 503)
def list_lists(args):
    """The caller's lists: the inbox first, then by creation."""
    return queries.list_lists(current_user, args["limit"], args["offset"])


@blp.get("/<int:list_id>")
@blp.authenticated(scope="lists:read")
@blp.arguments(IfNoneMatchSchema, location="headers")
@blp.response(200, ListSchema, headers=ETAG_HEADER)
@blp.alt_response(304, description="Not Modified: If-None-Match names the current ETag.", headers=ETAG_HEADER)
@blp.errors(404, 500, 503)
def get_list(headers, list_id):
    """Read one list, with the caller's role and permissions."""
    task_list = queries.get_list(current_user, list_id)
    if not_modified(headers, task_list.etag):
        return make_response("", 304, _headers(task_list))
    return task_list, 200, _headers(task_list)


@blp.patch("/<int:list_id>")
@blp.authenticated(scope="lists:write")
@blp.arguments(IfMatchSchema, location="headers")
@blp.body(ListWriteSchema)
@blp.response(200, ListSchema, headers=ETAG_HEADER)
@blp.errors(403, 404, 412, 500, 503)
def rename_list(headers, data, list_id):
    """Rename a list (list.update)."""
    task_list = commands.rename_list(current_user, list_id, data["name"], versions_from(headers, list_id))
    return task_list, 200, _headers(task_list)


@blp.delete("/<int:list_id>")
@blp.authenticated(scope="lists:write")
@blp.arguments(IfMatchSchema, location="headers")
@blp.response(204)
@blp.errors(403, 404, 412, 422, 500, 503)
def delete_list(headers, list_id):
    """Delete a list and every task in it for good (list.delete); not the inbox."""
    commands.delete_list(current_user, list_id, versions_from(headers, list_id))


@blp.get("/<int:list_id>/members")
@blp.authenticated(scope="lists:read")
@blp.response(200, MemberListSchema)
@blp.errors(404, 500, 503)
def list_members(list_id):
    """The list's members with their roles."""
    return {"items": commands.members(current_user, list_id)}


@blp.patch("/<int:list_id>/members/<int:user_id>")
@blp.authenticated(scope="lists:write")
@blp.body(RoleChangeSchema)
@blp.response(200, MemberSchema)
@blp.errors(403, 404, 500, 503)
def change_role(data, list_id, user_id):
    """Change a member's role; "owner" hands the list over (the owner only)."""
    return commands.change_role(current_user, list_id, user_id, data["role"])


@blp.delete("/<int:list_id>/members/<int:user_id>")
@blp.authenticated(scope="lists:write")
@blp.response(204)
@blp.errors(403, 404, 422, 500, 503)
def remove_member(list_id, user_id):
    """Remove a member (members.manage), or leave the list (your own id)."""
    commands.remove_member(current_user, list_id, user_id)


@blp.post("/<int:list_id>/invitations")
@blp.authenticated(scope="lists:write")
@blp.body(InvitationCreateSchema)
@blp.response(202, AcceptedSchema)
@blp.errors(403, 404, 422, 429, 500, 503)
def create_invitation(data, list_id):
    """Invite an email address (members.manage; admin only by the owner): one answer for every address."""
    invitations.invite(current_user, list_id, data["email"], data["role"])
    return {}


@blp.get("/<int:list_id>/invitations")
@blp.authenticated(scope="lists:read")
@blp.response(200, ListInvitationListSchema)
@blp.errors(403, 404, 500, 503)
def list_invitations(list_id):
    """The list's pending invitations (members.manage)."""
    return {"items": invitations.list_invitations(current_user, list_id)}


@blp.delete("/<int:list_id>/invitations/<int:invitation_id>")
@blp.authenticated(scope="lists:write")
@blp.response(204)
@blp.errors(403, 404, 500, 503)
def withdraw_invitation(list_id, invitation_id):
    """Withdraw a pending invitation (members.manage)."""
    invitations.withdraw(current_user, list_id, invitation_id)


invitations_blp = Blueprint("invitations", __name__, url_prefix="/api/v1/invitations",
                            description="Invitations to lists waiting for the caller's email.")


@invitations_blp.get("")
@invitations_blp.authenticated(scope="lists:read")
@invitations_blp.response(200, MyInvitationListSchema)
@invitations_blp.errors(500, 503)
def list_my_invitations():
    """The pending invitations for the caller's email."""
    return {"items": invitations.my_invitations(current_user)}


@invitations_blp.post("/<int:invitation_id>/accept")
@invitations_blp.authenticated(scope="lists:write")
@invitations_blp.response(200, ListSchema, headers=ETAG_HEADER)
@invitations_blp.errors(404, 409, 500, 503)
def accept_invitation(invitation_id):
    """Accept an invitation for the caller's email: the caller joins the list with its role."""
    task_list = invitations.accept(current_user, invitation_id)
    return task_list, 200, _headers(task_list)


@invitations_blp.delete("/<int:invitation_id>")
@invitations_blp.authenticated(scope="lists:write")
@invitations_blp.response(204)
@invitations_blp.errors(404, 500, 503)
def decline_invitation(invitation_id):
    """Decline an invitation for the caller's email."""
    invitations.decline(current_user, invitation_id)
