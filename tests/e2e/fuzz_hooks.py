"""Schemathesis hooks for test_openapi_fuzz: live credentials for a fuzzer that keeps destroying them.

Loaded by `schemathesis run` through SCHEMATHESIS_HOOKS (the test sets the FUZZ_* variables).

- Bearer auth: the fuzzer calls every operation, including those that end a session for good
  (logout, password change, DELETE /me, refresh rotation); a fixed header would make every
  later call a 401 that tests nothing else. So each case carries a live token: the pair the
  test registered first (FUZZ_TOKEN_PAIR); after a 401 on a case carrying our token,
  schemathesis invalidates it and replays the case with a new user's pair from `get`.
  Cases whose credentials schemathesis removes or corrupts on purpose keep them that way.
- Admins: every bearer user is made an admin straight in the database (FUZZ_DATABASE_URL), as
  `flask users set-role` would, so the admin routes answer more than 403.
- Known secrets: random passwords never match, so DELETE /me, POST /password and
  POST /login would only ever answer 401. Every other such call whose generated value is
  a string gets the real secret instead, so their success answers (204, 200) are validated too.
"""

import itertools
import json
import os
import uuid

import psycopg2
import requests
import schemathesis

BASE_URL = os.environ.get("FUZZ_BASE_URL", "")
PASSWORD = os.environ.get("FUZZ_PASSWORD", "")
LOGIN = json.loads(os.environ.get("FUZZ_LOGIN", "{}"))  # an account never used as a bearer
DATABASE_URL = os.environ.get("FUZZ_DATABASE_URL", "")
REFRESH_PATH = "/api/v1/auth/refresh"
_first_pair = json.loads(os.environ.get("FUZZ_TOKEN_PAIR", "null"))
_turn = itertools.count()


def register():
    """A new user's token pair, with the shared password."""
    body = {"email": f"fuzz-{uuid.uuid4().hex}@example.com", "password": PASSWORD, "name": "Fuzz"}
    response = requests.post(BASE_URL + "/api/v1/auth/register", json=body, timeout=30)
    response.raise_for_status()
    pair = response.json()
    make_admin(pair["user"]["id"])
    return pair


def make_admin(user_id):
    if DATABASE_URL:
        connection = psycopg2.connect(DATABASE_URL)
        with connection, connection.cursor() as cursor:
            cursor.execute("UPDATE users SET role = 'admin' WHERE id = %s", (user_id,))
        connection.close()


@schemathesis.auth(refresh_interval=3600, retry_on=[401])
class BearerPair:
    def get(self, case, context):
        global _first_pair
        pair, _first_pair = _first_pair, None
        if pair is not None:
            make_admin(pair["user"]["id"])
        return pair or register()

    def set(self, case, data, context):
        # /refresh takes the refresh token; every other route the access token.
        kind = "refresh_token" if context.operation.path == REFRESH_PATH else "access_token"
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data[kind]}"


KNOWN_SECRETS = {
    ("DELETE", "/api/v1/auth/me"): lambda: {"password": PASSWORD},
    ("POST", "/api/v1/auth/password"): lambda: {"current_password": PASSWORD},
    ("POST", "/api/v1/auth/login"): lambda: LOGIN,
}


@schemathesis.hook
def before_call(context, case, kwargs):
    secrets = KNOWN_SECRETS.get((case.operation.method.upper(), case.operation.path))
    if secrets is None or not isinstance(case.body, dict) or next(_turn) % 2:
        return
    for field, value in secrets().items():
        if isinstance(case.body.get(field), str):
            case.body[field] = value
