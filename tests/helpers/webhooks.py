"""Webhook helpers: registered through the API, events put in the outbox as a change does, rows as stored."""

import json
from datetime import timedelta

from sqlalchemy import select, update
from standardwebhooks import Webhook as Verifier

from taskapi.extensions import db
from taskapi.models import utcnow
from taskapi.webhooks import delivery
from taskapi.webhooks.models import Webhook, WebhookDelivery, WebhookEvent
from tests.helpers.lists import list_url

# A public address for registrations that are never delivered (tests send only to 127.0.0.1).
PUBLIC_URL = "https://93.184.215.14/hook"
WEBHOOK_FIELDS = {"id", "url", "events", "description", "enabled", "created_at", "last_success_at", "failure_count"}
DELIVERY_FIELDS = {"id", "event_id", "event", "attempt", "status_code", "error", "duration_ms", "at"}
# Fast retries: a first retry after 0.2 s, given up after 7.2 s.
FAST_RETRIES = {"WEBHOOK_RETRY_FIRST": timedelta(seconds=0.2), "WEBHOOK_RETRY_HOURS": 0.002, "WEBHOOK_TIMEOUT": 1.0}


def webhooks_url(list_id, suffix=""):
    return list_url(list_id, "/webhooks" + suffix)


def create_webhook(client, auth, list_id, url, events=("task.*",), **extra):
    """Register a webhook through the API; asserts 201 and returns the body (with its secret)."""
    response = client.post(webhooks_url(list_id), json={"url": url, "events": list(events), **extra}, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def put_event(app, list_id, action="task.created", task=None, activity=None):
    """Store events for the list's webhooks as a change's transaction does; their ids."""
    activity = activity or {"id": 1, "at": utcnow().isoformat(), "actor": None, "action": action,
                            "task_id": (task or {}).get("id"), "changes": {}}
    with app.app_context():
        before = set(db.session.execute(select(WebhookEvent.id)).scalars())
        delivery.enqueue([(list_id, action, utcnow(), activity, task)])
        db.session.commit()
        return sorted(set(db.session.execute(select(WebhookEvent.id)).scalars()) - before)


def deliver(app, due_or_not=True):
    """One round of the webhooks' background job, here and now; how many events it attempted."""
    with app.app_context():
        try:
            return delivery.deliver_due(include_not_yet_due=due_or_not)
        finally:
            db.session.remove()


def deliveries(client, auth, list_id, webhook_id):
    response = client.get(webhooks_url(list_id, f"/{webhook_id}/deliveries"), headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def stored_webhooks(app):
    """Every webhook, event and logged attempt as stored: what a refused request must leave as it was."""
    with app.app_context():
        return {table.name: [dict(row) for row in db.session.execute(select(table).order_by(table.c.id)).mappings()]
                for table in (Webhook.__table__, WebhookEvent.__table__, WebhookDelivery.__table__)}


def events_of(app):
    with app.app_context():
        rows = db.session.execute(select(WebhookEvent).order_by(WebhookEvent.id)).scalars().all()
        for row in rows:
            db.session.expunge(row)
        return rows


def verified(secret, request):
    """What the reference verifier (standardwebhooks) makes of a received request: the payload, or it raises."""
    return Verifier(secret).verify(request["body"], request["headers"])


def set_webhook(app, webhook_id, **values):
    with app.app_context():
        db.session.execute(update(Webhook).where(Webhook.id == webhook_id).values(**values))
        db.session.commit()


def set_events(app, **values):
    with app.app_context():
        db.session.execute(update(WebhookEvent).values(**values))
        db.session.commit()


def payload(request):
    return json.loads(request["body"])
