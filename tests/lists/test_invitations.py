"""Invitations to lists: one answer for every address, mail through the outbox, accept/decline/withdraw, limits."""

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from taskapi import background
from taskapi.extensions import db
from taskapi.lists import invitations
from taskapi.lists.models import Invitation, InvitationState, Membership
from taskapi.mail.models import OutboxMessage
from taskapi.models import utcnow
from tests.helpers.api import PASSWORD, assert_error, bearer, register
from tests.helpers.auth import count
from tests.helpers.tasks import parse_time
from tests.helpers.threads import race
from tests.smtp import INVITATION_URL, SENDER, mail_settings, text_of
from tests.test_maintenance import run_job

LISTS = "/api/v1/lists"
MINE = "/api/v1/invitations"
LIST_FIELDS = {"id", "name", "inbox", "role", "permissions", "member_count", "task_count", "created_at",
               "updated_at", "version"}


# Helpers


def make_list(client, auth, name="Home"):
    response = client.post(LISTS, json={"name": name}, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def inbox_of(client, auth):
    return client.get(LISTS, headers=auth).get_json()["items"][0]["id"]


def invite(client, auth, list_id, email="bob@example.com", role="editor"):
    return client.post(f"{LISTS}/{list_id}/invitations", json={"email": email, "role": role}, headers=auth)


def sent(client, auth, list_id, email="bob@example.com", role="editor"):
    response = invite(client, auth, list_id, email, role)
    assert response.status_code == 202, response.get_json()
    assert response.get_json() == {}


def waiting(client, auth):
    response = client.get(MINE, headers=auth)
    assert response.status_code == 200
    return response.get_json()["items"]


def pending_of(client, auth, list_id):
    response = client.get(f"{LISTS}/{list_id}/invitations", headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def accept(client, auth, invitation_id):
    return client.post(f"{MINE}/{invitation_id}/accept", headers=auth)


def decline(client, auth, invitation_id):
    return client.delete(f"{MINE}/{invitation_id}", headers=auth)


def withdraw(client, auth, list_id, invitation_id):
    return client.delete(f"{LISTS}/{list_id}/invitations/{invitation_id}", headers=auth)


def only_waiting(client, auth):
    (item,) = waiting(client, auth)
    return item["id"]


def join(client, owner, list_id, member, email, role="editor"):
    """Invite `email` and accept it as `member`: they are a member with `role`."""
    sent(client, owner, list_id, email, role)
    assert accept(client, member, only_waiting(client, member)).status_code == 200


def rows(app):
    """Every invitation stored: (email, role, state), oldest first."""
    with app.app_context():
        found = db.session.execute(select(Invitation).order_by(Invitation.id)).scalars()
        return [(row.email, str(row.role), str(row.state)) for row in found]


def members_of(app, list_id):
    with app.app_context():
        query = select(Membership.user_id, Membership.role).where(Membership.list_id == list_id)
        return {user_id: str(role) for user_id, role in db.session.execute(query)}


def move_back(app, field, by, *where):
    """Move invitations' `field` (created_at, expires_at) back in time by `by`: time passing, for them."""
    with app.app_context():
        for invitation in db.session.execute(select(Invitation).where(*where)).scalars():
            setattr(invitation, field, getattr(invitation, field) - by)
        db.session.commit()


def deliver(app):
    """Do what each serving process's background thread does, once, now."""
    with app.app_context():
        background.run_jobs(app)


def without_request_id(response):
    return {key: value for key, value in response.headers.items() if key != "X-Request-ID"}


@pytest.fixture
def ada(user):
    return bearer(user["access_token"])


@pytest.fixture
def bob_auth(bob):
    return bearer(bob["access_token"])


@pytest.fixture
def carol(client):
    return bearer(register(client, email="carol@example.com", name="Carol")["access_token"])


@pytest.fixture
def home(client, ada):
    return make_list(client, ada)


# Inviting


def test_an_invitation_waits_for_its_address(client, ada, bob_auth, user, home):
    before = utcnow()
    sent(client, ada, home, "bob@example.com", "editor")
    (mine,) = waiting(client, bob_auth)
    assert set(mine) == {"id", "list", "role", "invited_by", "expires_at"}
    assert mine["list"] == {"id": home, "name": "Home"}
    assert mine["role"] == "editor"
    ada_id = client.get("/api/v1/auth/me", headers=ada).get_json()["id"]
    assert mine["invited_by"] == {"id": ada_id, "name": "Ada"}
    expires = parse_time(mine["expires_at"])
    assert before + timedelta(days=7) <= expires <= utcnow() + timedelta(days=7)
    (pending,) = pending_of(client, ada, home)
    assert set(pending) == {"id", "email", "role", "created_at", "expires_at"}
    assert (pending["id"], pending["email"], pending["role"]) == (mine["id"], "bob@example.com", "editor")
    assert parse_time(pending["expires_at"]) - parse_time(pending["created_at"]) == timedelta(days=7)
    assert waiting(client, ada) == []  # not Ada's address


def test_every_well_formed_address_gets_the_same_answer_and_the_same_work(app, client, ada, bob, home):
    answers = [invite(client, ada, home, email) for email in
               ("nobody@example.com", "bob@example.com", "ada@example.com")]  # no account, an account, a member
    assert {response.status_code for response in answers} == {202}
    assert answers[0].get_json() == {} and len({response.get_data() for response in answers}) == 1
    assert [without_request_id(r) for r in answers] == [without_request_id(answers[0])] * 3
    assert rows(app) == [("nobody@example.com", "editor", "pending"), ("bob@example.com", "editor", "pending"),
                         ("ada@example.com", "editor", "pending")]
    with app.app_context():
        messages = db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()
        assert [(m.recipient, m.user_id, m.secret) for m in messages] == [
            ("nobody@example.com", None, None), ("bob@example.com", None, None), ("ada@example.com", None, None)]


def test_the_address_is_normalised_as_accounts_are(app, client, ada, bob_auth, home):
    sent(client, ada, home, "  BOB@Example.COM ")
    assert rows(app) == [("bob@example.com", "editor", "pending")]
    assert len(waiting(client, bob_auth)) == 1


@pytest.mark.parametrize("body, field", [
    ({"email": "not an address", "role": "editor"}, "email"),
    ({"email": "bob@example.com", "role": "boss"}, "role"),
    ({"email": "bob@example.com"}, "role"),
    ({"role": "editor"}, "email"),
    ({"email": "bob@example.com", "role": "editor", "extra": 1}, "extra"),
])
def test_a_malformed_invitation_is_422_and_nothing_is_stored(app, client, ada, home, body, field):
    response = client.post(f"{LISTS}/{home}/invitations", json=body, headers=ada)
    assert field in assert_error(response, 422, "validation_error")["errors"]["json"]
    assert rows(app) == [] and count(app, OutboxMessage) == 0


def test_the_role_must_be_below_owner(app, client, ada, home):
    body = assert_error(invite(client, ada, home, role="owner"), 422, "validation_error")
    assert list(body["errors"]["json"]) == ["role"]
    assert rows(app) == [] and count(app, OutboxMessage) == 0


def test_the_inbox_cannot_be_shared(app, client, ada):
    body = assert_error(invite(client, ada, inbox_of(client, ada)), 422, "validation_error")
    assert body["errors"] == {"path": {"list_id": ["The inbox cannot be shared."]}}
    assert rows(app) == [] and count(app, OutboxMessage) == 0


def test_a_non_member_gets_404_as_for_no_list(app, client, ada, bob_auth, home):
    assert_error(invite(client, bob_auth, home, "x@example.com"), 404, "not_found")
    assert_error(invite(client, bob_auth, home + 1000, "x@example.com"), 404, "not_found")
    assert_error(invite(client, bob_auth, 2**40, "x@example.com"), 404, "not_found")
    assert_error(client.get(f"{LISTS}/{home}/invitations", headers=bob_auth), 404, "not_found")
    assert rows(app) == []


@pytest.mark.parametrize("role", ["viewer", "completer", "editor"])
def test_a_member_without_members_manage_gets_403(app, client, ada, bob_auth, home, role):
    join(client, ada, home, bob_auth, "bob@example.com", role)
    before = rows(app)
    assert_error(invite(client, bob_auth, home, "x@example.com", "viewer"), 403, "forbidden")
    assert_error(client.get(f"{LISTS}/{home}/invitations", headers=bob_auth), 403, "forbidden")
    assert rows(app) == before


def test_an_admin_invites_below_admin_and_only_the_owner_invites_admins(app, client, ada, bob_auth, home):
    join(client, ada, home, bob_auth, "bob@example.com", "admin")
    sent(client, bob_auth, home, "x@example.com", "editor")
    before = rows(app)
    body = assert_error(invite(client, bob_auth, home, "y@example.com", "admin"), 403, "forbidden")
    assert body["message"] == invitations.ADMINS_BY_OWNER
    assert rows(app) == before
    sent(client, ada, home, "y@example.com", "admin")
    assert rows(app)[-1] == ("y@example.com", "admin", "pending")


def test_a_role_change_takes_effect_on_the_next_invitation(app, client, ada, bob_auth, bob, home):
    join(client, ada, home, bob_auth, "bob@example.com", "admin")
    sent(client, bob_auth, home, "x@example.com")
    bob_id = client.get("/api/v1/auth/me", headers=bob_auth).get_json()["id"]
    assert client.patch(f"{LISTS}/{home}/members/{bob_id}", json={"role": "editor"}, headers=ada).status_code == 200
    before = rows(app)
    assert_error(invite(client, bob_auth, home, "y@example.com"), 403, "forbidden")
    assert rows(app) == before


def test_inviting_an_address_again_replaces_its_pending_invitation(app, client, ada, bob_auth, home):
    sent(client, ada, home, "bob@example.com", "editor")
    first = only_waiting(client, bob_auth)
    sent(client, ada, home, "bob@example.com", "viewer")
    (second,) = waiting(client, bob_auth)
    assert second["id"] != first and second["role"] == "viewer"
    assert rows(app) == [("bob@example.com", "editor", "replaced"), ("bob@example.com", "viewer", "pending")]
    assert [item["id"] for item in pending_of(client, ada, home)] == [second["id"]]
    assert_error(accept(client, bob_auth, first), 404, "not_found")
    assert accept(client, bob_auth, second["id"]).get_json()["role"] == "viewer"


def test_the_same_address_may_be_invited_to_several_lists(client, ada, bob_auth, home):
    work = make_list(client, ada, "Work")
    sent(client, ada, home)
    sent(client, ada, work)
    assert sorted(item["list"]["name"] for item in waiting(client, bob_auth)) == ["Home", "Work"]


# The hourly limit


def test_at_most_invitations_per_hour_per_list_counting_every_state(make_app, bob):
    app = make_app(INVITATIONS_PER_HOUR=3)
    client = app.test_client()
    ada = bearer(register(client)["access_token"])
    bob_auth = bearer(bob["access_token"])
    home = make_list(client, ada)
    sent(client, ada, home, "bob@example.com")
    assert decline(client, bob_auth, only_waiting(client, bob_auth)).status_code == 204  # ended: still counts
    sent(client, ada, home, "x@example.com")
    sent(client, ada, home, "x@example.com")  # the replaced one counts too
    before, mail_before = rows(app), count(app, OutboxMessage)
    response = invite(client, ada, home, "y@example.com")
    assert_error(response, 429, "rate_limited")
    assert 3590 <= int(response.headers["Retry-After"]) <= 3600
    assert rows(app) == before and count(app, OutboxMessage) == mail_before == 3
    assert [item["email"] for item in pending_of(client, ada, home)] == ["x@example.com"]  # nothing replaced
    sent(client, ada, make_list(client, ada, "Work"), "y@example.com")  # per list

    # The oldest leaves the window first: Retry-After says when.
    move_back(app, "created_at", timedelta(minutes=59), Invitation.email == "bob@example.com")
    response = invite(client, ada, home, "y@example.com")
    assert_error(response, 429, "rate_limited")
    assert 55 <= int(response.headers["Retry-After"]) <= 61
    move_back(app, "created_at", timedelta(minutes=2), Invitation.email == "bob@example.com")
    sent(client, ada, home, "y@example.com")
    assert_error(invite(client, ada, home, "z@example.com"), 429, "rate_limited")


# Mail


def test_the_message_arrives_with_a_link_naming_the_invitation(make_app, smtp):
    app = make_app(**mail_settings(smtp))
    client = app.test_client()
    ada = bearer(register(client)["access_token"])
    home = make_list(client, ada, "Groceries")
    sent(client, ada, home, "Bob@Example.com", "editor")
    assert smtp.received == []  # nothing is sent inside the request
    deliver(app)
    smtp.wait_for(1)
    ((mail_from, recipients, message),) = smtp.received
    assert recipients == ["bob@example.com"] and message["To"] == "bob@example.com"
    assert mail_from == "no-reply@example.com" and message["From"] == SENDER
    assert message["Subject"] == "An invitation to a list on taskapi"
    assert message.get_content_type() == "text/plain"
    text = text_of(message)
    assert 'Ada invited you to the list "Groceries" on taskapi, as an editor.' in text
    assert "expires in 7 days" in text
    # The link names the invitation; it grants nothing: the invited address, signed in, accepts.
    bob_auth = bearer(register(client, email="bob@example.com", name="Bob")["access_token"])
    invitation_id = only_waiting(client, bob_auth)
    assert INVITATION_URL.replace("{token}", str(invitation_id)) in text
    carol = bearer(register(client, email="carol@example.com")["access_token"])
    assert_error(accept(client, carol, invitation_id), 404, "not_found")
    assert accept(client, bob_auth, invitation_id).status_code == 200


def test_the_message_is_stored_with_the_invitation_or_not_at_all(make_app, smtp):
    app = make_app(**mail_settings(smtp), INVITATIONS_PER_HOUR=1)
    client = app.test_client()
    ada = bearer(register(client)["access_token"])
    home = make_list(client, ada)
    sent(client, ada, home, "x@example.com")
    assert_error(invite(client, ada, home, "y@example.com"), 429, "rate_limited")
    deliver(app)
    assert [message["To"] for message in smtp.wait_for(1)] == ["x@example.com"]
    assert count(app, OutboxMessage) == 1


def test_in_development_without_mail_server_the_message_is_logged(make_app, caplog):
    app = make_app(TASKAPI_ENV="development", MAIL_SERVER=None)
    client = app.test_client()
    ada = bearer(register(client)["access_token"])
    home = make_list(client, ada)
    caplog.set_level(logging.INFO, logger="taskapi.mail")
    sent(client, ada, home, "bob@example.com")
    deliver(app)
    (record,) = [r for r in caplog.records if r.name == "taskapi.mail" and "logged instead of sent" in r.getMessage()]
    logged = record.getMessage()
    assert "To: bob@example.com" in logged
    with app.app_context():
        invitation_id = db.session.execute(select(Invitation.id)).scalar_one()
    assert app.config["INVITATION_URL"].replace("{token}", str(invitation_id)) in logged


def test_in_production_without_mail_server_the_invitation_only_waits(make_app):
    app = make_app(TASKAPI_ENV="production", MAIL_SERVER=None)
    client = app.test_client()
    ada = bearer(register(client)["access_token"])
    home = make_list(client, ada)
    sent(client, ada, home, "bob@example.com")  # 202, never 503
    assert count(app, OutboxMessage) == 0  # nothing to send it through, and nothing logged instead
    bob_auth = bearer(register(client, email="bob@example.com")["access_token"])
    assert accept(client, bob_auth, only_waiting(client, bob_auth)).status_code == 200


def test_someone_registering_later_finds_the_invitation_waiting(client, ada, home):
    sent(client, ada, home, "dan@example.com", "completer")
    dan = bearer(register(client, email="DAN@example.com", name="Dan")["access_token"])
    (mine,) = waiting(client, dan)
    assert (mine["list"]["name"], mine["role"]) == ("Home", "completer")
    assert accept(client, dan, mine["id"]).get_json()["role"] == "completer"


# Accepting and declining


def test_accepting_makes_the_caller_a_member_with_the_role(app, client, ada, bob_auth, bob, home):
    sent(client, ada, home, "bob@example.com", "completer")
    invitation_id = only_waiting(client, bob_auth)
    response = accept(client, bob_auth, invitation_id)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == LIST_FIELDS
    assert (body["id"], body["name"], body["inbox"], body["role"], body["member_count"]) == (
        home, "Home", False, "completer", 2)
    assert body["permissions"] == ["tasks.read", "tasks.complete"]
    assert response.headers["ETag"] == f'"{home}.{body["version"]}"'
    assert client.get(f"{LISTS}/{home}", headers=bob_auth).get_json() == body
    members = client.get(f"{LISTS}/{home}/members", headers=ada).get_json()["items"]
    assert [(m["user"]["email"], m["role"]) for m in members] == [("ada@example.com", "owner"),
                                                                  ("bob@example.com", "completer")]
    assert rows(app) == [("bob@example.com", "completer", "accepted")]
    assert waiting(client, bob_auth) == [] and pending_of(client, ada, home) == []


def test_accepting_twice_is_409(app, client, ada, bob_auth, home):
    sent(client, ada, home)
    invitation_id = only_waiting(client, bob_auth)
    assert accept(client, bob_auth, invitation_id).status_code == 200
    members = members_of(app, home)
    assert_error(accept(client, bob_auth, invitation_id), 409, "conflict")
    # Having left, still 409: that invitation was used.
    bob_id = client.get("/api/v1/auth/me", headers=bob_auth).get_json()["id"]
    assert client.delete(f"{LISTS}/{home}/members/{bob_id}", headers=bob_auth).status_code == 204
    assert_error(accept(client, bob_auth, invitation_id), 409, "conflict")
    assert bob_id not in members_of(app, home) and len(members) == 2
    assert_error(decline(client, bob_auth, invitation_id), 404, "not_found")
    assert rows(app) == [("bob@example.com", "editor", "accepted")]


def test_accepting_when_a_member_already_is_409_and_changes_nothing(app, client, ada, bob_auth, home):
    join(client, ada, home, bob_auth, "bob@example.com", "viewer")
    sent(client, ada, home, "bob@example.com", "editor")
    (mine,) = waiting(client, bob_auth)
    before, members = rows(app), members_of(app, home)
    assert_error(accept(client, bob_auth, mine["id"]), 409, "conflict")
    assert rows(app) == before and members_of(app, home) == members
    assert "viewer" in members.values()


def test_accepting_into_a_full_list_is_409_and_changes_nothing(make_app, bob):
    app = make_app(MAX_MEMBERS_PER_LIST=2)
    client = app.test_client()
    ada = bearer(register(client)["access_token"])
    bob_auth = bearer(bob["access_token"])
    carol = bearer(register(client, email="carol@example.com")["access_token"])
    home = make_list(client, ada)
    sent(client, ada, home, "bob@example.com")
    sent(client, ada, home, "carol@example.com")
    assert accept(client, bob_auth, only_waiting(client, bob_auth)).status_code == 200
    before, members = rows(app), members_of(app, home)
    body = assert_error(accept(client, carol, only_waiting(client, carol)), 409, "conflict")
    assert body["message"] == "This list has as many members as a list may have."
    assert rows(app) == before and members_of(app, home) == members and len(members) == 2
    # Once someone leaves, the same invitation works.
    bob_id = client.get("/api/v1/auth/me", headers=bob_auth).get_json()["id"]
    assert client.delete(f"{LISTS}/{home}/members/{bob_id}", headers=ada).status_code == 204
    assert accept(client, carol, only_waiting(client, carol)).status_code == 200


def test_only_the_invited_address_accepts_or_declines(app, client, ada, bob_auth, carol, home):
    sent(client, ada, home, "bob@example.com")
    invitation_id = only_waiting(client, bob_auth)
    assert waiting(client, carol) == []
    assert_error(accept(client, carol, invitation_id), 404, "not_found")
    assert_error(decline(client, carol, invitation_id), 404, "not_found")
    assert_error(accept(client, ada, invitation_id), 404, "not_found")  # the inviter neither
    for missing in (invitation_id + 1000, 2**40):
        assert_error(accept(client, bob_auth, missing), 404, "not_found")
        assert_error(decline(client, bob_auth, missing), 404, "not_found")
    assert rows(app) == [("bob@example.com", "editor", "pending")] and len(members_of(app, home)) == 1


def test_declining_ends_the_invitation(app, client, ada, bob_auth, home):
    sent(client, ada, home)
    invitation_id = only_waiting(client, bob_auth)
    response = decline(client, bob_auth, invitation_id)
    assert response.status_code == 204 and response.get_data() == b""
    assert rows(app) == [("bob@example.com", "editor", "declined")]
    assert waiting(client, bob_auth) == [] and pending_of(client, ada, home) == []
    assert_error(decline(client, bob_auth, invitation_id), 404, "not_found")
    assert_error(accept(client, bob_auth, invitation_id), 404, "not_found")
    assert len(members_of(app, home)) == 1


def test_an_expired_invitation_is_gone_for_everyone(app, client, ada, bob_auth, home):
    sent(client, ada, home)
    invitation_id = only_waiting(client, bob_auth)
    move_back(app, "expires_at", timedelta(days=7))
    assert waiting(client, bob_auth) == [] and pending_of(client, ada, home) == []
    assert_error(accept(client, bob_auth, invitation_id), 404, "not_found")
    assert_error(decline(client, bob_auth, invitation_id), 404, "not_found")
    assert_error(withdraw(client, ada, home, invitation_id), 404, "not_found")
    assert rows(app) == [("bob@example.com", "editor", "pending")] and len(members_of(app, home)) == 1


def test_an_invitation_outlives_its_inviters_account(app, client, ada, bob_auth, carol, home):
    join(client, ada, home, bob_auth, "bob@example.com", "admin")
    sent(client, bob_auth, home, "carol@example.com", "viewer")
    assert client.delete("/api/v1/auth/me", json={"password": PASSWORD}, headers=bob_auth).status_code == 204
    (mine,) = waiting(client, carol)
    assert mine["invited_by"] is None
    assert accept(client, carol, mine["id"]).get_json()["role"] == "viewer"


def test_deleting_the_list_deletes_its_invitations(app, client, ada, bob_auth, home):
    sent(client, ada, home)
    invitation_id = only_waiting(client, bob_auth)
    assert client.delete(f"{LISTS}/{home}", headers=ada).status_code == 204
    assert waiting(client, bob_auth) == [] and rows(app) == []
    assert_error(accept(client, bob_auth, invitation_id), 404, "not_found")


# Withdrawing


def test_withdrawing_ends_a_pending_invitation(app, client, ada, bob_auth, home):
    sent(client, ada, home)
    invitation_id = only_waiting(client, bob_auth)
    response = withdraw(client, ada, home, invitation_id)
    assert response.status_code == 204 and response.get_data() == b""
    assert rows(app) == [("bob@example.com", "editor", "withdrawn")]
    assert waiting(client, bob_auth) == [] and pending_of(client, ada, home) == []
    assert_error(accept(client, bob_auth, invitation_id), 404, "not_found")
    assert_error(withdraw(client, ada, home, invitation_id), 404, "not_found")


def test_withdrawing_needs_members_manage_in_that_list(app, client, ada, bob_auth, carol, home):
    work = make_list(client, ada, "Work")
    sent(client, ada, home, "dan@example.com")
    with app.app_context():
        invitation_id = db.session.execute(select(Invitation.id)).scalar_one()
    join(client, ada, home, bob_auth, "bob@example.com", "editor")
    assert_error(withdraw(client, bob_auth, home, invitation_id), 403, "forbidden")
    assert_error(withdraw(client, carol, home, invitation_id), 404, "not_found")
    assert_error(withdraw(client, ada, work, invitation_id), 404, "not_found")  # not that list's
    assert_error(withdraw(client, ada, home, 2**40), 404, "not_found")
    assert ("dan@example.com", "editor", "pending") in rows(app)
    with app.app_context():  # Bob's, accepted: ended, so no longer withdrawn
        bob_invitation = db.session.execute(select(Invitation.id).where(
            Invitation.state == InvitationState.accepted)).scalar_one()
    assert_error(withdraw(client, ada, home, bob_invitation), 404, "not_found")


# Pruning


def test_the_maintenance_job_prunes_invitations_ended_or_expired_over_30_days_ago(app, client, ada, bob_auth, home):
    sent(client, ada, home, "bob@example.com")
    assert decline(client, bob_auth, only_waiting(client, bob_auth)).status_code == 204
    sent(client, ada, home, "old@example.com")
    sent(client, ada, home, "recent@example.com")
    assert withdraw(client, ada, home, pending_of(client, ada, home)[-1]["id"]).status_code == 204
    with app.app_context():
        db.session.execute(update(Invitation).where(Invitation.email == "bob@example.com")
                           .values(ended_at=utcnow() - timedelta(days=31)))
        db.session.commit()
    move_back(app, "expires_at", timedelta(days=38), Invitation.email == "old@example.com")
    assert run_job(app, "invitations") == "2 invitation(s) ended or expired over 30 days ago dropped"
    assert rows(app) == [("recent@example.com", "editor", "withdrawn")]


# The document


@pytest.mark.parametrize("path, method, statuses", [
    ("/api/v1/lists/{list_id}/invitations", "post", {"202", "400", "401", "403", "404", "413", "415", "422", "429"}),
    ("/api/v1/lists/{list_id}/invitations", "get", {"200", "401", "403", "404"}),
    ("/api/v1/lists/{list_id}/invitations/{invitation_id}", "delete", {"204", "401", "403", "404"}),
    ("/api/v1/invitations", "get", {"200", "401"}),
    ("/api/v1/invitations/{invitation_id}/accept", "post", {"200", "401", "404", "409"}),
    ("/api/v1/invitations/{invitation_id}", "delete", {"204", "401", "404"}),
])
def test_every_status_is_documented(client, path, method, statuses):
    responses = client.get("/openapi.json").get_json()["paths"][path][method]["responses"]
    assert statuses | {"500", "503"} <= set(responses)


# Races (PostgreSQL)


@pytest.fixture
def pg(make_app):
    def build(**config):
        app = make_app(**config)
        if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            pytest.skip("races need PostgreSQL (TEST_DATABASE_URL)")
        return app

    return build


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_invitations_make_exactly_the_hourly_limit(pg, round_):
    limit, senders = 3, 8
    app = pg(INVITATIONS_PER_HOUR=limit)
    client = app.test_client()
    ada = bearer(register(client)["access_token"])
    home = make_list(client, ada)
    answers = race(app, *[lambda c, n=n: invite(c, ada, home, f"user{n}@example.com") for n in range(senders)])
    assert sorted(response.status_code for response in answers) == [202] * limit + [429] * (senders - limit)
    assert count(app, Invitation) == limit and count(app, OutboxMessage) == limit


def test_concurrent_invitations_of_one_address_leave_one_pending(pg):
    app = pg()
    client = app.test_client()
    ada = bearer(register(client)["access_token"])
    home = make_list(client, ada)
    answers = race(app, *[lambda c, role=role: invite(c, ada, home, "bob@example.com", role)
                         for role in ("viewer", "editor", "completer", "viewer")])
    assert [response.status_code for response in answers] == [202] * 4
    assert sorted(state for _, _, state in rows(app)) == ["pending"] + ["replaced"] * 3


def test_concurrent_accepts_of_one_invitation_make_one_member(pg):
    app = pg()
    client = app.test_client()
    ada = bearer(register(client)["access_token"])
    bob_auth = bearer(register(client, email="bob@example.com")["access_token"])
    home = make_list(client, ada)
    sent(client, ada, home)
    invitation_id = only_waiting(client, bob_auth)
    answers = race(app, *[lambda c: accept(c, bob_auth, invitation_id)] * 4)
    assert sorted(response.status_code for response in answers) == [200, 409, 409, 409]
    assert len(members_of(app, home)) == 2 and rows(app) == [("bob@example.com", "editor", "accepted")]
