"""The webhooks' outbox: events stored with the change that caused them, sent by the background thread.

Each event is one row per webhook (its id is the `webhook-id` of every attempt), claimed in
batches with the lease taskapi/outbox.py shares with mail, sent by taskapi.webhooks.sending, and
retried with growing, jittered delays for WEBHOOK_RETRY_HOURS. An outcome is recorded only while
the claim that sent it still holds: a success is recorded once and the event is never sent again
after it (unless a redelivery is asked for); a process killed mid-send records nothing, and the
event is sent again, with the same id, once its lease lapses. A write that stores events wakes its
process's background thread for this job alone, which waits GATHER seconds first: a busy list's
events go out as one batch, claimed in one transaction and recorded in another.
"""

import functools
import json
import logging
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import (
    Integer,
    String,
    Text,
    bindparam,
    cast,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy import event as sa_event

from taskapi import background
from taskapi import outbox as shared
from taskapi.auth.models import User
from taskapi.extensions import db
from taskapi.lists.access import webhook_count
from taskapi.lists.models import TaskList
from taskapi.mail import configured as mail_configured
from taskapi.mail import outbox as mail_outbox
from taskapi.models import UTCDateTime, rowcount, utcnow
from taskapi.sessions import Session
from taskapi.webhooks import signing
from taskapi.webhooks.models import EventState, Webhook, WebhookDelivery, WebhookEvent
from taskapi.webhooks.sending import Attempt, senders

log = logging.getLogger("taskapi.webhooks")

BATCH = 64
ITEMS_PER_INSERT = 100  # a bulk edit's worth; SQLite allows 500 SELECTs in one UNION ALL
GATHER = 0.25  # seconds a wake for this job waits for more events before claiming
LONGEST_RETRY = timedelta(hours=6)
JITTER = 0.2
DELIVERIES_KEPT = 100
TRIM_EVERY = 10.0  # seconds between two trims of a webhook's delivery log by one process
KEEP_DONE = timedelta(days=7)
TEST_EVENT = "webhook.test"
DISABLED_TEMPLATE = "webhook_disabled"
# Set on the session: after its commit, the background thread is woken for these jobs (this one, or mail's).
WAKE = "taskapi-webhooks-wake"

# Built once, in Core (on the tables: no ORM bookkeeping on a write's path).
_webhooks = Webhook.__table__.c
_EVENT_COLUMNS = ["webhook_id", "type", "body", "status", "attempts", "next_attempt_at", "created_at", "expires_at"]
_events = WebhookEvent.__table__.c
_log = WebhookDelivery.__table__.c
_ids = bindparam("ids", type_=Integer, expanding=True)
_now = bindparam("now", type_=UTCDateTime)
_held = _events.claimed_until == bindparam("lease", type_=UTCDateTime)  # the claim that sent it still holds
# The statements of a batch (deliver_due(), record()), built once.
SENDING_TO = select(Webhook.__table__).where(_webhooks.id.in_(_ids))
LOCK_EVENTS = (select(_events.id).where(_events.id.in_(_ids)).order_by(_events.id)
               .with_for_update(read=True, key_share=True))
LOG_ATTEMPTS = insert(WebhookDelivery.__table__)
DELIVERED = (update(WebhookEvent.__table__).where(_events.id.in_(_ids), _held)
             .values(status=EventState.delivered, delivered_at=_now, claimed_until=None)
             .returning(_events.id, _events.webhook_id))
ANSWERED = (update(Webhook.__table__).where(_webhooks.id.in_(_ids))
            .values(last_success_at=_now, failure_count=0, failing_since=None))
NOT_SENT = (update(WebhookEvent.__table__).where(_events.id.in_(_ids), _held)
            .values(claimed_until=None, attempts=_events.attempts - 1))
TRIM_LOG = (WebhookDelivery.__table__.delete().where(
    _log.webhook_id == bindparam("webhook_id"),
    _log.id < select(_log.id).where(_log.webhook_id == bindparam("webhook_id")).order_by(_log.id.desc())
    .offset(DELIVERIES_KEPT - 1).limit(1).scalar_subquery()))


def body(action, at, list_id, activity=None, task=None):
    """The JSON sent for one event, as stored: compact, keys sorted, the same bytes on every attempt."""
    payload = {"type": action, "timestamp": at.isoformat(),
               "data": {"list_id": list_id, "activity": activity, "task": task}}
    return current_app.json.dumps(payload)  # taskapi.jsonprovider: compact, keys sorted, UTF-8 as is


def _patterns(action):
    """LIKE patterns finding a webhook that subscribes to `action` from its `events` as stored, a JSON array of
    names: the name itself, quotes included (found only whole; `_` escaped, matching only itself), and for task
    events "task.*". Matching in the INSERT spares a write a statement: no SELECT of the webhooks first."""
    exact = "%" + json.dumps(action).replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "%"
    return exact, '%"task.*"%' if action.startswith("task.") else None


def might_have_webhooks(list_id):
    """False when the list's lock, taken in this transaction, said it has no webhooks (no statement spent)."""
    return webhook_count(list_id) != 0


def store(items):
    """Store an event for every enabled webhook of each item's list that subscribes to its action; how many.

    `items`: (list_id, action, at, activity as answered, task as answered or None). One INSERT … SELECT (for
    up to ITEMS_PER_INSERT items) from the webhooks of the items' lists (ix_webhooks_list), in the change's
    transaction and under its lists' locks (registering a webhook takes it too): it sees every webhook
    registered before.
    """
    items = list(items)
    if not items:
        return 0
    now = utcnow()
    stored = 0
    for start in range(0, len(items), ITEMS_PER_INSERT):
        chunk = items[start:start + ITEMS_PER_INSERT]
        values = {"now": now, "expires_at": now + retry_window()}
        for number, (list_id, action, at, activity, task) in enumerate(chunk):
            exact, wildcard = _patterns(action)
            values.update({f"list_id_{number}": list_id, f"type_{number}": str(action),
                           f"body_{number}": body(action, at, list_id, activity, task),
                           f"exact_{number}": exact, f"wildcard_{number}": wildcard})
        stored += rowcount(db.session.execute(_insert_events(len(chunk)), values))
    if stored:
        _wake_after_commit(deliver_due)
    return stored


@functools.lru_cache(maxsize=16)
def _insert_events(count):
    """store()'s statement for `count` items, built once: INSERT INTO webhook_events … SELECT from the webhooks of
    the items' lists joined to the items (one SELECT of bound values each, UNION ALL) on list and events."""
    chosen = [select(literal(number).label("number"), bindparam(f"list_id_{number}", type_=Integer).label("list_id"),
                     bindparam(f"type_{number}", type_=String).label("type"),
                     bindparam(f"body_{number}", type_=Text).label("body"),
                     bindparam(f"exact_{number}", type_=String).label("exact"),
                     bindparam(f"wildcard_{number}", type_=String).label("wildcard"))
              for number in range(count)]
    item = (chosen[0] if count == 1 else union_all(*chosen)).subquery("item")
    events_text = cast(_webhooks.events, Text)
    rows = (select(_webhooks.id, item.c.type, item.c.body,
                   literal(EventState.pending, _events.status.type), literal(0), _now, _now,
                   bindparam("expires_at", type_=UTCDateTime))
            .join_from(item, Webhook.__table__, _webhooks.list_id == item.c.list_id)
            .where(_webhooks.enabled, or_(events_text.like(item.c.exact, escape="\\"),
                                          events_text.like(item.c.wildcard)))
            .order_by(item.c.number, _webhooks.id))  # ids in the order of the changes
    return insert(WebhookEvent.__table__).from_select(_EVENT_COLUMNS, rows)


def enqueue(items):
    """Store the events of `items` (see store()) whose lists may have webhooks, in the transaction of the change:
    an event exists exactly when its change committed. Lists whose lock this transaction took (every write's)
    are known to have webhooks or not from the lock's RETURNING (taskapi.lists.access.webhook_count): a write to
    lists without any runs no statement here; one with webhooks, one INSERT, whatever the number of items."""
    return store(item for item in items if might_have_webhooks(item[0]))


def on_activity(sender, entries, **kwargs):
    """taskapi.activity's activity_recorded: an event per entry for each webhook of its list subscribing to its
    action, with the entry and the task (after the change) as their routes answer them. Bodies are made only
    for lists that may have webhooks."""
    entries = [entry for entry in entries if might_have_webhooks(entry[0].list_id)]
    if not entries:
        return
    activity_schema, task_schema = _schemas()
    items = []
    for activity, task, user in entries:
        actor = {"id": user.id, "name": user.name} if user is not None else None
        answered = activity_schema.dump({"id": activity.id, "at": activity.at, "actor": actor,
                                         "action": activity.action, "task_id": activity.task_id,
                                         "changes": activity.changes or {}})
        items.append((activity.list_id, activity.action, activity.at, answered,
                      task_schema.dump(task) if task is not None else None))
    store(items)


@functools.cache
def _schemas():
    """The activity's and the task's schemas, as their routes answer them (made once: a schema is costly to make;
    imported here, at first use, as the tasks' and activity's modules import this area's)."""
    from taskapi.activity.schemas import ActivitySchema
    from taskapi.tasks.schemas import TaskSchema

    return ActivitySchema(), TaskSchema()


def enqueue_test(webhook):
    """One `webhook.test` event for the webhook, whatever its events and even disabled (to try an endpoint)."""
    now = utcnow()
    event = WebhookEvent(webhook_id=webhook.id, type=TEST_EVENT, body=body(TEST_EVENT, now, webhook.list_id),
                         status=EventState.pending, attempts=0, next_attempt_at=now, created_at=now,
                         expires_at=now + retry_window())
    db.session.add(event)
    _wake_after_commit(deliver_due)
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
    _wake_after_commit(deliver_due)


def _wake_after_commit(job):
    db.session.info.setdefault(WAKE, set()).add(job)


@sa_event.listens_for(Session, "after_commit")
def _wake(session):
    for job in session.info.pop(WAKE, ()):
        background.wake(current_app, job)


@sa_event.listens_for(Session, "after_rollback")
def _nothing_to_wake(session):
    session.info.pop(WAKE, None)


def retry_window():
    return timedelta(hours=current_app.config["WEBHOOK_RETRY_HOURS"])


def _lease():
    """Longer than a batch can take (attempts start within one WEBHOOK_TIMEOUT and last at most one): never lapses
    mid-send."""
    return timedelta(seconds=current_app.config["WEBHOOK_TIMEOUT"] * 2 + 60)


def _attempts(events, now):
    """What to send for each claimed event (None for an event whose webhook is gone): signed with the secrets
    its webhook signs with now."""
    webhook_ids = sorted({event.webhook_id for event in events})
    webhooks = {webhook.id: (webhook, signing.signers(webhook, now))
                for webhook in db.session.execute(SENDING_TO, {"ids": webhook_ids})}
    config = current_app.config
    attempts: list[Attempt | None] = []
    for event in events:
        if event.webhook_id not in webhooks:
            attempts.append(None)
            continue
        webhook, signers = webhooks[event.webhook_id]
        headers = signing.headers(event.id, now, event.body, signers)
        attempts.append(Attempt(event.id, webhook.id, webhook.url, headers, event.body,
                                float(config["WEBHOOK_TIMEOUT"]), config["WEBHOOK_ALLOW_HTTP"]))
    return attempts


def deliver_due(include_not_yet_due=False):
    """Send the events that are due (a background job); returns how many were claimed.

    Two transactions a batch, whatever its size: the claim (with the webhooks' URLs and secrets), committed
    before anything is sent, and the outcomes, recorded together once every attempt has ended.
    """
    # Detached: each keeps the lease this process set, against which its outcome is recorded (see record()).
    events = shared.claim(WebhookEvent, EventState.pending, BATCH, _lease(), include_not_yet_due, detach=True,
                          commit=False)
    attempts = _attempts(events, utcnow()) if events else []
    db.session.commit()  # no transaction stays open while the endpoints answer
    if not events:
        return 0
    outcomes = senders.send(attempts)
    record([(event, outcome) for event, attempt, outcome in zip(events, attempts, outcomes, strict=True)
            if attempt is not None])
    db.session.commit()
    return len(events)


def record(results):
    """Write down the outcomes of one claim's attempts: [(event, Outcome, or None for an attempt not made)].

    Each attempt made goes to the delivery log (while its event exists); its event and webhook change only
    while the claim that sent it still holds (the events of one claim share its lease): a success marks the
    event delivered, a failure schedules the next attempt (or gives up), and an event not attempted goes
    back as it was before the claim. Three statements for a batch of successes, however large.
    """
    if not results:
        return
    now = utcnow()
    lease = results[0][0].claimed_until
    made = [(event, outcome) for event, outcome in results if outcome is not None]
    # Rows this transaction updates are locked: deleting their webhook or list waits until the log's rows are in.
    updated: set[int] = set()
    delivered = [event.id for event, outcome in made if outcome.success]
    if delivered:
        rows = db.session.execute(DELIVERED, {"ids": delivered, "lease": lease, "now": now}).all()
        updated.update(event_id for event_id, _ in rows)
        answered = sorted({webhook_id for _, webhook_id in rows})
        if answered:
            db.session.execute(ANSWERED, {"ids": answered, "now": now})
            log.info("webhook event(s) delivered: %d, to webhook(s) %s", len(rows), ", ".join(map(str, answered)))
    for event, outcome in made:  # after the successes: a failure in the same batch starts a new run of them
        if not outcome.success and _failed(event, outcome, now, lease):
            updated.add(event.id)
    others = [event.id for event, _ in made if event.id not in updated]  # claims that no longer hold: still there?
    existing = updated | (set(db.session.execute(LOCK_EVENTS, {"ids": others}).scalars()) if others else set())
    logged = [{"webhook_id": event.webhook_id, "event_id": event.id, "event": event.type, "attempt": event.attempts,
               "status_code": outcome.status_code, "error": outcome.error, "duration_ms": outcome.duration_ms,
               "at": now} for event, outcome in made if event.id in existing]
    if logged:
        db.session.execute(LOG_ATTEMPTS, logged)
    unsent = [event.id for event, outcome in results if outcome is None]
    if unsent:
        db.session.execute(NOT_SENT, {"ids": unsent, "lease": lease})
    for webhook_id in sorted({event.webhook_id for event, _ in made}):
        _trim_log_now_and_then(webhook_id)


def _failed(event, outcome, now, lease):
    """A failed attempt: the next one after a growing delay, or given up once the retry window has passed. False
    when the claim that sent it no longer holds (nothing is changed then)."""
    given_up = now >= event.expires_at
    if given_up:
        values = {"status": EventState.failed, "claimed_until": None}
    else:
        delay = shared.retry_delay(current_app.config["WEBHOOK_RETRY_FIRST"], event.attempts, LONGEST_RETRY, JITTER)
        values = {"next_attempt_at": min(now + delay, event.expires_at), "claimed_until": None}
    retried = update(WebhookEvent).where(WebhookEvent.id == event.id, WebhookEvent.claimed_until == lease)
    if not rowcount(db.session.execute(retried.values(**values))):
        return False
    failing = db.session.execute(
        update(Webhook).where(Webhook.id == event.webhook_id)
        .values(failure_count=Webhook.failure_count + 1, failing_since=func.coalesce(Webhook.failing_since, now))
        .returning(Webhook.failing_since)).scalar_one_or_none()
    log.warning("webhook event %s to webhook %s failed (attempt %d): %s%s", event.id, event.webhook_id,
                event.attempts, outcome.error, "; given up" if given_up else "")
    if given_up and failing is not None and failing <= now - retry_window():
        disable(event.webhook_id)
    return True


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
        _wake_after_commit(mail_outbox.deliver_due)


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


_last_trims: dict[int, float] = {}  # webhook id → when this process last trimmed its log (time.monotonic())


def _trim_log_now_and_then(webhook_id):
    """trim_log() at most every TRIM_EVERY seconds for a webhook in this process: a busy webhook's log may hold
    that long's attempts beyond the last DELIVERIES_KEPT (its route lists the last DELIVERIES_KEPT alone)."""
    now = time.monotonic()
    if now - _last_trims.get(webhook_id, -TRIM_EVERY) >= TRIM_EVERY:
        _last_trims[webhook_id] = now
        trim_log(webhook_id)


def trim_log(webhook_id):
    """Keep the last DELIVERIES_KEPT attempts of a webhook (the background job's, never a request's)."""
    db.session.execute(TRIM_LOG, {"webhook_id": webhook_id})


def prune():
    """Delete events done over a week ago that no kept attempt refers to; how many (a maintenance job)."""
    unreferenced = ~exists().where(WebhookDelivery.event_id == WebhookEvent.id)
    return shared.prune(WebhookEvent, or_(WebhookEvent.status == EventState.delivered,
                                          WebhookEvent.status == EventState.failed),
                        WebhookEvent.created_at, utcnow() - KEEP_DONE, where=(unreferenced,))
