"""Reads of a list's webhooks and their delivery logs (list.update)."""

from sqlalchemy import select

from taskapi.extensions import db
from taskapi.lists.access import Permission, list_and_role
from taskapi.webhooks.commands import _webhook
from taskapi.webhooks.delivery import DELIVERIES_KEPT
from taskapi.webhooks.models import Webhook, WebhookDelivery


def webhooks(user, list_id):
    """The list's webhooks, oldest first (without their secrets)."""
    list_and_role(user, list_id, Permission.update)
    return db.session.execute(select(Webhook).where(Webhook.list_id == list_id).order_by(Webhook.id)).scalars().all()


def deliveries(user, list_id, webhook_id):
    """The webhook's last DELIVERIES_KEPT attempts, newest first."""
    list_and_role(user, list_id, Permission.update)
    _webhook(list_id, webhook_id)
    query = (select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
             .order_by(WebhookDelivery.id.desc()).limit(DELIVERIES_KEPT))
    return db.session.execute(query).scalars().all()
