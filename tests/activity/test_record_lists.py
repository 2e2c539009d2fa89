"""Lists' writes record their activity: renames, members joining, leaving, removed, roles, invitations."""

from sqlalchemy import select

from taskapi.auth.models import User
from taskapi.extensions import db
from taskapi.lists.models import Invitation
from tests.helpers.activity import list_activity, shorten, stored_activity
from tests.helpers.api import PASSWORD, assert_error
from tests.helpers.lists import add_member, list_url, member_url
from tests.helpers.tasks import create, task_url


def newest(client, auth, list_id, count=1):
    return shorten(list_activity(client, auth, list_id)[:count])


def test_a_rename_is_list_updated_and_the_same_name_nothing(app, client, ada, home):
    assert client.patch(list_url(home["id"]), json={"name": "House"}, headers=ada.auth).status_code == 200
    assert newest(client, ada.auth, home["id"]) == [("list.updated", None, ada.id, {"name": ["Home", "House"]})]
    before = stored_activity(app)
    assert client.patch(list_url(home["id"]), json={"name": "House"}, headers=ada.auth).status_code == 200
    assert stored_activity(app) == before


def test_joining_by_invitation_and_invitations_sent_and_withdrawn(app, client, ada, ben, cal, home):
    invite = client.post(list_url(home["id"], "/invitations"), json={"email": cal.email, "role": "viewer"},
                         headers=ada.auth)
    assert invite.status_code == 202
    again = client.post(list_url(home["id"], "/invitations"), json={"email": cal.email, "role": "completer"},
                        headers=ada.auth)
    assert again.status_code == 202
    other = client.post(list_url(home["id"], "/invitations"), json={"email": "dee@example.com", "role": "editor"},
                        headers=ada.auth)
    assert other.status_code == 202
    with app.app_context():
        pending = {row.email: row.id for row in db.session.execute(select(Invitation)).scalars()
                   if row.state == "pending"}
    assert client.delete(list_url(home["id"], f"/invitations/{pending['dee@example.com']}"),
                         headers=ada.auth).status_code == 204
    assert client.post(f"/api/v1/invitations/{pending[cal.email]}/accept", headers=cal.auth).status_code == 200
    assert newest(client, ada.auth, home["id"], 5)[::-1] == [
        ("invitation.sent", None, ada.id, {"email": [None, cal.email], "role": [None, "viewer"]}),
        ("invitation.sent", None, ada.id, {"email": [None, cal.email], "role": [None, "completer"]}),
        ("invitation.sent", None, ada.id, {"email": [None, "dee@example.com"], "role": [None, "editor"]}),
        ("invitation.withdrawn", None, ada.id, {"email": ["dee@example.com", None], "role": ["editor", None]}),
        ("member.joined", None, cal.id, {"user_id": [None, cal.id], "role": [None, "completer"]}),
    ]
    # Who was invited is for those who manage members: Ben (an editor) and Cal read the rest.
    for reader in (ben, cal):
        assert newest(client, reader.auth, home["id"], 5)[::-1][:4] == [
            ("invitation.sent", None, ada.id, {"role": [None, "viewer"]}),
            ("invitation.sent", None, ada.id, {"role": [None, "completer"]}),
            ("invitation.sent", None, ada.id, {"role": [None, "editor"]}),
            ("invitation.withdrawn", None, ada.id, {"role": ["editor", None]}),
        ]
    # Never the invitation's id or anything of its link.
    assert all(set(item["changes"]) <= {"email", "role"} for item in list_activity(client, ada.auth, home["id"])
               if item["action"].startswith("invitation."))


def test_a_refused_invitation_records_nothing(app, client, ben, home):
    before = stored_activity(app)
    response = client.post(list_url(home["id"], "/invitations"), json={"email": "x@example.com", "role": "viewer"},
                           headers=ben.auth)
    assert_error(response, 403, "forbidden")
    assert stored_activity(app) == before


def test_role_changes_and_a_handover(client, ada, ben, home):
    assert client.patch(member_url(home["id"], ben.id), json={"role": "admin"}, headers=ada.auth).status_code == 200
    assert client.patch(member_url(home["id"], ben.id), json={"role": "owner"}, headers=ada.auth).status_code == 200
    assert newest(client, ada.auth, home["id"], 3)[::-1] == [
        ("member.role_changed", None, ada.id, {"user_id": [ben.id, ben.id], "role": ["editor", "admin"]}),
        ("member.role_changed", None, ada.id, {"user_id": [ben.id, ben.id], "role": ["admin", "owner"]}),
        ("member.role_changed", None, ada.id, {"user_id": [ada.id, ada.id], "role": ["owner", "admin"]}),
    ]


def test_the_same_role_again_records_nothing(app, client, ada, ben, home):
    before = stored_activity(app)
    assert client.patch(member_url(home["id"], ben.id), json={"role": "editor"}, headers=ada.auth).status_code == 200
    assert stored_activity(app) == before


def test_leaving_and_removal_unassign_with_an_entry_per_task(app, client, ada, ben, cal, home):
    add_member(app, home["id"], cal.id, "editor")
    mine = create(client, ada.auth, "Ben's", list_id=home["id"], assignee_id=ben.id)
    cals = create(client, ada.auth, "Cal's", list_id=home["id"], assignee_id=cal.id)
    assert client.delete(member_url(home["id"], ben.id), headers=ben.auth).status_code == 204
    assert newest(client, ada.auth, home["id"], 2)[::-1] == [
        ("member.left", None, ben.id, {"user_id": [ben.id, None], "role": ["editor", None]}),
        ("task.updated", mine["id"], ben.id, {"assignee_id": [ben.id, None]}),
    ]
    assert client.delete(member_url(home["id"], cal.id), headers=ada.auth).status_code == 204
    assert newest(client, ada.auth, home["id"], 2)[::-1] == [
        ("member.removed", None, ada.id, {"user_id": [cal.id, None], "role": ["editor", None]}),
        ("task.updated", cals["id"], ada.id, {"assignee_id": [cal.id, None]}),
    ]
    assert client.get(task_url(mine["id"]), headers=ada.auth).get_json()["assignee_id"] is None


def test_account_deletion_leaves_the_lists_of_others_as_the_service(app, client, ada, ben, home):
    assigned = create(client, ada.auth, "Ben's", list_id=home["id"], assignee_id=ben.id)
    response = client.delete("/api/v1/auth/me", json={"password": PASSWORD}, headers=ben.auth)
    assert response.status_code == 204
    assert newest(client, ada.auth, home["id"], 2)[::-1] == [
        ("member.left", None, None, {"user_id": [ben.id, None], "role": ["editor", None]}),
        ("task.updated", assigned["id"], None, {"assignee_id": [ben.id, None]}),
    ]
    # Ben's own earlier entries stay, without him: his account is gone.
    joined = [item for item in list_activity(client, ada.auth, home["id"]) if item["action"] == "member.joined"]
    assert [item["actor"] for item in joined] == [None]
    with app.app_context():
        assert db.session.get(User, ben.id) is None


def test_a_deleted_list_takes_its_activity_with_it(app, client, ada, home):
    create(client, ada.auth, "Gone with it", list_id=home["id"])
    assert client.delete(list_url(home["id"]), headers=ada.auth).status_code == 204
    assert [row for row in stored_activity(app) if row[0] == home["id"]] == []
