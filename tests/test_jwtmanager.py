"""The JWT manager decodes each token once per request, and still tells every kind of bad token apart."""

import time

import jwt as pyjwt

from tests.helpers.api import assert_error, bearer
from tests.helpers.auth import claims, me, sign


def test_an_authenticated_request_verifies_its_token_once(client, user, monkeypatch):
    decodes = []
    real = pyjwt.decode

    def counted(*args, **kwargs):
        decodes.append(kwargs.get("options"))
        return real(*args, **kwargs)

    monkeypatch.setattr(pyjwt, "decode", counted)  # every decode, the extension's own too
    assert me(client, user["access_token"]).status_code == 200
    assert len(decodes) == 1 and (decodes[0] or {}).get("verify_signature", True)


def test_an_expired_token_still_reaches_the_expired_answer(app, client, user):
    payload = {**claims(user["access_token"]), "exp": int(time.time()) - 10}
    assert_error(me(client, sign(app, payload)), 401, "token_expired")


def test_bad_claims_signature_and_type_keep_their_codes(app, client, user):
    assert_error(me(client, sign(app, {**claims(user["access_token"]), "jti": ""})), 401, "token_invalid")
    assert_error(me(client, sign(app, claims(user["access_token"]), key="x" * 40)), 401, "token_invalid")
    assert_error(client.get("/api/v1/auth/me", headers=bearer(user["refresh_token"])), 401, "wrong_token_type")
