"""Bodies and parameters of the stream routes."""

from marshmallow import EXCLUDE, fields, validate

from taskapi.serializers import Schema


class TicketSchema(Schema):
    ticket = fields.String(required=True, metadata={"description": "Single use; give it to GET /api/v1/stream."})
    expires_in = fields.Integer(required=True, metadata={"description": "Seconds it stays usable."})


class TicketQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE  # unknown query parameters are ignored

    ticket = fields.String(required=True, validate=validate.Length(min=1, max=2048),
                           metadata={"description": "A ticket from POST /api/v1/stream/ticket."})
