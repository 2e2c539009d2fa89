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
- Known objects: every other DELETE /sessions/{id} names a second session of the caller, and
  every other password-reset confirm a live reset token (stored in the database as a sent
  message leaves it), so their success answers are validated too.
- Known secrets: random passwords never match, so DELETE /me, POST /password and
  POST /login would only ever answer 401. Every other such call whose generated value is
  a string gets the real secret instead, so their success answers (204, 200) are validated too.
- Known lists: random ids never name a list of the caller's, nor an invitation for them, nor a member
  of theirs. Every `list_id` a body or query carries becomes the caller's inbox (a list drawn at
  random is 422, and a fuzzer that mostly meets 422 reports the schema as wrong); every other call
  naming a list in its path gets a list made for it, with a second member for the member routes and
  a pending invitation for the withdraw route; every other accept or decline gets an invitation for
  the caller made by another account.
- Known webhooks: a generated URL never reaches anything (422), and random ids never name a webhook of the
  caller's nor one of its logged attempts. Every other call of a webhook route (counted apart from the other
  list routes) gets a list of the caller's (one kept per caller while it has room), a webhook made for it
  where its path names one (for a redelivery, with an attempt already logged), and FUZZ_WEBHOOK_URL (a
  receiver of the test's on 127.0.0.1; the server runs with WEBHOOK_ALLOW_HTTP) as any `url` of its body.
- Known tasks: random ids seldom name a task of the caller, and never one in the trash, so
  PUT/PATCH of a task and a task's activity would mostly answer 404; every other such call whose
  generated id is an integer gets a task of the caller's instead, for the same reason. A bulk edit (whose ids must
  all be live tasks of the caller), a restore (of a task in the trash) and a move (after another
  live task) always get one: schemathesis links them to a task just created, and would take a
  404 there (a live task is not in the trash; ids drawn at random) for a created resource not
  found, or the 422 of an `after` drawn at random for a schema that does not match. Each such
  task is made for its call, so the fuzzer's other worker cannot trash or restore it first; a
  generated If-Match (never its ETag) is dropped, and a move puts the task first rather than
  after an id drawn at random.
"""

import hashlib
import itertools
import json
import os
import secrets
import threading
import time
import uuid

import jwt
import psycopg2
import requests
import schemathesis

BASE_URL = os.environ.get("FUZZ_BASE_URL", "")
PASSWORD = os.environ.get("FUZZ_PASSWORD", "")
LOGIN = json.loads(os.environ.get("FUZZ_LOGIN", "{}"))  # an account never used as a bearer
DATABASE_URL = os.environ.get("FUZZ_DATABASE_URL", "")
WEBHOOK_URL = os.environ.get("FUZZ_WEBHOOK_URL", "")
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


TASKS = "/api/v1/tasks"
TASK = TASKS + "/{task_id}"
_task_turn = itertools.count()


def _fresh_task_id(case, trashed=False):
    """A task of the caller's made for this call alone (in the trash if asked): no other call of the
    run, on the other worker, can change it first. None when the caller is not signed in."""
    authorization = (case.headers or {}).get("Authorization")
    if not authorization:
        return None
    headers = {"Authorization": authorization}
    made = requests.post(BASE_URL + TASKS, json={"title": "Made for the fuzzer"}, headers=headers, timeout=30)
    if made.status_code != 201:
        return None
    task_id = made.json()["id"]
    if trashed and requests.delete(f"{BASE_URL}{TASKS}/{task_id}", headers=headers, timeout=30).status_code != 204:
        return None
    return task_id


BULK_EDIT, RESTORE, MOVE = ("PATCH", TASKS), ("POST", TASK + "/restore"), ("POST", TASK + "/move")
EVERY_CALL = {BULK_EDIT, RESTORE, MOVE}
EVERY_OTHER_CALL = {("PUT", TASK), ("PATCH", TASK), ("GET", TASK + "/activity")}


def _an_id(value):
    """A generated integer, or one a link took from a Location header (a string of digits)."""
    return isinstance(value, int) or (isinstance(value, str) and value.isdigit())


def _with_known_task(case, key):
    if key == BULK_EDIT:
        if isinstance(case.body, dict) and isinstance(case.body.get("ids"), list):
            task_id = _fresh_task_id(case)
            if task_id is not None:
                case.body["ids"] = [task_id]
    elif _an_id((case.path_parameters or {}).get("task_id")):
        task_id = _fresh_task_id(case, trashed=key == RESTORE)
        if task_id is None:
            return
        case.path_parameters["task_id"] = task_id
        # Drawn at random, an If-Match never names the new task's ETag, nor `after` another task of its owner.
        if isinstance(case.headers, dict):
            case.headers.pop("If-Match", None)
        if key == MOVE and isinstance(case.body, dict) and _an_id(case.body.get("after")):
            case.body["after"] = None


LISTS = "/api/v1/lists"
LIST = LISTS + "/{list_id}"
MEMBER = LIST + "/members/{user_id}"
LIST_INVITATION = LIST + "/invitations/{invitation_id}"
MY_INVITATION = "/api/v1/invitations/{invitation_id}"
_list_turn = itertools.count()
_inviter = []


def _caller(case):
    return {"Authorization": (case.headers or {}).get("Authorization", "")}


def _get(path, headers):
    response = requests.get(BASE_URL + path, headers=headers, timeout=30)
    return response.json() if response.status_code == 200 else None


def _inbox_id(headers):
    lists = _get(LISTS, headers)
    return lists["items"][0]["id"] if lists and lists["items"] else None


def _fresh_list(headers):
    made = requests.post(BASE_URL + LISTS, json={"name": "Made for the fuzzer"}, headers=headers, timeout=30)
    return made.json()["id"] if made.status_code == 201 else None


def _invite(list_id, email, headers):
    return requests.post(f"{BASE_URL}{LISTS}/{list_id}/invitations", json={"email": email, "role": "editor"},
                         headers=headers, timeout=30).status_code == 202


def _second_member(list_id, headers):
    """A new account invited to the list and accepting: its user id."""
    pair = register()
    other = {"Authorization": f"Bearer {pair['access_token']}"}
    if not _invite(list_id, pair["user"]["email"], headers):
        return None
    waiting = _get("/api/v1/invitations", other)
    if not waiting or not waiting["items"]:
        return None
    accepted = requests.post(f"{BASE_URL}/api/v1/invitations/{waiting['items'][0]['id']}/accept", headers=other,
                             timeout=30)
    return pair["user"]["id"] if accepted.status_code == 200 else None


def _invitation_for_caller(headers):
    """An invitation waiting for the caller, made by an account kept for it: its id."""
    me = _get("/api/v1/auth/me", headers)
    if me is None:
        return None
    if not _inviter:
        pair = register()
        inviter = {"Authorization": f"Bearer {pair['access_token']}"}
        _inviter.append((inviter, _fresh_list(inviter)))
    inviter, list_id = _inviter[0]
    if list_id is None or not _invite(list_id, me["email"], inviter):
        return None
    waiting = _get("/api/v1/invitations", headers)
    return waiting["items"][0]["id"] if waiting and waiting["items"] else None


def _with_known_list_ids(case):
    """Every list_id a body, a bulk edit's changes or a query names becomes the caller's inbox."""
    bodies = [case.body] if isinstance(case.body, dict) else []
    bodies += [body["changes"] for body in bodies if isinstance(body.get("changes"), dict)]
    query = case.query if isinstance(case.query, dict) else {}
    named = [body for body in bodies if _an_id(body.get("list_id"))]
    if not named and not _an_id(query.get("list_id")):
        return
    inbox = _inbox_id(_caller(case))
    if inbox is None:
        return
    for body in named:
        body["list_id"] = inbox
        if "assignee_id" in body:
            body["assignee_id"] = None
    if _an_id(query.get("list_id")):
        query["list_id"] = inbox


def _with_known_list(case, path):
    """A list of the caller's in the path (with a member, or an invitation, where the path names one)."""
    parameters = case.path_parameters or {}
    headers = _caller(case)
    if path in (MY_INVITATION, MY_INVITATION + "/accept"):
        if _an_id(parameters.get("invitation_id")) and (invitation := _invitation_for_caller(headers)):
            parameters["invitation_id"] = invitation
        return
    if not _an_id(parameters.get("list_id")) or (list_id := _fresh_list(headers)) is None:
        return
    parameters["list_id"] = list_id
    if path == MEMBER and _an_id(parameters.get("user_id")):
        member = _second_member(list_id, headers)
        if member is not None:
            parameters["user_id"] = member
    elif (path == LIST_INVITATION and _an_id(parameters.get("invitation_id"))
          and _invite(list_id, f"invited-{uuid.uuid4().hex[:8]}@example.com", headers)):
        pending = _get(f"{LISTS}/{list_id}/invitations", headers)
        if pending and pending["items"]:
            parameters["invitation_id"] = pending["items"][0]["id"]
    if isinstance(case.headers, dict):
        case.headers.pop("If-Match", None)  # drawn at random, never the new list's ETag


SESSION_END = ("DELETE", "/api/v1/auth/sessions/{session_id}")
RESET_CONFIRM = ("POST", "/api/v1/auth/password-reset/confirm")
_session_turn, _reset_turn = itertools.count(), itertools.count()
_reset_account = []


def _another_session_id(case):
    """A second session of the caller's (a login beside the token's), for DELETE /sessions/{id} to end."""
    headers = {"Authorization": (case.headers or {}).get("Authorization", "")}
    me = requests.get(BASE_URL + "/api/v1/auth/me", headers=headers, timeout=30)
    if me.status_code != 200:
        return None
    login = requests.post(BASE_URL + "/api/v1/auth/login", json={"email": me.json()["email"], "password": PASSWORD},
                          timeout=30)
    if login.status_code != 200:
        return None
    sessions = requests.get(BASE_URL + "/api/v1/auth/sessions", headers=headers, timeout=30).json()["items"]
    return next((session["id"] for session in sessions if not session["current"]), None)


def _reset_token():
    """A live reset token of an account kept for it, stored straight in the database as a sent message
    leaves it (only its SHA-256): no mailbox to read it from here."""
    if not DATABASE_URL:
        return None
    if not _reset_account:
        _reset_account.append(register()["user"]["id"])
    token = secrets.token_urlsafe(32)
    connection = psycopg2.connect(DATABASE_URL)
    with connection, connection.cursor() as cursor:
        cursor.execute("INSERT INTO password_resets (user_id, token_hash, created_at, expires_at) "
                       "VALUES (%s, %s, now(), now() + interval '1 hour')",
                       (_reset_account[0], hashlib.sha256(token.encode()).hexdigest()))
    connection.close()
    return token


@schemathesis.hook
def before_call(context, case, kwargs):
    key = (case.operation.method.upper(), case.operation.path)
    _with_known_list_ids(case)
    webhooks = case.operation.path.startswith(LIST + "/webhooks")  # use_a_webhook_of_the_callers' (below)
    if case.operation.path.startswith((LIST, "/api/v1/invitations/")) and not webhooks and next(_list_turn) % 2:
        _with_known_list(case, case.operation.path)
        return
    if key in EVERY_CALL or (key in EVERY_OTHER_CALL and not next(_task_turn) % 2):
        _with_known_task(case, key)
        return
    if key == SESSION_END and _an_id((case.path_parameters or {}).get("session_id")) and next(_session_turn) % 2:
        session_id = _another_session_id(case)
        if session_id is not None:
            case.path_parameters["session_id"] = session_id
        return
    if key == RESET_CONFIRM and isinstance(case.body, dict) and isinstance(case.body.get("token"), str):
        if next(_reset_turn) % 2 and (token := _reset_token()):
            case.body["token"] = token
        return
    known = KNOWN_SECRETS.get(key)
    if known is None or not isinstance(case.body, dict) or next(_turn) % 2:
        return
    for field, value in known().items():
        if isinstance(case.body.get(field), str):
            case.body[field] = value


TOKEN_REVOKE = ("DELETE", "/api/v1/auth/tokens/{token_id}")
_token_turn = itertools.count()


@schemathesis.hook("before_call")
def revoke_a_token_of_the_callers(context, case, kwargs):
    """Every other DELETE /auth/tokens/{id} names a personal token the caller made for that call alone."""
    key = (case.operation.method.upper(), case.operation.path)
    if key != TOKEN_REVOKE or not _an_id((case.path_parameters or {}).get("token_id")) or next(_token_turn) % 2:
        return
    headers = {"Authorization": (case.headers or {}).get("Authorization", "")}
    made = requests.post(BASE_URL + "/api/v1/auth/tokens", headers=headers, timeout=30,
                         json={"name": "Made for the fuzzer", "scopes": ["tasks:read"], "expires_in_days": 1})
    if made.status_code == 201:
        case.path_parameters["token_id"] = made.json()["id"]


STREAM = ("GET", "/api/v1/stream")


def _a_real_ticket(value):
    try:
        return jwt.decode(value, options={"verify_signature": False}).get("aud") == "taskapi:stream"
    except jwt.PyJWTError:
        return False

_stream_turn = itertools.count()
_streamer = []  # an account of its own, signed in afresh for each stream the fuzzer opens


@schemathesis.hook("before_call")
def open_a_stream_that_ends(context, case, kwargs):
    """Three GET /stream calls carry a live ticket, of a session signed out half a second later: the stream
    answers 200, then `event: revoked`, and ends (an open stream would never end for the fuzzer). Each
    takes a second or two, so the others keep the ticket drawn at random (401, 422). A real ticket the
    fuzzer took from POST /stream/ticket itself (its bearer's, whose session lives on) is swapped alike."""
    key = (case.operation.method.upper(), case.operation.path)
    query = case.query if isinstance(case.query, dict) else None
    if key != STREAM or query is None or not isinstance(query.get("ticket"), str):
        return
    turn = next(_stream_turn)
    if (turn % 2 or turn > 4) and not _a_real_ticket(query["ticket"]):
        return
    if not _streamer:
        _streamer.append(register()["user"]["email"])
    signed_in = requests.post(BASE_URL + "/api/v1/auth/login", json={"email": _streamer[0], "password": PASSWORD},
                              timeout=30)
    if signed_in.status_code != 200:
        return
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    ticket = requests.post(BASE_URL + "/api/v1/stream/ticket", headers=headers, timeout=30)
    if ticket.status_code != 200:
        return
    query["ticket"] = ticket.json()["ticket"]
    threading.Timer(0.5, requests.post, args=(BASE_URL + "/api/v1/auth/logout",),
                    kwargs={"headers": headers, "timeout": 30}).start()


WEBHOOKS = LIST + "/webhooks"
WEBHOOK = WEBHOOKS + "/{webhook_id}"
REDELIVER = WEBHOOK + "/deliveries/{delivery_id}/redeliver"
_webhook_turn = itertools.count()


_webhook_lists = {}  # Authorization → a list of the caller's that holds webhooks made for the fuzzer


def _webhook_list_and_id(headers):
    """A new webhook of the caller's, in a list kept for them (a new list once it holds MAX_WEBHOOKS_PER_LIST: the
    caller's lists are few, MAX_LISTS_PER_USER): (list id, webhook id), or None."""
    key = headers["Authorization"]
    for _ in range(2):
        list_id = _webhook_lists.get(key) or _fresh_list(headers)
        if list_id is None:
            return None
        _webhook_lists[key] = list_id
        made = requests.post(f"{BASE_URL}{LISTS}/{list_id}/webhooks", headers=headers, timeout=30,
                             json={"url": WEBHOOK_URL, "events": ["task.*"]})
        if made.status_code == 201:
            return list_id, made.json()["id"]
        _webhook_lists.pop(key)  # full, or gone (the fuzzer deleted it): another
    return None


def _logged_attempt(list_id, webhook_id, headers):
    """A test send to the webhook, once the background thread has logged its attempt: the attempt's id."""
    base = f"{BASE_URL}{LISTS}/{list_id}/webhooks/{webhook_id}"
    if requests.post(base + "/test", headers=headers, timeout=30).status_code != 202:
        return None
    for _ in range(100):  # the worker that took the request sends at once; any other within BACKGROUND_INTERVAL
        logged = _get(f"{LISTS}/{list_id}/webhooks/{webhook_id}/deliveries", headers)
        if logged and logged["items"]:
            return logged["items"][0]["id"]
        time.sleep(0.1)
    return None


@schemathesis.hook("before_call")
def use_a_webhook_of_the_callers(context, case, kwargs):
    """Every other call of a webhook route gets a list of the caller's, a webhook made for it where the path names
    one (an attempt logged where it names one), and the receiver's URL where its body has a url."""
    path = case.operation.path
    if not path.startswith(WEBHOOKS) or not WEBHOOK_URL or next(_webhook_turn) % 2:
        return
    headers = _caller(case)
    parameters = case.path_parameters or {}
    if isinstance(case.body, dict) and "url" in case.body:
        case.body["url"] = WEBHOOK_URL
    if not _an_id(parameters.get("list_id")):
        return
    if not _an_id(parameters.get("webhook_id")):  # the collection: a list of the caller's
        if (list_id := _webhook_lists.get(headers["Authorization"]) or _fresh_list(headers)) is not None:
            parameters["list_id"] = _webhook_lists.setdefault(headers["Authorization"], list_id)
        return
    if (made := _webhook_list_and_id(headers)) is None:
        return
    list_id, webhook_id = made
    parameters.update(list_id=list_id, webhook_id=webhook_id)
    if path == REDELIVER and _an_id(parameters.get("delivery_id")):
        attempt = _logged_attempt(list_id, webhook_id, headers)
        if attempt is not None:
            parameters["delivery_id"] = attempt
