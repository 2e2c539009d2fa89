"""Opaque cursors of the task list and the change feed: signed, so only what the service made is read back."""

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer
from marshmallow import ValidationError

from taskapi.exceptions import InvalidParameterError

LIST_SALT = "taskapi.tasks.list-cursor"
FEED_SALT = "taskapi.tasks.feed-cursor"


def _serializer(salt):
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def invalid(parameter, message="Not a valid cursor."):
    """The refusal naming the query parameter that carried a cursor."""
    return InvalidParameterError(parameter, message)


def dump(salt, user, payload):
    """A signed, URL-safe string of `payload`, bound to `user`."""
    return _serializer(salt).dumps({"user": user.id, **payload})


def load(salt, schema, user, token, parameter):
    """The payload of a cursor this service made for `user`, as `schema` loads it; anything else is 422
    on `parameter`.

    The signature only says the service's key made it: a leaked or misused key, or a payload shape
    of another release, must still not reach a query. The schema holds it to what the service writes.
    """
    try:
        payload = _serializer(salt).loads(token)
    except BadData:
        raise invalid(parameter) from None
    if not isinstance(payload, dict) or payload.pop("user", None) != user.id:
        raise invalid(parameter)
    try:
        return schema.load(payload)
    except ValidationError:
        raise invalid(parameter) from None
