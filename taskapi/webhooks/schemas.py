"""Request and response bodies of /api/v1/lists/{id}/webhooks."""

from marshmallow import fields, validate

from taskapi.activity.models import Action
from taskapi.schemas import StrictBoolean, Text, one_of
from taskapi.serializers import Schema
from taskapi.webhooks.models import DESCRIPTION_MAX, URL_MAX

# The activity's actions a webhook can receive; "task.*" is every task.… one.
ACTIONS = tuple(action.value for action in Action)
EVENT_FILTERS = ("task.*", *ACTIONS)
EVENTS_MAX = len(EVENT_FILTERS)


def _url(**kwargs):
    return Text(validate=validate.Length(1, URL_MAX), metadata={
        "example": "https://example.com/hooks/taskapi",
        "description": "https:// (http:// only where the service allows it), reaching a public address."}, **kwargs)


def _events(**kwargs):
    return fields.List(fields.String(**one_of("WebhookEventFilter", list(EVENT_FILTERS))),
                       validate=validate.Length(1, EVENTS_MAX),
                       metadata={"example": ["task.*"], "description": "Actions to receive; task.* is every task one."},
                       **kwargs)


def _description(**kwargs):
    return Text(allow_none=True, validate=validate.Length(0, DESCRIPTION_MAX), **kwargs)


class WebhookSchema(Schema):
    """A webhook of a list, without its secret."""

    id = fields.Integer(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(**one_of("WebhookEventFilter", list(EVENT_FILTERS))), required=True)
    description = fields.String(required=True, allow_none=True)
    enabled = fields.Boolean(required=True, metadata={
        "description": "false once it failed for WEBHOOK_RETRY_HOURS (or was turned off): nothing is sent to it."})
    created_at = fields.AwareDateTime(required=True, format="iso")
    last_success_at = fields.AwareDateTime(required=True, allow_none=True, format="iso")
    failure_count = fields.Integer(required=True, metadata={"description": "Attempts failed in a row."})


class WebhookSecretSchema(WebhookSchema):
    """A webhook with its signing secret: answered only when it is made and when the secret is rotated."""

    secret = fields.String(required=True, metadata={"example": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})


class WebhookListSchema(Schema):
    """A list's webhooks."""

    items = fields.List(fields.Nested(WebhookSchema), required=True)


class WebhookCreateSchema(Schema):
    """A webhook to register."""

    url = _url(required=True)
    events = _events(required=True)
    description = _description(load_default=None)


class WebhookUpdateSchema(Schema):
    """Changes to a webhook: only the fields given change."""

    url = _url()
    events = _events()
    description = _description()
    enabled = StrictBoolean()


class WebhookDeliverySchema(Schema):
    """One attempt to send an event."""

    id = fields.Integer(required=True)
    event_id = fields.Integer(required=True, metadata={"description": "The webhook-id header of the attempt."})
    event = fields.String(required=True, metadata={"example": "task.created"})
    attempt = fields.Integer(required=True, metadata={"description": "1 for the first attempt of the event."})
    status_code = fields.Integer(required=True, allow_none=True, metadata={"description": "null: no answer."})
    error = fields.String(required=True, allow_none=True)
    duration_ms = fields.Integer(required=True)
    at = fields.AwareDateTime(required=True, format="iso")


class WebhookDeliveryListSchema(Schema):
    """A webhook's last 100 attempts, newest first."""

    items = fields.List(fields.Nested(WebhookDeliverySchema), required=True)


class WebhookAcceptedSchema(Schema):
    """An empty object: the delivery is on its way (see the delivery log)."""
