"""/api/v1/lists/{id}/webhooks: each route's answer, and its refusals in the envelope with nothing stored."""

import base64

import pytest

from taskapi.auth import personal_tokens
from taskapi.extensions import db
from tests.helpers.api import assert_error, bearer
from tests.helpers.lists import list_url
from tests.helpers.webhooks import (
    DELIVERY_FIELDS,
    PUBLIC_URL,
    WEBHOOK_FIELDS,
    create_webhook,
    deliver,
    deliveries,
    events_of,
    put_event,
    stored_webhooks,
    webhooks_url,
)


def test_registered_listed_changed_and_deleted(client, ada, home, receiver):
    made = create_webhook(client, ada.auth, home["id"], receiver.url(), ["task.*", "member.joined"],
                          description="CI")
    assert set(made) == WEBHOOK_FIELDS | {"secret"}
    assert made["secret"].startswith("whsec_") and len(base64.b64decode(made["secret"][6:])) >= 24
    assert made["events"] == ["task.*", "member.joined"] and made["enabled"] is True
    assert made["failure_count"] == 0 and made["last_success_at"] is None
    listed = client.get(webhooks_url(home["id"]), headers=ada.auth).get_json()["items"]
    assert listed == [{key: value for key, value in made.items() if key != "secret"}]
    changed = client.patch(webhooks_url(home["id"], f"/{made['id']}"), headers=ada.auth,
                           json={"events": ["task.created"], "enabled": False})
    assert changed.status_code == 200 and set(changed.get_json()) == WEBHOOK_FIELDS
    assert changed.get_json()["events"] == ["task.created"] and changed.get_json()["enabled"] is False
    assert client.delete(webhooks_url(home["id"], f"/{made['id']}"), headers=ada.auth).status_code == 204
    assert client.get(webhooks_url(home["id"]), headers=ada.auth).get_json()["items"] == []
    assert_error(client.delete(webhooks_url(home["id"], f"/{made['id']}"), headers=ada.auth), 404, "not_found")


def test_the_rotated_secret_is_new_and_shown_once(client, ada, home, receiver):
    made = create_webhook(client, ada.auth, home["id"], receiver.url())
    rotated = client.post(webhooks_url(home["id"], f"/{made['id']}/rotate-secret"), headers=ada.auth)
    assert rotated.status_code == 200
    assert set(rotated.get_json()) == WEBHOOK_FIELDS | {"secret"}
    assert rotated.get_json()["secret"].startswith("whsec_") and rotated.get_json()["secret"] != made["secret"]


def test_the_test_send_and_the_delivery_log(app, client, ada, home, receiver):
    made = create_webhook(client, ada.auth, home["id"], receiver.url())
    response = client.post(webhooks_url(home["id"], f"/{made['id']}/test"), headers=ada.auth)
    assert response.status_code == 202 and response.get_json() == {}
    (event,) = events_of(app)
    assert event.type == "webhook.test"
    assert deliver(app) == 1
    (logged,) = deliveries(client, ada.auth, home["id"], made["id"])
    assert set(logged) == DELIVERY_FIELDS
    assert logged["event_id"] == event.id and logged["event"] == "webhook.test" and logged["attempt"] == 1
    assert logged["status_code"] == 204 and logged["error"] is None
    again = client.post(webhooks_url(home["id"], f"/{made['id']}/deliveries/{logged['id']}/redeliver"),
                        headers=ada.auth)
    assert again.status_code == 202 and again.get_json() == {}


BAD_BODIES = [
    ({"url": "https://93.184.215.14/"}, "events"),
    ({"url": "https://93.184.215.14/", "events": []}, "events"),
    ({"url": "https://93.184.215.14/", "events": ["task.exploded"]}, "events"),
    ({"url": "https://93.184.215.14/", "events": ["member.*"]}, "events"),
    ({"url": "https://93.184.215.14/", "events": "task.*"}, "events"),
    ({"events": ["task.*"]}, "url"),
    ({"url": "", "events": ["task.*"]}, "url"),
    ({"url": "https://93.184.215.14/", "events": ["task.*"], "secret": "mine"}, "secret"),
    ({"url": "https://93.184.215.14/", "events": ["task.*"], "description": "x" * 201}, "description"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
def test_invalid_bodies_422_nothing_stored(app, client, ada, home, body, field):
    before = stored_webhooks(app)
    response = client.post(webhooks_url(home["id"]), json=body, headers=ada.auth)
    assert set(assert_error(response, 422, "validation_error")["errors"]["json"]) == {field}
    assert stored_webhooks(app) == before


def test_no_body_400(app, client, ada, home):
    assert_error(client.post(webhooks_url(home["id"]), headers=ada.auth), 400, "bad_request")
    assert stored_webhooks(app)["webhooks"] == []


REFUSED = [
    "https://127.0.0.1/hook",
    "https://localhost/hook",
    "https://10.1.2.3/hook",
    "https://172.16.0.1/hook",
    "https://192.168.1.1/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://100.64.0.1/hook",
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:169.254.169.254]/hook",
    "https://[fd00:ec2::254]/hook",
    "https://[fe80::1]/hook",
    "https://224.0.0.1/hook",
    "https://0.0.0.0/hook",
    "https://[64:ff9b::7f00:1]/hook",
    "https://[2002:7f00:1::]/hook",
    "http://93.184.215.14/hook",
    "ftp://93.184.215.14/hook",
    "https://user:pass@93.184.215.14/hook",
    "https:///hook",
    "https://93.184.215.14:99999/hook",
    "https://no-such-host.invalid/hook",
]


@pytest.fixture
def strict(make_app):
    """An app as in production: https only, public addresses only."""
    return make_app(WEBHOOK_ALLOW_HTTP=False)


@pytest.mark.parametrize("url", REFUSED)
def test_urls_that_do_not_reach_a_public_https_endpoint_are_refused(strict, url):
    client = strict.test_client()
    ada = client.post("/api/v1/auth/register", json={"email": "ada@example.com", "password": "correct horse battery",
                                                     "name": "Ada"}).get_json()
    auth = bearer(ada["access_token"])
    home = client.post("/api/v1/lists", json={"name": "Home"}, headers=auth).get_json()
    before = stored_webhooks(strict)
    response = client.post(webhooks_url(home["id"]), json={"url": url, "events": ["task.*"]}, headers=auth)
    body = assert_error(response, 422, "validation_error")
    assert set(body["errors"]["json"]) == {"url"} and body["errors"]["json"]["url"][0]
    assert stored_webhooks(strict) == before
    made = create_webhook(client, auth, home["id"], PUBLIC_URL)
    changed = client.patch(webhooks_url(home["id"], f"/{made['id']}"), json={"url": url}, headers=auth)
    assert set(assert_error(changed, 422, "validation_error")["errors"]["json"]) == {"url"}
    assert client.get(webhooks_url(home["id"]), headers=auth).get_json()["items"][0]["url"] == PUBLIC_URL


def test_the_refusal_says_why(strict):
    client = strict.test_client()
    ada = client.post("/api/v1/auth/register", json={"email": "ada@example.com", "password": "correct horse battery",
                                                     "name": "Ada"}).get_json()
    auth = bearer(ada["access_token"])
    home = client.post("/api/v1/lists", json={"name": "Home"}, headers=auth).get_json()
    said = client.post(webhooks_url(home["id"]), json={"url": "https://169.254.169.254/", "events": ["task.*"]},
                       headers=auth).get_json()["errors"]["json"]["url"][0]
    assert "169.254.169.254" in said and "metadata" in said
    said = client.post(webhooks_url(home["id"]), json={"url": "https://[::ffff:10.0.0.1]/", "events": ["task.*"]},
                       headers=auth).get_json()["errors"]["json"]["url"][0]
    assert "private" in said
    said = client.post(webhooks_url(home["id"]), json={"url": "http://93.184.215.14/", "events": ["task.*"]},
                       headers=auth).get_json()["errors"]["json"]["url"][0]
    assert "https://" in said


def test_development_allows_http_and_private_addresses(client, ada, home, receiver):
    assert create_webhook(client, ada.auth, home["id"], receiver.url())["url"].startswith("http://127.0.0.1:")


def test_at_most_max_webhooks_per_list(make_app):
    app = make_app(MAX_WEBHOOKS_PER_LIST=2)
    client = app.test_client()
    ada = client.post("/api/v1/auth/register", json={"email": "ada@example.com", "password": "correct horse battery",
                                                     "name": "Ada"}).get_json()
    auth = bearer(ada["access_token"])
    home = client.post("/api/v1/lists", json={"name": "Home"}, headers=auth).get_json()
    for _ in range(2):
        create_webhook(client, auth, home["id"], PUBLIC_URL)
    before = stored_webhooks(app)
    response = client.post(webhooks_url(home["id"]), json={"url": PUBLIC_URL, "events": ["task.*"]}, headers=auth)
    assert_error(response, 409, "conflict")
    assert stored_webhooks(app) == before


def test_a_webhook_of_another_list_is_404(app, client, ada, home):
    other = client.post("/api/v1/lists", json={"name": "Other"}, headers=ada.auth).get_json()
    made = create_webhook(client, ada.auth, other["id"], PUBLIC_URL)
    before = stored_webhooks(app)
    for method, suffix in [("patch", ""), ("delete", ""), ("post", "/rotate-secret"), ("post", "/test"),
                           ("get", "/deliveries"), ("post", "/deliveries/1/redeliver")]:
        kwargs = {"json": {"enabled": False}} if method == "patch" else {}
        response = getattr(client, method)(webhooks_url(home["id"], f"/{made['id']}{suffix}"), headers=ada.auth,
                                           **kwargs)
        assert_error(response, 404, "not_found")
    assert_error(client.get(webhooks_url(home["id"], "/99999999999/deliveries"), headers=ada.auth), 404, "not_found")
    assert stored_webhooks(app) == before


def test_redelivering_an_unknown_attempt_is_404(app, client, ada, home):
    made = create_webhook(client, ada.auth, home["id"], PUBLIC_URL)
    response = client.post(webhooks_url(home["id"], f"/{made['id']}/deliveries/12345/redeliver"), headers=ada.auth)
    assert_error(response, 404, "not_found")


def test_a_personal_token_needs_webhooks_manage(app, client, ada, home):
    def token(scopes):
        made = client.post("/api/v1/auth/tokens", json={"name": "t", "scopes": scopes, "expires_in_days": 1},
                           headers=ada.auth)
        return bearer(made.get_json()["token"])

    managing, writing = token(["webhooks:manage"]), token(["lists:write", "lists:read"])
    create_webhook(client, managing, home["id"], PUBLIC_URL)
    assert client.get(webhooks_url(home["id"]), headers=managing).status_code == 200
    before = stored_webhooks(app)
    assert_error(client.get(webhooks_url(home["id"]), headers=writing), 403, "forbidden")
    response = client.post(webhooks_url(home["id"]), json={"url": PUBLIC_URL, "events": ["task.*"]}, headers=writing)
    assert_error(response, 403, "forbidden")
    assert stored_webhooks(app) == before
    assert personal_tokens.SCOPES.count("webhooks:manage") == 1


def test_deleting_the_list_deletes_its_webhooks_and_their_waiting_events(app, client, ada, home, receiver):
    create_webhook(client, ada.auth, home["id"], receiver.url())
    put_event(app, home["id"])
    assert len(events_of(app)) == 1
    assert client.delete(list_url(home["id"]), headers=ada.auth).status_code == 204
    assert stored_webhooks(app) == {"webhooks": [], "webhook_events": [], "webhook_deliveries": []}
    assert deliver(app) == 0
    assert receiver.requests() == []
    with app.app_context():
        db.session.remove()
