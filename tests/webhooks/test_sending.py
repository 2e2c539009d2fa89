"""Sending in batches: one endpoint's events share kept-alive connections (checked again at each attempt), an endpoint
that does not answer holds back the rest of its batch, and a batch's outcomes are recorded in a few statements."""

import socket
import time

from sqlalchemy import select

from taskapi.extensions import db
from taskapi.webhooks import addresses, delivery, sending
from taskapi.webhooks.models import EventState, Webhook
from tests.helpers.database import statements_of
from tests.helpers.webhooks import deliver, deliveries, events_of, put_event


def test_one_endpoints_events_share_kept_connections(app, hook, home, receiver):
    for _ in range(12):
        put_event(app, home["id"])
    assert deliver(app) == 12
    put_event(app, home["id"])
    deliver(app)
    received = receiver.requests()
    assert len(received) == 13
    # At most one connection per sending thread, and the next batch goes over one of them.
    connections = {request["client"] for request in received}
    assert len(connections) <= sending.SENDERS
    assert received[-1]["client"] in {request["client"] for request in received[:-1]}


def test_a_connection_the_endpoint_closed_is_replaced_and_the_event_sent_once(app, client, ada, hook, home, receiver):
    put_event(app, home["id"])
    deliver(app)
    receiver.drop_connections()  # the endpoint's keep-alive timeout
    (second,) = put_event(app, home["id"])
    deliver(app)
    first_request, second_request = receiver.requests()
    assert second_request["headers"]["webhook-id"] == str(second)
    assert second_request["client"] != first_request["client"]
    assert [(d["status_code"], d["attempt"]) for d in deliveries(client, ada.auth, home["id"], hook["id"])] == [
        (204, 1), (204, 1)]


def test_a_kept_connection_is_used_only_for_an_address_checked_now(receiver):
    target = addresses.resolve(receiver.url(), allow_http=True)
    attempt = sending.Attempt(1, 1, receiver.url(), {}, "{}", 5.0, True)
    under_way = sending._Sending(attempt)
    under_way.begin()
    idle = sending._Idle()
    origin = sending._origin(receiver.url())
    idle.give_back(origin, sending._open(target, under_way))
    assert idle.take(origin, ("192.0.2.7",)) is None  # the host resolves elsewhere now: a new connection
    assert idle.take(origin, target.addresses) is None  # and the one that was kept is closed, not kept
    kept = sending._open(target, under_way)
    idle.give_back(origin, kept)
    assert idle.take(origin, target.addresses) is kept


def test_connections_send_without_waiting_for_acknowledgements(receiver):
    """A request's head and body go out in two writes: with Nagle's algorithm on, the body would wait for the
    endpoint's (delayed) ACK of the head."""
    target = addresses.resolve(receiver.url(), allow_http=True)
    sock = sending._connect(target, time.monotonic() + 5)
    try:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        sock.close()


def test_an_endpoint_that_does_not_answer_holds_back_the_rest_of_its_batch(app, client, ada, hook, home, receiver):
    receiver.answer(200, delay=3)  # past the 1 s timeout
    ids = [put_event(app, home["id"])[0] for _ in range(sending.SENDERS * 2)]
    started = time.monotonic()
    assert deliver(app) == len(ids)
    assert time.monotonic() - started < 2.5
    tried = deliveries(client, ada.auth, home["id"], hook["id"])
    assert len(tried) == sending.SENDERS and all("within 1 s" in d["error"] for d in tried)
    events = {row.id: row for row in events_of(app)}
    held_back = [events[i] for i in ids if i not in {d["event_id"] for d in tried}]
    assert len(held_back) == sending.SENDERS
    # Given back as they were: not counted as attempts, claimable again at once.
    assert all(e.status == EventState.pending and e.attempts == 0 and e.claimed_until is None for e in held_back)
    with app.app_context():
        assert db.session.execute(select(Webhook.failure_count)).scalar_one() == sending.SENDERS


def test_a_batch_is_claimed_and_recorded_in_the_same_few_statements_however_large(app, hook, home, receiver):
    counts = []
    for size in (1, 30):
        for _ in range(size):
            put_event(app, home["id"])
        with statements_of(app) as sent:
            assert delivery.deliver_due() == size
        # The log's trim runs at most every TRIM_EVERY seconds, whatever the batches.
        counts.append(len([s for s in sent if not s.startswith("DELETE FROM webhook_deliveries")]))
    assert counts[0] == counts[1] <= 5
    assert len(receiver.requests()) == 31
    assert all(e.status == EventState.delivered for e in events_of(app))
