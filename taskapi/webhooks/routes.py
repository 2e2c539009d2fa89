"""/api/v1/lists/{id}/webhooks: endpoints receiving a list's activity, signed, from a durable outbox
(managed with list.update: the list's admins and owner)."""

from flask_jwt_extended import current_user

from taskapi.api import Blueprint
from taskapi.webhooks import commands, queries
from taskapi.webhooks.schemas import (
    WebhookAcceptedSchema,
    WebhookCreateSchema,
    WebhookDeliveryListSchema,
    WebhookListSchema,
    WebhookSchema,
    WebhookSecretSchema,
    WebhookUpdateSchema,
)

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1/lists",
                description="Webhooks: a list's activity sent to endpoints as signed HTTP POSTs.")
SCOPE = "webhooks:manage"
WEBHOOKS = "/<int:list_id>/webhooks"
WEBHOOK = WEBHOOKS + "/<int:webhook_id>"


@blp.post(WEBHOOKS)
@blp.authenticated(scope=SCOPE)
@blp.body(WebhookCreateSchema)
@blp.response(201, WebhookSecretSchema)
@blp.errors(403, 404, 409, 500, 503)
def create_webhook(data, list_id):
    """Register a webhook; its secret is shown only in this answer."""
    return commands.create(current_user, list_id, data["url"], data["events"], data["description"]), 201


@blp.get(WEBHOOKS)
@blp.authenticated(scope=SCOPE)
@blp.response(200, WebhookListSchema)
@blp.errors(403, 404, 500, 503)
def list_webhooks(list_id):
    """The list's webhooks."""
    return {"items": queries.webhooks(current_user, list_id)}


@blp.patch(WEBHOOK)
@blp.authenticated(scope=SCOPE)
@blp.body(WebhookUpdateSchema)
@blp.response(200, WebhookSchema)
@blp.errors(403, 404, 500, 503)
def update_webhook(data, list_id, webhook_id):
    """Change a webhook's url, events, description, or whether it is enabled."""
    return commands.change(current_user, list_id, webhook_id, data)


@blp.delete(WEBHOOK)
@blp.authenticated(scope=SCOPE)
@blp.response(204)
@blp.errors(403, 404, 500, 503)
def delete_webhook(list_id, webhook_id):
    """Delete a webhook: nothing more is sent to it."""
    commands.delete(current_user, list_id, webhook_id)


@blp.post(WEBHOOK + "/rotate-secret")
@blp.authenticated(scope=SCOPE)
@blp.response(200, WebhookSecretSchema)
@blp.errors(403, 404, 500, 503)
def rotate_webhook_secret(list_id, webhook_id):
    """A new secret, shown only here; the old one also signs for 24 hours."""
    return commands.rotate_secret(current_user, list_id, webhook_id)


@blp.post(WEBHOOK + "/test")
@blp.authenticated(scope=SCOPE)
@blp.response(202, WebhookAcceptedSchema)
@blp.errors(403, 404, 500, 503)
def test_webhook(list_id, webhook_id):
    """Send one webhook.test event to the webhook."""
    commands.send_test(current_user, list_id, webhook_id)
    return {}


@blp.get(WEBHOOK + "/deliveries")
@blp.authenticated(scope=SCOPE)
@blp.response(200, WebhookDeliveryListSchema)
@blp.errors(403, 404, 500, 503)
def list_webhook_deliveries(list_id, webhook_id):
    """The webhook's last 100 delivery attempts, newest first."""
    return {"items": queries.deliveries(current_user, list_id, webhook_id)}


@blp.post(WEBHOOK + "/deliveries/<int:delivery_id>/redeliver")
@blp.authenticated(scope=SCOPE)
@blp.response(202, WebhookAcceptedSchema)
@blp.errors(403, 404, 500, 503)
def redeliver_webhook_delivery(list_id, webhook_id, delivery_id):
    """Send an attempt's event again, with the same webhook-id."""
    commands.redeliver(current_user, list_id, webhook_id, delivery_id)
    return {}
