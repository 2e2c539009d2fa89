"""The webhooks' outbox: events stored with the change that caused them, sent by the background thread.

Each event is one row per webhook (its id is the `webhook-id` of every attempt), claimed with
the lease taskapi/outbox.py shares with mail, sent over a connection to the address its URL was
checked to resolve to, and retried with growing, jittered delays for WEBHOOK_RETRY_HOURS. An
outcome is recorded only while the claim that sent it still holds: a success is recorded once
and the event is never sent again after it (unless a redelivery is asked for); a process killed
mid-send records nothing, and the event is sent again, with the same id, once its lease lapses.
A batch is sent by a few threads at once, each attempt bounded in time and in what it reads,
so a batch of hanging endpoints holds the background thread for at most two WEBHOOK_TIMEOUTs.
"""

import contextlib
import http.client
import json
import logging
import math
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, exists, func, insert, literal, or_, select, update
from sqlalchemy import event as sa_event

from taskapi import background
from taskapi import outbox as shared
from taskapi.auth.models import User
from taskapi.extensions import db
from taskapi.lists.access import webhook_count
from taskapi.lists.models import TaskList
from taskapi.mail import configured as mail_configured
from taskapi.mail import outbox as mail_outbox
from taskapi.models import rowcount, utcnow
from taskapi.sessions import Session
from taskapi.webhooks import addresses, signing
from taskapi.webhooks.models import ERROR_MAX, EventState, Webhook, WebhookDelivery, WebhookEvent

log = logging.getLogger("taskapi.webhooks")

BATCH = 8
SENDERS = 4  # threads sending one batch: with BATCH, at most two rounds of WEBHOOK_TIMEOUT per batch
LONGEST_RETRY = timedelta(hours=6)
JITTER = 0.2
RESPONSE_READ_MAX = 64 * 1024
DELIVERIES_KEPT = 100
KEEP_DONE = timedelta(days=7)
TEST_EVENT = "webhook.test"
DISABLED_TEMPLATE = "webhook_disabled"
USER_AGENT = "taskapi-webhooks"
# Set on the session by enqueue(): after its commit the background thread is woken to send at once.
WAKE = "taskapi-webhooks-wake"


# Built once: the statement every write of a list runs (ix_webhooks_list).
SUBSCRIBED = (select(Webhook.id, Webhook.list_id, Webhook.events)
              .where(Webhook.list_id.in_(bindparam("list_ids", expanding=True)), Webhook.enabled))


def body(action, at, list_id, activity=None, task=None):
    """The JSON sent for one event, as stored: compact, keys sorted, the same bytes on every attempt."""
    payload = {"type": action, "timestamp": at.isoformat(),
               "data": {"list_id": list_id, "activity": activity, "task": task}}
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def matches(events, action):
    """Whether a webhook subscribed to `events` receives `action`."""
    return action in events or (action.startswith("task.") and "task.*" in events)


def subscribed(list_ids):
    """(webhook id, list id, events) of the enabled webhooks of these lists, in the change's transaction.

    Lists whose lock this transaction took (every write's) are known to have webhooks or not from the lock's
    RETURNING (taskapi.lists.access.webhook_count): a write to lists without any runs no statement here. The
    others are read with one indexed SELECT, under the list's lock (registering takes it too), so it sees
    every webhook registered before.
    """
    wanted = sorted({list_id for list_id in list_ids if webhook_count(list_id) != 0})
    return db.session.execute(SUBSCRIBED, {"list_ids": wanted}).all() if wanted else []


def store(found, items):
    """Store an event for each of `found` (from subscribed()) whose list and events match an item; how many.

    `items`: (list_id, action, at, activity as answered, task as answered or None).
    """
    now = utcnow()
    expires_at = now + retry_window()
    rows = []
    for list_id, action, at, activity, task in items:
        text = None
        for webhook_id, webhook_list, events in found:
            if webhook_list == list_id and matches(events, action):
                text = text or body(action, at, list_id, activity, task)
                rows.append({"webhook_id": webhook_id, "type": action, "body": text, "status": EventState.pending,
                             "attempts": 0, "next_attempt_at": now, "created_at": now, "expires_at": expires_at})
    if rows:
        db.session.execute(insert(WebhookEvent), rows)
        db.session.info[WAKE] = True
    return len(rows)


def enqueue(items):
    """Store an event for every enabled webhook of each item's list that subscribes to its action (see store());
    in the transaction of the change: an event exists exactly when its change committed. A list without
    webhooks costs one indexed SELECT, whatever the number of items; one with webhooks, an INSERT more."""
    items = list(items)
    found = subscribed(item[0] for item in items) if items else []
    return store(found, items) if found else 0


def on_activity(sender, entries, **kwargs):
    """taskapi.activity's activity_recorded: an event per entry for each webhook of its list subscribing to its
    action, with the entry and the task (after the change) as their routes answer them. Bodies are made only
    for lists that have webhooks."""
    found = subscribed(activity.list_id for activity, _ in entries) if entries else []
    if not found:
        return
    from taskapi.activity.schemas import ActivitySchema
    from taskapi.tasks.schemas import TaskSchema

    with_webhooks = {webhook_list for _, webhook_list, _ in found}
    entries = [(activity, task) for activity, task in entries if activity.list_id in with_webhooks]
    actor_ids = {activity.actor_id for activity, _ in entries if activity.actor_id is not None}
    names = {}
    if actor_ids:
        names = {row.id: row.name for row in db.session.execute(select(User.id, User.name)
                                                                .where(User.id.in_(sorted(actor_ids))))}
    activity_schema, task_schema = ActivitySchema(), TaskSchema()
    items = []
    for activity, task in entries:
        actor = {"id": activity.actor_id, "name": names.get(activity.actor_id)} if activity.actor_id else None
        answered = activity_schema.dump({"id": activity.id, "at": activity.at, "actor": actor,
                                         "action": activity.action, "task_id": activity.task_id,
                                         "changes": activity.changes or {}})
        items.append((activity.list_id, activity.action, activity.at, answered,
                      task_schema.dump(task) if task is not None else None))
    store(found, items)


def enqueue_test(webhook):
    """One `webhook.test` event for the webhook, whatever its events and even disabled (to try an endpoint)."""
    now = utcnow()
    event = WebhookEvent(webhook_id=webhook.id, type=TEST_EVENT, body=body(TEST_EVENT, now, webhook.list_id),
                         status=EventState.pending, attempts=0, next_attempt_at=now, created_at=now,
                         expires_at=now + retry_window())
    db.session.add(event)
    db.session.info[WAKE] = True
    return event


def enqueue_again(event_id):
    """Send an event again (a redelivery), with the same id, retried afresh for WEBHOOK_RETRY_HOURS.

    Clearing the claim means an attempt under way records no outcome on the event: it is sent again regardless.
    """
    now = utcnow()
    again = (update(WebhookEvent).where(WebhookEvent.id == event_id)
             .values(status=EventState.pending, next_attempt_at=now, expires_at=now + retry_window(),
                     claimed_until=None, delivered_at=None))
    db.session.execute(again)
    db.session.info[WAKE] = True


@sa_event.listens_for(Session, "after_commit")
def _wake_after_commit(session):
    if session.info.pop(WAKE, False):
        background.wake(current_app)


@sa_event.listens_for(Session, "after_rollback")
def _nothing_to_wake(session):
    session.info.pop(WAKE, None)


def retry_window():
    return timedelta(hours=current_app.config["WEBHOOK_RETRY_HOURS"])


def _lease():
    """Longer than a batch can take (two rounds of attempts, each at most WEBHOOK_TIMEOUT): never lapses mid-send."""
    rounds = math.ceil(BATCH / SENDERS)
    return timedelta(seconds=current_app.config["WEBHOOK_TIMEOUT"] * rounds + 60)


@dataclass(frozen=True)
class Attempt:
    """What one attempt sends: everything the sending thread needs, no database."""

    event_id: int
    webhook_id: int
    url: str
    headers: dict
    body: str
    timeout: float
    allow_http: bool


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def success(self):
        return self.status_code is not None and 200 <= self.status_code < 300


class _Connection(http.client.HTTPConnection):
    """http.client on a socket already connected (to the checked address): it never resolves or connects itself."""

    def __init__(self, sock, host, port, timeout):
        super().__init__(host, port, timeout=timeout)
        self.sock = sock

    def connect(self):  # pragma: no cover - the socket is given; a reconnect would be a second request
        raise http.client.NotConnected("no reconnection")


def _connect(target, deadline):
    """A socket connected to the first of the target's checked addresses that answers, by the deadline."""
    error = None
    for address in target.addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(max(deadline - time.monotonic(), 0.01))
            sock.connect((address, target.port))
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError("no address to connect to")


def post(attempt):
    """Send one attempt; its outcome. Never raises: whatever goes wrong is the outcome's error."""
    started = time.monotonic()
    deadline = started + attempt.timeout
    cut = threading.Event()
    sock = timer = None

    def outcome(status_code=None, error=None):
        duration = int((time.monotonic() - started) * 1000)
        if error and cut.is_set():
            error = f"no answer within {attempt.timeout:g} s"
        return Outcome(status_code, error[:ERROR_MAX] if error else None, duration)

    def stop():
        cut.set()
        if sock is not None:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's: wakes a blocked read

    try:
        target = addresses.resolve(attempt.url, attempt.allow_http)
        timer = threading.Timer(max(deadline - time.monotonic(), 0), stop)
        timer.start()
        raw = sock = _connect(target, deadline)
        if target.scheme == "https":
            sock = ssl.create_default_context().wrap_socket(raw, server_hostname=target.host)
        if cut.is_set():
            return outcome(error="timed out")
        connection = _Connection(sock, target.host, target.port, attempt.timeout)
        data = attempt.body.encode()
        connection.putrequest("POST", target.path, skip_host=True, skip_accept_encoding=True)
        for name, value in {"Host": target.host_header, "Content-Type": "application/json",
                            "Content-Length": str(len(data)), "User-Agent": USER_AGENT, **attempt.headers}.items():
            connection.putheader(name, value)
        connection.endheaders(data)
        response = connection.getresponse()
        response.read(RESPONSE_READ_MAX)  # what it says matters not; more than this is left unread
        if 300 <= response.status < 400:
            return outcome(response.status, f"redirect ({response.status}) not followed")
        if not 200 <= response.status < 300:
            return outcome(response.status, f"answered {response.status}")
        return outcome(response.status)
    except addresses.RefusedURLError as exc:
        return outcome(error=f"refused: {exc}")
    except TimeoutError:
        return outcome(error=f"no answer within {attempt.timeout:g} s")
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return outcome(error=f"{exc.__class__.__name__}: {exc}".strip().rstrip(":"))
    finally:
        if timer is not None:
            timer.cancel()
        if sock is not None:
            sock.close()


def _attempts(events, now):
    """What to send for each claimed event (None for an event whose webhook is gone)."""
    webhook_ids = {event.webhook_id for event in events}
    webhooks = {webhook.id: webhook for webhook in
                db.session.execute(select(Webhook).where(Webhook.id.in_(webhook_ids))).scalars()}
    config = current_app.config
    attempts: list[Attempt | None] = []
    for event in events:
        webhook = webhooks.get(event.webhook_id)
        if webhook is None:
            attempts.append(None)
            continue
        headers = signing.headers(event.id, now, event.body, signing.signing_secrets(webhook, now))
        attempts.append(Attempt(event.id, webhook.id, webhook.url, headers, event.body,
                                float(config["WEBHOOK_TIMEOUT"]), config["WEBHOOK_ALLOW_HTTP"]))
    return attempts


def deliver_due(include_not_yet_due=False):
    """Send the events that are due (a background job); returns how many were attempted."""
    # Detached: each keeps the lease this process set, against which its outcome is recorded (see record()).
    events = shared.claim(WebhookEvent, EventState.pending, BATCH, _lease(), include_not_yet_due, detach=True)
    if not events:
        return 0
    attempts = _attempts(events, utcnow())
    db.session.commit()  # no transaction stays open while the endpoints answer
    with ThreadPoolExecutor(max_workers=min(SENDERS, len(events)), thread_name_prefix="taskapi-webhook") as pool:
        outcomes = list(pool.map(lambda attempt: attempt and post(attempt), attempts))
    for event, attempt, outcome in zip(events, attempts, outcomes, strict=True):
        if attempt is not None:
            record(event, outcome)
            db.session.commit()
    for webhook_id in {event.webhook_id for event in events}:
        trim_log(webhook_id)
    db.session.commit()
    return len(events)


def record(event, outcome):
    """Write down one attempt's outcome: in the delivery log always (while the event exists), on the event and its
    webhook only while this process's claim on the event still holds."""
    now = utcnow()
    attempt_row = select(literal(event.webhook_id), literal(event.id), literal(event.type), literal(event.attempts),
                         literal(outcome.status_code), literal(outcome.error), literal(outcome.duration_ms),
                         literal(now)).where(exists().where(WebhookEvent.id == event.id))
    columns = ["webhook_id", "event_id", "event", "attempt", "status_code", "error", "duration_ms", "at"]
    db.session.execute(insert(WebhookDelivery).from_select(columns, attempt_row))
    held = shared.still_leased(WebhookEvent, event.id, event.claimed_until)
    if outcome.success:
        done = update(WebhookEvent).where(held).values(status=EventState.delivered, delivered_at=now,
                                                       claimed_until=None)
        if rowcount(db.session.execute(done)):
            db.session.execute(update(Webhook).where(Webhook.id == event.webhook_id).values(
                last_success_at=now, failure_count=0, failing_since=None))
            log.info("webhook event %s delivered to webhook %s (attempt %d, %d)", event.id, event.webhook_id,
                     event.attempts, outcome.status_code)
        return
    given_up = now >= event.expires_at
    if given_up:
        values = {"status": EventState.failed, "claimed_until": None}
    else:
        delay = shared.retry_delay(current_app.config["WEBHOOK_RETRY_FIRST"], event.attempts, LONGEST_RETRY, JITTER)
        values = {"next_attempt_at": min(now + delay, event.expires_at), "claimed_until": None}
    if not rowcount(db.session.execute(update(WebhookEvent).where(held).values(**values))):
        return
    failing = db.session.execute(
        update(Webhook).where(Webhook.id == event.webhook_id)
        .values(failure_count=Webhook.failure_count + 1, failing_since=func.coalesce(Webhook.failing_since, now))
        .returning(Webhook.failing_since)).scalar_one_or_none()
    log.warning("webhook event %s to webhook %s failed (attempt %d): %s%s", event.id, event.webhook_id,
                event.attempts, outcome.error, "; given up" if given_up else "")
    if given_up and failing is not None and failing <= now - retry_window():
        disable(event.webhook_id)


def disable(webhook_id):
    """Disable a webhook failing for WEBHOOK_RETRY_HOURS: its pending events are given up, its list's owner told."""
    off = update(Webhook).where(Webhook.id == webhook_id, Webhook.enabled).values(enabled=False)
    if not rowcount(db.session.execute(off)):
        return
    give_up_pending(webhook_id)
    row = db.session.execute(
        select(Webhook.url, TaskList.name, User.id, User.email)
        .join(TaskList, TaskList.id == Webhook.list_id).join(User, User.id == TaskList.owner_id)
        .where(Webhook.id == webhook_id)).one()
    log.error("webhook %s disabled: failing for %g hour(s)", webhook_id, current_app.config["WEBHOOK_RETRY_HOURS"])
    if mail_configured(current_app):
        context = {"list": row.name, "url": row.url, "hours": current_app.config["WEBHOOK_RETRY_HOURS"]}
        mail_outbox.enqueue(DISABLED_TEMPLATE, row.email, context, utcnow() + timedelta(days=7), user_id=row.id)
        db.session.info[WAKE] = True


def give_up_pending(webhook_id):
    """A disabled webhook's events that were waiting are not sent (tests and redeliveries asked later are)."""
    db.session.execute(update(WebhookEvent).where(WebhookEvent.webhook_id == webhook_id,
                                                  WebhookEvent.status == EventState.pending)
                       .values(status=EventState.failed))


@mail_outbox.template(DISABLED_TEMPLATE)
def render_disabled(context, secret):
    """The owner's notice that a webhook of their list was disabled."""
    text = (
        "Hello,\n\n"
        f"The webhook {context['url']} of your list \"{context['list']}\" on taskapi has failed every delivery "
        f"for {context['hours']:g} hour(s), so it has been disabled: it receives nothing until it is enabled again "
        "(PATCH it with \"enabled\": true once the endpoint answers).\n"
    )
    return "A webhook of your list was disabled", text


def trim_log(webhook_id):
    """Keep the last DELIVERIES_KEPT attempts of a webhook (the background job's, never a request's)."""
    oldest_kept = (select(WebhookDelivery.id).where(WebhookDelivery.webhook_id == webhook_id)
                   .order_by(WebhookDelivery.id.desc()).offset(DELIVERIES_KEPT - 1).limit(1).scalar_subquery())
    db.session.execute(WebhookDelivery.__table__.delete().where(WebhookDelivery.webhook_id == webhook_id,
                                                                 WebhookDelivery.id < oldest_kept))


def prune():
    """Delete events done over a week ago that no kept attempt refers to; how many (a maintenance job)."""
    unreferenced = ~exists().where(WebhookDelivery.event_id == WebhookEvent.id)
    return shared.prune(WebhookEvent, or_(WebhookEvent.status == EventState.delivered,
                                          WebhookEvent.status == EventState.failed),
                        WebhookEvent.created_at, utcnow() - KEEP_DONE, where=(unreferenced,))
