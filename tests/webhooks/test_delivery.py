"""Delivery to real receivers: signed per Standard Webhooks (the reference verifier accepts every one), retried with
growing delays under the same webhook-id, bounded in time and size, disabled after WEBHOOK_RETRY_HOURS of failures."""

import base64
import hashlib
import hmac
import json
import shutil
import subprocess
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import WebhookVerificationError

from taskapi.extensions import db
from taskapi.lists.access import lock, next_change, webhook_count
from taskapi.models import utcnow
from taskapi.webhooks import delivery
from taskapi.webhooks.models import EventState, Webhook, WebhookDelivery
from taskapi.webhooks.sending import Outcome
from tests.helpers.api import bearer
from tests.helpers.database import statements_of
from tests.helpers.lists import create_list, person
from tests.helpers.webhooks import (
    FAST_RETRIES,
    create_webhook,
    deliver,
    deliveries,
    events_of,
    payload,
    put_event,
    set_events,
    set_webhook,
    verified,
    webhooks_url,
)
from tests.smtp import mail_settings, text_of
from tests.webhook_receiver import Receiver

TASK = {"id": 7, "list_id": 0, "title": "Write report"}


def test_a_delivery_is_signed_and_the_reference_verifier_accepts_it(app, hook, home, receiver):
    (event_id,) = put_event(app, home["id"], "task.created", task={**TASK, "list_id": home["id"]})
    assert deliver(app) == 1
    (request,) = receiver.requests()
    headers = request["headers"]
    assert headers["webhook-id"] == str(event_id)
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5
    assert headers["content-type"] == "application/json"
    assert verified(hook["secret"], request) == payload(request)
    # The signature by hand, per the specification: base64 of HMAC-SHA256 over id.timestamp.body, keyed by the
    # secret's base64-decoded bytes.
    key = base64.b64decode(hook["secret"].removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + request["body"]
    by_hand = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == "v1," + by_hand
    assert headers["host"] == f"127.0.0.1:{receiver.port}"
    body = payload(request)
    assert set(body) == {"type", "timestamp", "data"} and body["type"] == "task.created"
    assert body["data"]["list_id"] == home["id"] and body["data"]["task"]["title"] == "Write report"
    assert body["data"]["activity"]["action"] == "task.created"


def test_a_tampered_body_or_another_secret_does_not_verify(app, hook, home, receiver):
    put_event(app, home["id"])
    deliver(app)
    (request,) = receiver.requests()
    with pytest.raises(WebhookVerificationError):
        verified(hook["secret"], {**request, "body": request["body"].replace(b"task.created", b"task.deleted")})
    with pytest.raises(WebhookVerificationError):
        verified("whsec_" + base64.b64encode(b"x" * 32).decode(), request)


def test_sent_once_logged_and_never_again(app, client, ada, hook, home, receiver):
    put_event(app, home["id"])
    assert deliver(app) == 1
    assert deliver(app) == 0
    assert len(receiver.requests()) == 1
    (logged,) = deliveries(client, ada.auth, home["id"], hook["id"])
    assert logged["status_code"] == 204 and logged["attempt"] == 1 and logged["duration_ms"] >= 0
    listed = client.get(webhooks_url(home["id"]), headers=ada.auth).get_json()["items"][0]
    assert listed["last_success_at"] is not None and listed["failure_count"] == 0
    (event,) = events_of(app)
    assert event.status == EventState.delivered and event.claimed_until is None


def test_events_reach_only_the_webhooks_that_subscribe(app, client, ada, home, receiver):
    tasks = create_webhook(client, ada.auth, home["id"], receiver.url("/tasks"), ["task.*"])
    members = create_webhook(client, ada.auth, home["id"], receiver.url("/members"), ["member.joined", "task.deleted"])
    off = create_webhook(client, ada.auth, home["id"], receiver.url("/off"), ["task.*"])
    client.patch(webhooks_url(home["id"], f"/{off['id']}"), json={"enabled": False}, headers=ada.auth)
    put_event(app, home["id"], "task.created")
    put_event(app, home["id"], "member.joined")
    put_event(app, home["id"], "task.deleted")
    put_event(app, home["id"], "invitation.sent")
    deliver(app)
    seen = sorted((request["path"], payload(request)["type"]) for request in receiver.requests())
    assert seen == [("/members", "member.joined"), ("/members", "task.deleted"), ("/tasks", "task.created"),
                    ("/tasks", "task.deleted")]
    assert tasks["id"] != members["id"]


def test_a_write_to_a_list_without_webhooks_runs_no_statement_for_them(app, client, ada, home, receiver):
    with statements_of(app) as sent:
        next_change(home["id"])
        before = len(sent)
        assert delivery.enqueue([(home["id"], "task.created", utcnow(), {}, None)] * 3) == 0
        assert len(sent) == before  # the lock's RETURNING said: no webhook
        db.session.rollback()
    hook = create_webhook(client, ada.auth, home["id"], receiver.url())
    with statements_of(app) as sent:
        lock(home["id"])
        assert delivery.enqueue([(home["id"], "task.created", utcnow(), {}, None)]) == 1
        db.session.rollback()
    client.delete(webhooks_url(home["id"], f"/{hook['id']}"), headers=ada.auth)
    with statements_of(app) as sent:
        next_change(home["id"])
        before = len(sent)
        assert delivery.enqueue([(home["id"], "task.created", utcnow(), {}, None)]) == 0
        assert len(sent) == before
        db.session.rollback()


def test_events_for_a_list_not_locked_in_the_transaction_take_one_statement(app, client, ada, home, receiver):
    with statements_of(app) as sent:
        assert delivery.enqueue([(home["id"], "task.created", utcnow(), {}, None)] * 3) == 0
        db.session.rollback()
    assert len(sent) == 1
    create_webhook(client, ada.auth, home["id"], receiver.url())
    with statements_of(app) as sent:
        assert delivery.enqueue([(home["id"], "task.created", utcnow(), {}, None)] * 3) == 3
        db.session.rollback()
    assert len(sent) == 1 and sent[0].lstrip().upper().startswith("INSERT")


def test_events_past_one_inserts_worth_are_all_stored_in_order(app, client, ada, hook, home):
    count = delivery.ITEMS_PER_INSERT + 20
    with app.app_context():
        assert delivery.enqueue([(home["id"], "task.updated", utcnow(), {"n": n}, None) for n in range(count)]) == count
        db.session.commit()
    assert [json.loads(event.body)["data"]["activity"]["n"] for event in events_of(app)] == list(range(count))


def test_the_events_filter_finds_names_whole(app, client, ada, home, receiver):
    """Subscriptions are matched in SQL against the stored JSON array: a name only whole, `task.*` only for task
    events."""
    only = create_webhook(client, ada.auth, home["id"], receiver.url("/only"), ["member.role_changed"])
    tasks = create_webhook(client, ada.auth, home["id"], receiver.url("/tasks"), ["task.*"])
    with app.app_context():
        for action in ("member.role_changed", "member.joined", "task.moved", "invitation.sent"):
            delivery.enqueue([(home["id"], action, utcnow(), {}, None)])
        db.session.commit()
    assert {(event.webhook_id, event.type) for event in events_of(app)} == {
        (only["id"], "member.role_changed"), (tasks["id"], "task.moved")}


def test_the_counts_learnt_are_forgotten_when_the_transaction_ends(app, client, ada, home, receiver):
    with app.app_context():
        next_change(home["id"])
        assert webhook_count(home["id"]) == 0
        db.session.rollback()
        assert webhook_count(home["id"]) is None


def test_a_failure_is_retried_with_the_same_id_after_a_growing_delay(app, client, ada, hook, home, receiver):
    receiver.answer(500)
    (event_id,) = put_event(app, home["id"])
    started = utcnow()
    deliver(app, due_or_not=False)
    (event,) = events_of(app)
    first_wait = (event.next_attempt_at - started).total_seconds()
    assert 0.2 * 0.8 - 0.05 <= first_wait <= 0.2 * 1.2 + 0.5, first_wait
    assert deliver(app, due_or_not=False) == 0  # not due yet
    time.sleep(0.3)
    assert deliver(app, due_or_not=False) == 1
    (event,) = events_of(app)
    assert (event.next_attempt_at - utcnow()).total_seconds() > 0.1  # twice the first delay, jittered
    assert event.status == EventState.pending and event.attempts == 2
    receiver.answer(204)
    deliver(app)
    ids = [request["headers"]["webhook-id"] for request in receiver.requests()]
    assert ids == [str(event_id)] * 3
    for request in receiver.requests():
        verified(hook["secret"], request)
    logged = deliveries(client, ada.auth, home["id"], hook["id"])
    assert [(d["attempt"], d["status_code"]) for d in logged] == [(3, 204), (2, 500), (1, 500)]
    assert logged[1]["error"] == "answered 500"
    listed = client.get(webhooks_url(home["id"]), headers=ada.auth).get_json()["items"][0]
    assert listed["failure_count"] == 0 and listed["last_success_at"] is not None


def test_failure_count_counts_failures_in_a_row(app, client, ada, hook, home, receiver):
    receiver.answer(503)
    put_event(app, home["id"])
    put_event(app, home["id"])
    deliver(app)
    deliver(app)
    listed = client.get(webhooks_url(home["id"]), headers=ada.auth).get_json()["items"][0]
    assert listed["failure_count"] == 4 and listed["last_success_at"] is None


def test_retry_delays_double_with_jitter_up_to_the_longest():
    first, longest = timedelta(seconds=30), timedelta(hours=6)
    from taskapi import outbox

    assert outbox.retry_delay(first, 1, longest) == first
    assert outbox.retry_delay(first, 4, longest) == 8 * first
    assert outbox.retry_delay(first, 40, longest) == longest
    spread = {outbox.retry_delay(first, 3, longest, 0.2).total_seconds() for _ in range(50)}
    assert min(spread) >= 96 and max(spread) <= 144 and len(spread) > 1


def test_a_hanging_endpoint_fails_at_the_timeout(app, client, ada, hook, home, receiver):
    receiver.answer(200, delay=3)
    put_event(app, home["id"])
    started = time.monotonic()
    deliver(app)
    assert time.monotonic() - started < 2.5
    (logged,) = deliveries(client, ada.auth, home["id"], hook["id"])
    assert logged["status_code"] is None and "within 1 s" in logged["error"]
    assert 900 <= logged["duration_ms"] < 2000


def test_a_slow_answer_within_the_timeout_succeeds(app, client, ada, hook, home, receiver):
    receiver.answer(200, delay=0.5)
    put_event(app, home["id"])
    deliver(app)
    (logged,) = deliveries(client, ada.auth, home["id"], hook["id"])
    assert logged["status_code"] == 200 and logged["error"] is None and logged["duration_ms"] >= 450


def test_a_redirect_is_not_followed_and_fails(app, client, ada, hook, home, receiver):
    receiver.answer(mode="redirect")
    put_event(app, home["id"])
    deliver(app)
    assert [request["path"] for request in receiver.requests()] == ["/hook"]
    (logged,) = deliveries(client, ada.auth, home["id"], hook["id"])
    assert logged["status_code"] == 302 and "redirect" in logged["error"]
    (event,) = events_of(app)
    assert event.status == EventState.pending


def test_a_huge_answer_is_not_read_whole(app, client, ada, hook, home, receiver):
    receiver.answer(mode="huge")
    put_event(app, home["id"])
    started = time.monotonic()
    deliver(app)
    assert time.monotonic() - started < 1.0
    (logged,) = deliveries(client, ada.auth, home["id"], hook["id"])
    assert logged["status_code"] == 200 and logged["error"] is None


def test_an_outage_then_the_endpoint_comes_back(app, client, ada, hook, home, receiver):
    receiver.stop()
    (event_id,) = put_event(app, home["id"])
    deliver(app)
    (logged,) = deliveries(client, ada.auth, home["id"], hook["id"])
    assert logged["status_code"] is None and "Connection" in logged["error"]
    receiver.start()
    deliver(app)
    (request,) = receiver.requests()
    assert request["headers"]["webhook-id"] == str(event_id)
    assert [d["status_code"] for d in deliveries(client, ada.auth, home["id"], hook["id"])] == [204, None]


def test_a_batch_of_hanging_endpoints_is_sent_concurrently(app, client, ada, hook, home, receiver):
    receiver.answer(200, delay=3)
    for _ in range(4):
        put_event(app, home["id"])
    started = time.monotonic()
    assert deliver(app) == 4
    assert time.monotonic() - started < 2.5  # four attempts of at most 1 s each, at once


def test_refused_at_delivery_once_http_is_no_longer_allowed(make_app, client, ada, hook, home, receiver):
    strict = make_app(**FAST_RETRIES, WEBHOOK_ALLOW_HTTP=False)
    put_event(strict, home["id"])
    deliver(strict)
    assert receiver.requests() == []
    (logged,) = deliveries(client, ada.auth, home["id"], hook["id"])
    assert logged["status_code"] is None and logged["error"].startswith("refused: ")
    (event,) = events_of(strict)
    assert event.status == EventState.pending


def test_a_private_address_is_refused_at_delivery_even_over_https(make_app, app, ada, home, receiver):
    """Registered while allowed (development), pointing at 127.0.0.1 over https; then production rules."""
    client = app.test_client()
    made = create_webhook(client, ada.auth, home["id"], f"https://127.0.0.1:{receiver.port}/hook")
    strict = make_app(**FAST_RETRIES, WEBHOOK_ALLOW_HTTP=False)
    put_event(strict, home["id"])
    deliver(strict)
    assert receiver.requests() == []
    (logged,) = deliveries(client, ada.auth, home["id"], made["id"])
    assert "loopback" in logged["error"]


def test_failing_for_the_retry_window_disables_the_webhook_and_emails_the_owner(make_app, smtp, receiver):
    app = make_app(**FAST_RETRIES, **mail_settings(smtp))
    client = app.test_client()
    ada = person(client, "Ada")
    home = create_list(client, ada.auth, "Home")
    hook = create_webhook(client, ada.auth, home["id"], receiver.url())
    receiver.answer(500)
    put_event(app, home["id"])
    put_event(app, home["id"])
    deliver(app)
    listed = client.get(webhooks_url(home["id"]), headers=ada.auth).get_json()["items"][0]
    assert listed["enabled"] is True and listed["failure_count"] == 2
    # The window passes (7.2 s): move the clock of the stored rows instead of waiting.
    long_ago = utcnow() - timedelta(hours=0.003)
    set_webhook(app, hook["id"], failing_since=long_ago)
    set_events(app, created_at=long_ago, expires_at=utcnow() - timedelta(seconds=1))
    deliver(app)
    listed = client.get(webhooks_url(home["id"]), headers=ada.auth).get_json()["items"][0]
    assert listed["enabled"] is False
    assert {event.status for event in events_of(app)} == {EventState.failed}
    with app.app_context():
        from taskapi.mail import outbox

        outbox.deliver_due()
    (message,) = smtp.wait_for(1)
    assert message["To"] == ada.email and "disabled" in message["Subject"]
    assert receiver.url() in text_of(message) and "Home" in text_of(message)
    receivers_before = len(receiver.requests())
    put_event(app, home["id"])
    assert deliver(app) == 0 and len(receiver.requests()) == receivers_before  # disabled: nothing more is stored
    enabled = client.patch(webhooks_url(home["id"], f"/{hook['id']}"), json={"enabled": True}, headers=ada.auth)
    assert enabled.get_json()["enabled"] is True and enabled.get_json()["failure_count"] == 0


def test_a_failure_shorter_than_the_window_does_not_disable(app, client, ada, hook, home, receiver):
    receiver.answer(500)
    put_event(app, home["id"])
    set_events(app, expires_at=utcnow() - timedelta(seconds=1))
    deliver(app)
    (event,) = events_of(app)
    assert event.status == EventState.failed
    assert client.get(webhooks_url(home["id"]), headers=ada.auth).get_json()["items"][0]["enabled"] is True


def test_after_a_rotation_both_secrets_verify_for_a_day_then_only_the_new(app, client, ada, hook, home, receiver):
    rotated = client.post(webhooks_url(home["id"], f"/{hook['id']}/rotate-secret"), headers=ada.auth).get_json()
    put_event(app, home["id"])
    deliver(app)
    (request,) = receiver.requests()
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    verified(hook["secret"], request)
    verified(rotated["secret"], request)
    set_webhook(app, hook["id"], rotated_at=utcnow() - timedelta(hours=24, seconds=1))
    put_event(app, home["id"])
    deliver(app)
    later = receiver.requests()[1]
    assert len(later["headers"]["webhook-signature"].split(" ")) == 1
    verified(rotated["secret"], later)
    with pytest.raises(WebhookVerificationError):
        verified(hook["secret"], later)


def test_secrets_are_not_stored_and_depend_on_the_secret_key(app, make_app, hook, home, receiver):
    with app.app_context():
        row = db.session.execute(select(Webhook.__table__)).mappings().one()
    assert hook["secret"] not in str(dict(row)) and hook["secret"][6:] not in str(dict(row))
    other = make_app(**FAST_RETRIES, SECRET_KEY="another-secret-key-of-at-least-32-characters")
    put_event(other, home["id"])
    deliver(other)
    (request,) = receiver.requests()
    with pytest.raises(WebhookVerificationError):
        verified(hook["secret"], request)


def test_a_redelivery_sends_the_same_id_again_as_a_new_attempt(app, client, ada, hook, home, receiver):
    (event_id,) = put_event(app, home["id"])
    deliver(app)
    (logged,) = deliveries(client, ada.auth, home["id"], hook["id"])
    response = client.post(webhooks_url(home["id"], f"/{hook['id']}/deliveries/{logged['id']}/redeliver"),
                           headers=ada.auth)
    assert response.status_code == 202
    assert deliver(app) == 1
    first, second = receiver.requests()
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"] == str(event_id)
    assert first["body"] == second["body"]
    verified(hook["secret"], second)
    logged = deliveries(client, ada.auth, home["id"], hook["id"])
    assert [(d["event_id"], d["attempt"]) for d in logged] == [(event_id, 2), (event_id, 1)]


def test_the_test_event_and_a_disabled_webhook(app, client, ada, hook, home, receiver):
    client.patch(webhooks_url(home["id"], f"/{hook['id']}"), json={"enabled": False}, headers=ada.auth)
    client.post(webhooks_url(home["id"], f"/{hook['id']}/test"), headers=ada.auth)
    deliver(app)
    (request,) = receiver.requests()
    body = verified(hook["secret"], request)
    assert body["type"] == "webhook.test"
    assert body["data"] == {"list_id": home["id"], "activity": None, "task": None}


def test_a_lapsed_lease_is_sent_again_with_the_same_id(app, client, ada, hook, home, receiver):
    """A worker killed mid-send: it claimed the event (and perhaps sent it) but recorded nothing."""
    (event_id,) = put_event(app, home["id"])
    with app.app_context():
        from taskapi import outbox

        (claimed,) = outbox.claim(delivery.WebhookEvent, EventState.pending, delivery.BATCH, delivery._lease())
        assert claimed.id == event_id
    assert deliver(app) == 0  # leased to the dead worker
    set_events(app, claimed_until=utcnow() - timedelta(seconds=1))
    assert deliver(app) == 1
    (request,) = receiver.requests()
    assert request["headers"]["webhook-id"] == str(event_id)
    (logged,) = deliveries(client, ada.auth, home["id"], hook["id"])
    assert logged["attempt"] == 2


def test_an_outcome_under_a_lapsed_lease_is_not_recorded_over_a_newer_one(app, hook, home, receiver):
    put_event(app, home["id"])
    with app.app_context():
        from taskapi import outbox

        (stale,) = outbox.claim(delivery.WebhookEvent, EventState.pending, 1, delivery._lease())
        db.session.expunge(stale)
    set_events(app, claimed_until=utcnow() - timedelta(seconds=1))
    deliver(app)  # the second worker sends and records the success
    with app.app_context():
        delivery.record([(stale, Outcome(500, "answered 500", 3))])  # the first one wakes up, late
        db.session.commit()
    (event,) = events_of(app)
    assert event.status == EventState.delivered


def test_the_log_keeps_the_last_100_attempts(app, client, ada, hook, home, receiver):
    put_event(app, home["id"])
    deliver(app)
    (event,) = events_of(app)
    with app.app_context():
        rows = [{"webhook_id": hook["id"], "event_id": event.id, "event": "task.created", "attempt": n,
                 "status_code": 500, "duration_ms": 1, "at": utcnow()} for n in range(2, 112)]
        db.session.execute(WebhookDelivery.__table__.insert(), rows)
        db.session.commit()
        delivery.trim_log(hook["id"])
        db.session.commit()
    logged = deliveries(client, ada.auth, home["id"], hook["id"])
    assert len(logged) == 100 and logged[0]["attempt"] == 111 and logged[-1]["attempt"] == 12


def test_the_maintenance_job_drops_old_events_no_kept_attempt_refers_to(app, hook, home, receiver):
    put_event(app, home["id"])
    put_event(app, home["id"])
    deliver(app)
    set_events(app, created_at=utcnow() - timedelta(days=8))
    first, second = events_of(app)
    with app.app_context():
        db.session.execute(WebhookDelivery.__table__.delete().where(WebhookDelivery.event_id == first.id))
        assert delivery.prune() == 1
        db.session.commit()
    assert [event.id for event in events_of(app)] == [second.id]


def test_a_personal_token_for_another_list_cannot_reach_the_webhooks(app, client, ada, hook, home):
    other = create_list(client, ada.auth, "Other")
    made = client.post("/api/v1/auth/tokens", headers=ada.auth, json={
        "name": "t", "scopes": ["webhooks:manage"], "expires_in_days": 1, "list_id": other["id"]}).get_json()
    assert client.get(webhooks_url(home["id"]), headers=bearer(made["token"])).status_code == 404
    assert client.get(webhooks_url(other["id"]), headers=bearer(made["token"])).status_code == 200


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for localhost (openssl's command line): (certificate file, key file)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-days", "1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return str(cert), str(key)


@pytest.fixture
def tls_receiver(certificate):
    server = Receiver(tls=certificate).start()
    yield server
    server.stop()


def test_tls_is_verified_against_the_urls_host(app, client, ada, home, tls_receiver, certificate, monkeypatch):
    """Connected to the checked address, TLS verifies the certificate for the URL's host name: a certificate no
    authority vouches for fails; trusted (SSL_CERT_FILE, as OpenSSL reads it), the same delivery succeeds."""
    made = create_webhook(client, ada.auth, home["id"], tls_receiver.url(host="localhost"))
    put_event(app, home["id"])
    deliver(app)
    assert tls_receiver.requests() == []
    (logged,) = deliveries(client, ada.auth, home["id"], made["id"])
    assert logged["status_code"] is None and "CERTIFICATE_VERIFY_FAILED" in logged["error"]
    monkeypatch.setenv("SSL_CERT_FILE", certificate[0])
    deliver(app)
    (request,) = tls_receiver.requests()
    assert request["headers"]["host"] == f"localhost:{tls_receiver.port}"
    verified(made["secret"], request)


def test_a_redelivery_asked_while_an_attempt_is_under_way_is_sent_again(app, client, ada, hook, home, receiver):
    """The attempt under way succeeds, but its outcome is not recorded over the redelivery asked meanwhile."""
    put_event(app, home["id"])
    deliver(app)
    (logged,) = deliveries(client, ada.auth, home["id"], hook["id"])
    set_events(app, status=EventState.pending)  # as if the first attempt were still under way:
    with app.app_context():
        from taskapi import outbox

        (under_way,) = outbox.claim(delivery.WebhookEvent, EventState.pending, 1, delivery._lease(), True,
                                    detach=True)
    client.post(webhooks_url(home["id"], f"/{hook['id']}/deliveries/{logged['id']}/redeliver"), headers=ada.auth)
    with app.app_context():
        delivery.record([(under_way, Outcome(204, None, 5))])
        db.session.commit()
    (event,) = events_of(app)
    assert event.status == EventState.pending
    assert deliver(app) == 1
    assert len(receiver.requests()) == 2
    (event,) = events_of(app)
    assert event.status == EventState.delivered


def test_an_outcome_for_a_list_deleted_meanwhile_records_nothing(app, client, ada, hook, home, receiver):
    put_event(app, home["id"])
    with app.app_context():
        from taskapi import outbox

        (under_way,) = outbox.claim(delivery.WebhookEvent, EventState.pending, 1, delivery._lease(), detach=True)
    assert client.delete(f"/api/v1/lists/{home['id']}", headers=ada.auth).status_code == 204
    with app.app_context():
        delivery.record([(under_way, Outcome(500, "answered 500", 5))])
        db.session.commit()
        assert db.session.execute(select(WebhookDelivery)).first() is None
