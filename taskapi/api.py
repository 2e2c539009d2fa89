"""The REST layer on flask-smorest: body rules, documented errors, bearer auth, a document for typed clients."""

import functools
import json
import os
from http import HTTPStatus

import flask_swagger_ui
from apispec import BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter, resolver
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Blueprint as FlaskBlueprint
from flask import current_app, request, send_from_directory
from flask_jwt_extended import current_user, jwt_required
from flask_smorest import Api as _Api
from flask_smorest import Blueprint as _Blueprint
from flask_smorest.pagination import PaginationMetadataSchema
from flask_smorest.utils import prepare_response
from webargs.flaskparser import FlaskParser

from taskapi.errors import BEARER_CHALLENGE, INVALID_TOKEN_CHALLENGE, ApiError
from taskapi.schemas import ENUM_SCHEMA, ErrorSchema

BEARER = "bearerAuth"
REFRESH_BEARER = "refreshToken"
PERSONAL_BEARER = "personalToken"
SECURITY_SCHEMES = {
    BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    PERSONAL_BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "tapi_", "description": (
        "A personal access token (`tapi_…`, made with POST /api/v1/auth/tokens), as "
        "`Authorization: Bearer tapi_…`; an operation taking one names the scope it needs. "
        "Beyond its scopes: 403; on any other operation: 401 wrong_token_type.")},
    REFRESH_BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": (
        "The refresh token of a pair (not the access token), as `Authorization: Bearer <refresh_token>`; "
        "only POST /api/v1/auth/refresh takes it.")},
}
DOCS_ASSETS = os.path.join(os.path.dirname(flask_swagger_ui.__file__), "dist")
REQUEST_ID_PATTERN = "^[A-Za-z0-9._-]{1,64}$"

# The optional request header every operation takes (a component, referenced by each).
REQUEST_ID_PARAMETER = "X_REQUEST_ID"
REQUEST_ID_PARAMETER_DOC = {
    "description": "Your id for the request, echoed back and in every log line of it when it is 1–64 "
                   "characters of [A-Za-z0-9._-]; any other value is replaced by one made here, never refused.",
    "required": False,
    # No pattern: a value outside it is replaced, not refused, so it is no invalid request.
    "schema": {"type": "string"},
}

# Response headers, documented where the service sends them.
REQUEST_ID_HEADER = {
    "X-Request-ID": {
        "description": "The request's id: the client's when well-formed, otherwise made here.",
        "required": True,
        "schema": {"type": "string", "pattern": REQUEST_ID_PATTERN},
    }
}
RETRY_AFTER_HEADER = {
    "Retry-After": {"description": "Seconds to wait before retrying.", "required": True,
                    "schema": {"type": "integer", "minimum": 1}},
}
WWW_AUTHENTICATE_HEADER = {
    "WWW-Authenticate": {
        "description": (
            f"The bearer challenge (RFC 6750) on every token failure: `{BEARER_CHALLENGE}` when no token "
            f"was sent (token_missing), `{INVALID_TOKEN_CHALLENGE}` when one was sent and refused "
            "(token_invalid, token_expired, token_revoked, wrong_token_type). Not sent with "
            "invalid_credentials: a wrong password in a body is no bearer challenge."),
        "required": False,
        "schema": {"type": "string", "example": INVALID_TOKEN_CHALLENGE},
    },
}
ERROR_HEADERS = {HTTPStatus.TOO_MANY_REQUESTS: RETRY_AFTER_HEADER, HTTPStatus.UNAUTHORIZED: WWW_AUTHENTICATE_HEADER}


def operation_id(view_name, method):
    """An operation's id, from its view function: camelCase; PUT on an update_ view is replace."""
    if method == "put" and view_name.startswith("update_"):
        view_name = "replace_" + view_name.removeprefix("update_")
    first, *rest = view_name.split("_")
    return first + "".join(word.capitalize() for word in rest)


class Converter(OpenAPIConverter):
    """apispec's field converter; fields naming an enum schema reference it, and bodies' defaults are told."""

    def field2property(self, field):
        prop = super().field2property(field)
        name = field.metadata.get(ENUM_SCHEMA)
        if name is None:
            return prop
        enum = {"type": "string", "enum": prop.pop("enum")}
        prop.pop("type", None)
        schemas = self.spec.components.schemas
        if name not in schemas:
            self.spec.components.schema(name, enum)
        if schemas[name] != enum:
            raise ValueError(f"two different enums are named {name}")
        ref = {"$ref": f"#/components/schemas/{name}"}
        # Keywords beside a $ref are ignored in OpenAPI 3.0: an allOf keeps a default or a description.
        return {"allOf": [ref], **prop} if prop else ref

    def schema2jsonschema(self, schema):
        """A body's field with a default may be left out: openapi-typescript would make a `default` required
        (its defaultNonNullable), so a named schema states the default in its description instead."""
        jsonschema = super().schema2jsonschema(schema)
        for prop in jsonschema.get("properties", {}).values():
            if "default" in prop:
                default = json.dumps(prop.pop("default"))
                prop["description"] = " ".join(filter(None, [prop.get("description"), f"Default: {default}."]))
        return jsonschema


class Plugin(MarshmallowPlugin):
    """apispec's marshmallow plugin, with taskapi's converter and schema names."""

    Converter = Converter

    def __init__(self):
        super().__init__(schema_name_resolver=schema_name)


def schema_name(schema):
    """A schema's component name, as apispec makes it; but flask-smorest's pagination metadata stays unnamed.

    flask-smorest documents its X-Pagination header at start, for paginate(), which no route here uses:
    unnamed, its schema is written inline into that header, which nothing refers to, so neither appears.
    """
    if resolve_schema_cls(schema) is PaginationMetadataSchema:
        return None
    return resolver(schema)


class CommonOperationPlugin(BasePlugin):
    """What every operation has: its id (from its view's name, unless it has one), and the optional X-Request-ID."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        view_name = kwargs["rule"].endpoint.rpartition(".")[2]  # flask-smorest names an endpoint after its view
        for method, operation in operations.items():
            operation.setdefault("operationId", operation_id(view_name, method))
            operation.setdefault("parameters", []).append(REQUEST_ID_PARAMETER)


def with_request_id(headers=None):
    return {**REQUEST_ID_HEADER, **(headers or {})}


class JsonBodyParser(FlaskParser):
    """webargs' parser, strict about the body: present, JSON, an object, valid Unicode."""

    def load_json(self, req, schema):
        raw = req.get_data(cache=True)
        if req.content_length is not None and len(raw) < req.content_length:
            # gunicorn hands over what arrived before the client hung up: never act on part of a body.
            raise ApiError(400, message="The request body is incomplete.")
        if not raw.strip():
            if getattr(schema, "body_optional", False):
                return {}
            raise ApiError(400, message="A JSON object body is required.")
        if not req.is_json:
            raise ApiError(415)
        try:
            data = json.loads(raw)
            # Lone surrogates decode from \u escapes but cannot be stored as UTF-8.
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except (ValueError, UnicodeError):
            raise ApiError(400, message="The request body is not valid JSON.") from None
        except RecursionError:
            # json recurses once per nested array or object: a few KiB of brackets exhaust the stack.
            raise ApiError(400, message="The request body is nested too deeply.") from None
        if not isinstance(data, dict):
            raise ApiError(400, message="The request body must be a JSON object.")
        return data


class Blueprint(_Blueprint):
    """flask-smorest's Blueprint with taskapi's body parser and error documentation."""

    ARGUMENTS_PARSER = JsonBodyParser()

    def response(self, status_code, schema=None, *, headers=None, **kwargs):
        return super().response(status_code, schema, headers=with_request_id(headers), **kwargs)

    def alt_response(self, status_code, response=None, *, headers=None, **kwargs):
        if response is None:  # a named response (a component) documents its headers itself
            headers = with_request_id(headers)
        return super().alt_response(status_code, response, headers=headers, **kwargs)

    def errors(self, *statuses):
        """Document that a view can answer these statuses (with the envelope, mostly)."""

        def decorator(func):
            for status in statuses:
                func = self.alt_response(status, response=HTTPStatus(status).name)(func)
            return func

        return decorator

    def authenticated(self, refresh=False, role=None, scope=None):
        """Require a bearer token (an access token, or a refresh token), and a `role` if given; document both.

        With a `scope`, a personal access token having it is taken too (and counted against TOKEN_RATE_LIMIT
        per token); without, one is refused with 401 wrong_token_type. The role is checked before the
        request's arguments are read: a user without it learns nothing from validation errors and changes nothing.
        """

        def decorator(func):
            if role is not None:
                func = self.errors(403)(_requires_role(role)(func))
            view = _personal_or_jwt(func, jwt_required(refresh=refresh)(func), scope)
            security: list[dict[str, list[str]]] = [{REFRESH_BEARER if refresh else BEARER: []}]
            if scope is not None:
                view = self.errors(403, 429)(view)
                # OpenAPI 3.0 lists scopes for OAuth only: the scope an operation needs is an extension.
                security.append({PERSONAL_BEARER: []})
                view = self.doc(**{"x-token-scope": scope})(view)
            view = self.doc(security=security)(view)
            return self.errors(401)(view)

        return decorator

    def body(self, schema, **kwargs):
        """Parse a JSON body with `schema`, documenting 400/408/413/415 with its 422."""

        def decorator(func):
            func = self.arguments(schema, **kwargs)(func)
            # 408: a body is what a client may be slow to send (gunicorn_worker.py answers it).
            return self.errors(400, 408, 413, 415)(func)

        return decorator

    def arguments(self, schema, *, location="json", **kwargs):
        """flask-smorest's arguments; query parameters also document 414 (the request line's limit)."""
        decorator = super().arguments(schema, location=location, **kwargs)
        if location != "query":
            return decorator
        return lambda func: self.errors(414)(decorator(func))


def _personal_or_jwt(view, jwt_view, scope):
    """`jwt_view` for a JWT; for a personal token, `view` once the token is authenticated for `scope`."""
    from taskapi.auth import personal_tokens  # imported late: taskapi.extensions imports this module
    from taskapi.extensions import limiter

    def personal(*args, **kwargs):
        return view(*args, **kwargs)

    # Flask-Limiter keeps a route's limits by its function's name: a name of its own keeps TOKEN_RATE_LIMIT
    # apart from the view's other limits (counted per address for every caller).
    personal.__module__, personal.__qualname__ = view.__module__, f"{view.__qualname__}.personal_token"
    limited = None
    if scope is not None:
        limited = limiter.limit(lambda: current_app.config["TOKEN_RATE_LIMIT"],
                                key_func=personal_tokens.rate_key)(personal)

    @functools.wraps(view)
    def either(*args, **kwargs):
        authorization = request.headers.get("Authorization", "")
        if not personal_tokens.is_personal(authorization):
            return jwt_view(*args, **kwargs)
        personal_tokens.authenticate(authorization, scope)  # raises without a scope
        assert limited is not None
        return limited(*args, **kwargs)

    return either


def _requires_role(role):
    def decorator(view):
        @functools.wraps(view)
        def checked(*args, **kwargs):
            if current_user.role != role:
                raise ApiError(403, "forbidden", f"This needs the {role} role.")
            return view(*args, **kwargs)

        return checked

    return decorator


class Api(_Api):
    """flask-smorest's Api documenting errors with taskapi's envelope."""

    ERROR_SCHEMA = ErrorSchema
    # Every operation lists its statuses itself; a catch-all would hide gaps.
    DEFAULT_ERROR_RESPONSE_NAME = None


def _has_body():
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def check_body():
    """Refuse oversized and non-JSON bodies before any view reads them."""
    if request.url_rule is None or not _has_body():
        return
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if limit is not None and (request.content_length or 0) > limit:
        raise ApiError(413)
    if not request.is_json:
        raise ApiError(415)
    if request.content_length is None and limit is not None:
        # A chunked body's length is known once it is read. Werkzeug stops reading at the limit and
        # hands over what it read as if it were all; one byte more tells a body over the limit.
        request.max_content_length = limit + 1
        if len(request.get_data(cache=True)) > limit:
            raise ApiError(413)


docs_assets = FlaskBlueprint("docs_assets", __name__)


@docs_assets.get("/docs/assets/<path:filename>")
def docs_asset(filename):
    # Swagger UI ships inside a wheel, so /docs needs no CDN.
    return send_from_directory(DOCS_ASSETS, filename, max_age=86400)


SERVICE_ROUTES = {
    "/openapi.json": ("getOpenApiDocument", "This OpenAPI document.", "application/json",
                      {"type": "object", "description": "An OpenAPI 3.0 document.", "additionalProperties": True}),
    "/docs": ("getDocs", "Interactive API docs.", "text/html", {"type": "string"}),
}


def _document_error_headers(api):
    """flask-smorest's response of each status (a component, written where an operation refers to it), with
    the headers taskapi sends with it: registered again, lazily, under the same name, before any operation."""
    for status in HTTPStatus:
        response = {"description": status.phrase, "headers": with_request_id(ERROR_HEADERS.get(status))}
        if not (100 <= status < 200) and status not in (204, 304):
            response["schema"] = api.ERROR_SCHEMA
        prepare_response(response, api.spec, api.DEFAULT_RESPONSE_CONTENT_TYPE)
        api.spec.components.response(status.name, response, lazy=True)


def _document_service_routes(app, spec):
    """flask-smorest serves these itself and leaves them out; they belong in the document."""
    for rule in app.url_map.iter_rules():
        if rule.rule in SERVICE_ROUTES:
            operation, summary, content_type, schema = SERVICE_ROUTES[rule.rule]
            ok = {"description": "OK", "headers": with_request_id(), "content": {content_type: {"schema": schema}}}
            spec.path(rule=rule, operations={"get": {
                "operationId": operation, "summary": summary, "tags": ["health"], "responses": {"200": ok}}})


def init_app(app, api):
    app.config.update(
        API_TITLE="taskapi",
        API_VERSION=app.config["VERSION"],
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/docs/assets/",
        API_SPEC_OPTIONS={
            "info": {"description": "Tasks (to-dos) with user accounts and JWT authentication."},
            # Relative: the document describes the server that serves it, wherever that is.
            "servers": [{"url": "/"}],
            "components": {"securitySchemes": SECURITY_SCHEMES},
        },
    )
    api.init_app(app, spec_kwargs={"marshmallow_plugin": Plugin(), "extra_plugins": [CommonOperationPlugin()]})
    api.spec.components.parameter(REQUEST_ID_PARAMETER, "header", {"name": "X-Request-ID", **REQUEST_ID_PARAMETER_DOC})
    _document_error_headers(api)
    _document_service_routes(app, api.spec)
    app.register_blueprint(docs_assets)
    app.before_request(check_body)


