"""Races (threads against the real database; PostgreSQL claims with SKIP LOCKED): runners claiming the same due events
send each exactly once; registrations at the limit count each other."""

from collections import Counter

from tests.helpers.api import assert_error, bearer
from tests.helpers.threads import race
from tests.helpers.webhooks import FAST_RETRIES, PUBLIC_URL, create_webhook, deliver, put_event, webhooks_url


def test_two_runners_deliver_each_event_exactly_once(make_app, receiver):
    app = make_app(**{**FAST_RETRIES, "WEBHOOK_TIMEOUT": 10.0})  # no attempt fails on a busy machine
    client = app.test_client()
    ada = client.post("/api/v1/auth/register", json={"email": "ada@example.com", "password": "correct horse battery",
                                                     "name": "Ada"}).get_json()
    auth = bearer(ada["access_token"])
    home = client.post("/api/v1/lists", json={"name": "Home"}, headers=auth).get_json()
    create_webhook(client, auth, home["id"], receiver.url())
    receiver.answer(204, delay=0.05)
    ids = [event_id for _ in range(30) for event_id in put_event(app, home["id"])]

    def runner(_client):
        attempted = 0
        while (count := deliver(app)) > 0:
            attempted += count
        return attempted

    attempted = race(app, runner, runner)
    assert sum(attempted) == 30
    seen = Counter(request["headers"]["webhook-id"] for request in receiver.requests())
    assert seen == Counter({str(event_id): 1 for event_id in ids})


def test_registrations_at_the_limit_count_each_other(make_app):
    app = make_app(MAX_WEBHOOKS_PER_LIST=3)
    client = app.test_client()
    ada = client.post("/api/v1/auth/register", json={"email": "ada@example.com", "password": "correct horse battery",
                                                     "name": "Ada"}).get_json()
    auth = bearer(ada["access_token"])
    home = client.post("/api/v1/lists", json={"name": "Home"}, headers=auth).get_json()
    create_webhook(client, auth, home["id"], PUBLIC_URL)

    def register(other):
        return other.post(webhooks_url(home["id"]), json={"url": PUBLIC_URL, "events": ["task.*"]}, headers=auth)

    answers = race(app, *[register] * 4)
    assert sorted(answer.status_code for answer in answers) == [201, 201, 409, 409]
    for answer in answers:
        if answer.status_code == 409:
            assert_error(answer, 409, "conflict")
    assert len(client.get(webhooks_url(home["id"]), headers=auth).get_json()["items"]) == 3
