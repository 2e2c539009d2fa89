"""GET /me/export: everything the service holds about the signed-in user, as a file to save."""

from tests.helpers.api import assert_error, bearer
from tests.helpers.auth import AUTH, login
from tests.helpers.tasks import create

EXPORT = f"{AUTH}/me/export"


def export(client, access_token):
    response = client.get(EXPORT, headers=bearer(access_token))
    assert response.status_code == 200, response.get_json()
    return response


def test_the_export_holds_the_user_tasks_sessions_and_events(client, user, auth, bob):
    create(client, auth, "Mine")
    create(client, bearer(bob["access_token"]), "Bob's")
    login(client)
    response = export(client, user["access_token"])
    assert response.headers["Content-Disposition"] == 'attachment; filename="taskapi-export.json"'
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert set(body) == {"exported_at", "user", "tasks", "lists", "memberships", "sessions", "events"}
    assert body["user"] == user["user"]
    assert [task["title"] for task in body["tasks"]] == ["Mine"]
    inbox = body["lists"][0]
    assert [(item["name"], item["inbox"]) for item in body["lists"]] == [("Inbox", True)]
    assert body["memberships"] == [{"list": {"id": inbox["id"], "name": "Inbox"}, "role": "owner"}]
    assert body["tasks"][0]["list_id"] == inbox["id"]
    assert body["tasks"][0]["deleted_at"] is None
    assert len(body["sessions"]) == 2 and [s["current"] for s in body["sessions"]] == [False, True]
    assert [event["event"] for event in body["events"]] == ["login", "registered"]


def test_the_export_needs_an_access_token(client):
    assert_error(client.get(EXPORT), 401, "token_missing")
