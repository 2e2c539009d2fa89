"""The private library members taskapi relies on, each where no public hook does the job.

tests/test_compat.py checks them against the versions they were read in (flask-jwt-extended 4.7,
Flask-Limiter 4.1, flask-smorest 0.47): a release that renames one or changes its signature fails there first.

`JWTManager._decode_jwt_from_config` (flask-jwt-extended): the extension decodes every token twice,
first unverified only to hand its claims to the `decode_key_loader` callback, then verified; two parses
(PyJWT checks every character of each segment) for one token, the largest cost of authenticating a
request. Every public callback (`decode_key_loader`, `token_in_blocklist_loader`, ...) runs after the
first decode, so none can skip it; taskapi's key is fixed, and one verified decode serves.

`Limiter._check_request_limit` (Flask-Limiter): `init_app` installs it as a before_request hook that
looks for default, application and blueprint limits on every request. taskapi has none: each of its
limits is a route decorator, checked in the decorator's own wrapper. No constructor argument or setting
leaves the hook out (a `request_filter` runs inside it, after its lookups, and would exempt the
decorated limits too), so `drop_limiter_hook` takes it off the app.

`g._jwt_extended_jwt_user`, `g._jwt_extended_jwt`, `g._jwt_extended_jwt_header` (flask-jwt-extended): where
`verify_jwt_in_request` leaves the user and claims that `current_user` and `get_jwt()` read. A personal
access token is no JWT, yet the views it reaches read `current_user` as for any request: `set_current_user`
leaves them there the same way.

`flask_smorest.spec.HAS_PYYAML` (flask-smorest): the spec module imports PyYAML when it can (18 modules,
~0.8 MiB a worker), for one thing only, its `flask openapi write --format yaml` command, which a web
process never runs: `leave_out_yaml` makes that import fail there, as if PyYAML were not installed.
/openapi.json is built without it either way (tests/test_memory.py compares the two documents).
"""

import sys

import jwt
from flask import g
from flask_jwt_extended import JWTManager as _JWTManager
from flask_jwt_extended.config import config
from jwt.exceptions import ExpiredSignatureError
from jwt.types import Options


class JWTManager(_JWTManager):
    """flask-jwt-extended's JWTManager decoding each token once, verified; its claims, as sent, then go
    to the checker registered with `claims_checker` (which raises to refuse them)."""

    def __init__(self, app=None, add_context_processor=False):
        self._claims_checker = None
        super().__init__(app, add_context_processor)

    def claims_checker(self, callback):
        """Register `callback(claims)`, run on every verified token's claims before anything reads them."""
        self._claims_checker = callback
        return callback

    def _decode_jwt_from_config(self, encoded_token, csrf_value=None, allow_expired=False):
        if csrf_value:  # tokens in cookies, which taskapi does not use: the extension's own way
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        audience = config.decode_audience
        options: Options = {"verify_aud": audience is not None, "verify_sub": config.verify_sub}
        if allow_expired:
            options["verify_exp"] = False
        try:
            claims = jwt.decode(encoded_token, config.decode_key, algorithms=config.decode_algorithms,
                                audience=audience, issuer=config.decode_issuer, leeway=config.leeway, options=options)
        except ExpiredSignatureError as expired:
            # The extension's expired-token callback is given the token's header and claims.
            expired.jwt_header = jwt.get_unverified_header(encoded_token)  # type: ignore[attr-defined]
            expired.jwt_data = self._decode_jwt_from_config(encoded_token, allow_expired=True)  # type: ignore[attr-defined]
            raise
        if self._claims_checker is not None:
            self._claims_checker(claims)
        claims.setdefault("fresh", False)
        return claims


def drop_limiter_hook(app, limiter):
    """Take the limiter's before_request hook off `app` (see the module's docstring).

    In-process, the limiter's layer fell from 301 to 58 µs a request (docs/performance.md)."""
    app.before_request_funcs[None].remove(limiter._check_request_limit)


def set_current_user(user, claims):
    """Make `current_user` and `get_jwt()` answer `user` and `claims` in this request (see the module's docstring)."""
    g._jwt_extended_jwt_user = {"loaded_user": user}
    g._jwt_extended_jwt_header = {}
    g._jwt_extended_jwt = claims
    g._jwt_extended_jwt_location = "headers"


def leave_out_yaml():
    """In this process, flask-smorest finds no PyYAML (see the module's docstring): a None in sys.modules makes
    its `import yaml` raise ImportError. Before flask-smorest is imported; nothing once PyYAML is loaded."""
    sys.modules.setdefault("yaml", None)  # type: ignore[arg-type]
