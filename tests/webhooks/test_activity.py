"""From a change to a signed delivery: every activity entry of a list with webhooks is an event in the change's
transaction, whose body holds the entry and the task as their routes answer them."""


from tests.helpers.api import bearer
from tests.helpers.lists import add_member, create_list, list_url, person
from tests.helpers.tasks import TASKS, task_url
from tests.helpers.webhooks import FAST_RETRIES, create_webhook, deliver, events_of, payload, verified, webhooks_url


def _activity(client, auth, list_id):
    response = client.get(list_url(list_id, "/activity"), headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_a_task_change_is_a_signed_delivery_with_its_activity_and_task(app, client, ada, home, receiver):
    hook = create_webhook(client, ada.auth, home["id"], receiver.url())
    created = client.post(TASKS, json={"title": "Write report", "list_id": home["id"]}, headers=ada.auth)
    assert created.status_code == 201
    toggled = client.patch(task_url(created.get_json()["id"], "/toggle"), headers=ada.auth)
    assert toggled.status_code == 200
    assert receiver.requests() == []  # never from the request
    assert deliver(app) == 2
    first, second = sorted(receiver.requests(), key=lambda r: int(r["headers"]["webhook-id"]))
    entries = list(reversed(_activity(client, ada.auth, home["id"])))
    for request, entry in zip((first, second), entries, strict=True):
        body = verified(hook["secret"], request)
        assert body["type"] == entry["action"]
        assert body["data"]["list_id"] == home["id"]
        assert body["data"]["activity"] == entry
    assert payload(first)["type"] == "task.created" and payload(second)["type"] == "task.completed"
    assert payload(second)["data"]["task"] == toggled.get_json()
    assert payload(first)["data"]["task"]["title"] == "Write report"


def test_a_list_without_webhooks_stores_no_event(app, client, ada, home):
    client.post(TASKS, json={"title": "Quiet", "list_id": home["id"]}, headers=ada.auth)
    assert events_of(app) == []


def test_a_refused_change_stores_no_event(make_app, receiver):
    app = make_app(**FAST_RETRIES, MAX_TASKS_PER_LIST=1)
    client = app.test_client()
    ada = person(client, "Ada")
    home = create_list(client, ada.auth, "Home")
    create_webhook(client, ada.auth, home["id"], receiver.url())
    assert client.post(TASKS, json={"title": "One", "list_id": home["id"]}, headers=ada.auth).status_code == 201
    assert client.post(TASKS, json={"title": "Two", "list_id": home["id"]}, headers=ada.auth).status_code == 409
    assert [event.type for event in events_of(app)] == ["task.created"]


def test_a_bulk_edit_is_one_event_per_task(app, client, ada, home, receiver):
    create_webhook(client, ada.auth, home["id"], receiver.url())
    ids = [client.post(TASKS, json={"title": f"T{n}", "list_id": home["id"]}, headers=ada.auth).get_json()["id"]
           for n in range(3)]
    response = client.patch(TASKS, json={"ids": ids, "changes": {"priority": "high"}}, headers=ada.auth)
    assert response.status_code == 200, response.get_json()
    assert [event.type for event in events_of(app)].count("task.updated") == 3


def test_member_events_reach_webhooks_subscribed_to_them(app, client, ada, home, receiver):
    create_webhook(client, ada.auth, home["id"], receiver.url(), ["member.joined", "member.role_changed"])
    ben = person(client, "Ben")
    add_member(app, home["id"], ben.id, "viewer")
    client.patch(f"/api/v1/lists/{home['id']}/members/{ben.id}", json={"role": "editor"}, headers=ada.auth)
    client.post(TASKS, json={"title": "Not subscribed", "list_id": home["id"]}, headers=ada.auth)
    deliver(app)
    assert sorted(payload(r)["type"] for r in receiver.requests()) == ["member.joined", "member.role_changed"]


def test_a_personal_token_for_the_list_manages_its_webhooks_and_its_writes_are_delivered(app, client, ada, home,
                                                                                        receiver):
    made = client.post("/api/v1/auth/tokens", headers=ada.auth, json={
        "name": "ci", "scopes": ["webhooks:manage", "tasks:write"], "expires_in_days": 1, "list_id": home["id"]})
    token = bearer(made.get_json()["token"])
    create_webhook(client, token, home["id"], receiver.url())
    assert client.post(TASKS, json={"title": "By token"}, headers=token).status_code == 201
    deliver(app)
    (request,) = receiver.requests()
    assert payload(request)["data"]["task"]["title"] == "By token"
    assert client.get(webhooks_url(home["id"]), headers=token).status_code == 200
