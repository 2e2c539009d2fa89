"""Writes of a list's webhooks (list.update): each judged under the list's lock, URLs checked before it."""

from flask import current_app
from sqlalchemy import func, select, update

from taskapi.exceptions import ConflictError, InvalidFieldError, NotFoundError
from taskapi.extensions import db
from taskapi.lists.access import LISTS, Permission, learn_webhook_count, list_and_role, lock, require, role_in
from taskapi.models import utcnow
from taskapi.tasks.models import MAX_ID
from taskapi.webhooks import addresses, delivery, signing
from taskapi.webhooks.models import Webhook, WebhookDelivery

TOO_MANY = "This list has as many webhooks as one list may; delete one first."


def check_url(url):
    """422 json.url unless the URL may receive webhooks now (https, a public address; resolved here)."""
    try:
        addresses.resolve(url, current_app.config["WEBHOOK_ALLOW_HTTP"])
    except addresses.RefusedURLError as exc:
        raise InvalidFieldError("url", str(exc)) from None


def _locked(user, list_id):
    """Take the list's lock and judge the caller's role under it: 404 for a non-member, 403 without list.update."""
    lock(list_id)
    role = role_in(user, list_id)
    if role is None:
        raise NotFoundError()
    require(role, Permission.update)


def _webhook(list_id, webhook_id):
    """The list's webhook, or 404."""
    webhook = None
    if 0 < webhook_id <= MAX_ID:
        webhook = db.session.execute(select(Webhook).where(Webhook.id == webhook_id, Webhook.list_id == list_id)
                                     .execution_options(populate_existing=True)).scalar_one_or_none()
    if webhook is None:
        raise NotFoundError()
    return webhook


def _writing(user, list_id, webhook_id=None):
    """Judge the caller (before and under the lock); the webhook named, if one is."""
    list_and_role(user, list_id, Permission.update)  # 404/403 before any lock for lists the caller cannot change
    try:
        _locked(user, list_id)
        return _webhook(list_id, webhook_id) if webhook_id is not None else None
    except Exception:
        db.session.rollback()
        raise


def _count(list_id, added):
    """Keep the list's webhook_count (under its lock): what tells its writes whether to look for webhooks."""
    count = db.session.execute(update(LISTS).where(LISTS.c.id == list_id)
                               .values(webhook_count=LISTS.c.webhook_count + added)
                               .returning(LISTS.c.webhook_count)).scalar_one()
    learn_webhook_count(list_id, count)


def create(user, list_id, url, events, description=None):
    """Register a webhook: (it, its secret, shown only now). 409 past MAX_WEBHOOKS_PER_LIST (counted under the lock)."""
    list_and_role(user, list_id, Permission.update)
    check_url(url)  # resolves the host: before the lock, which must not wait on DNS
    _writing(user, list_id)
    count = db.session.execute(select(func.count()).where(Webhook.list_id == list_id)).scalar_one()
    if count >= current_app.config["MAX_WEBHOOKS_PER_LIST"]:
        db.session.rollback()
        raise ConflictError(TOO_MANY)
    nonce = signing.new_nonce()
    webhook = Webhook(list_id=list_id, url=url, events=list(dict.fromkeys(events)), description=description,
                      enabled=True, secret_nonce=nonce, created_at=utcnow(), failure_count=0)
    db.session.add(webhook)
    _count(list_id, 1)
    db.session.commit()
    webhook.secret = signing.secret(nonce)
    return webhook


def change(user, list_id, webhook_id, changes):
    """Change a webhook's url, events, description or enabled. Enabling starts its failure count afresh;
    disabling gives up the events waiting for it."""
    list_and_role(user, list_id, Permission.update)
    if "url" in changes:
        check_url(changes["url"])
    webhook = _writing(user, list_id, webhook_id)
    if "url" in changes:
        webhook.url = changes["url"]
    if "events" in changes:
        webhook.events = list(dict.fromkeys(changes["events"]))
    if "description" in changes:
        webhook.description = changes["description"]
    if "enabled" in changes and changes["enabled"] != webhook.enabled:
        webhook.enabled = changes["enabled"]
        webhook.failure_count, webhook.failing_since = 0, None
        if not webhook.enabled:
            delivery.give_up_pending(webhook.id)
    db.session.commit()
    return webhook


def delete(user, list_id, webhook_id):
    """Delete a webhook, its waiting events and its log: nothing more is sent to it."""
    webhook = _writing(user, list_id, webhook_id)
    db.session.delete(webhook)
    _count(list_id, -1)
    db.session.commit()


def rotate_secret(user, list_id, webhook_id):
    """A new secret, shown only now; the one it replaces (the current one, whatever came before) signs too for a day."""
    webhook = _writing(user, list_id, webhook_id)
    webhook.previous_secret_nonce = webhook.secret_nonce
    webhook.secret_nonce = signing.new_nonce()
    webhook.rotated_at = utcnow()
    db.session.commit()
    webhook.secret = signing.secret(webhook.secret_nonce)
    return webhook


def send_test(user, list_id, webhook_id):
    """One webhook.test delivery to the webhook, enabled or not."""
    webhook = _writing(user, list_id, webhook_id)
    event = delivery.enqueue_test(webhook)
    db.session.commit()
    return event


def redeliver(user, list_id, webhook_id, delivery_id):
    """Send again the event of one of the webhook's logged attempts, with the same webhook-id."""
    _writing(user, list_id, webhook_id)
    event_id = None
    if 0 < delivery_id <= MAX_ID:
        event_id = db.session.execute(select(WebhookDelivery.event_id).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.webhook_id == webhook_id)).scalar_one_or_none()
    if event_id is None:
        db.session.rollback()
        raise NotFoundError()
    delivery.enqueue_again(event_id)
    db.session.commit()

