"""One HTTP request to a server under test, without wrk: for logins, checks and draining."""

import http.client
import json
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Answer:
    status: int
    headers: dict  # names in lower case
    body: bytes

    def json(self):
        return json.loads(self.body) if self.body else None


def call(url, method, path, headers=None, body=None, timeout=30.0):
    """Send one request to `url` (http://host:port) and read the whole answer."""
    where = urlsplit(url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=timeout)
    headers = dict(headers or {})
    if body is not None:
        body = json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    try:
        connection.request(method, path, body, headers)
        response = connection.getresponse()
        return Answer(response.status, {name.lower(): value for name, value in response.getheaders()}, response.read())
    finally:
        connection.close()


def status_of(url, path, timeout=2.0):
    """The status of one GET, or None while nothing answers."""
    try:
        return call(url, "GET", path, timeout=timeout).status
    except OSError:
        return None


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def login(url, email, password):
    """An access token from taskapi's login."""
    answer = call(url, "POST", "/api/v1/auth/login", body={"email": email, "password": password})
    if answer.status != 200:
        raise RuntimeError(f"login as {email}: {answer.status} {answer.body[:200]!r}")
    return answer.json()["access_token"]


def personal_token(url, token):
    """A personal access token of the signed-in user (`token`: their access token), reading tasks."""
    answer = call(url, "POST", "/api/v1/auth/tokens", bearer(token),
                  {"name": "bench", "scopes": ["tasks:read"], "expires_in_days": 1})
    if answer.status != 201:
        raise SystemExit(f"making a personal token answered {answer.status}: {answer.body[:200]!r}")
    return answer.json()["token"]


def last_page_cursor(url, token, total, limit=20):
    """The list's next_cursor that leads to the last `limit` of `total` tasks (reached once by offset)."""
    answer = call(url, "GET", f"/api/v1/tasks?offset={total - 2 * limit}&limit={limit}", headers=bearer(token))
    cursor = answer.json()["next_cursor"]
    if answer.status != 200 or not cursor:
        raise RuntimeError(f"no cursor to the last page: {answer.status} {answer.body[:200]!r}")
    return cursor


def feed_cursor_before_last(url, token, total, last=100):
    """A change-feed cursor with `last` of the user's `total` changes still to read: a full sync stopped short."""
    since, read = None, 0
    while read < total - last:
        query = f"limit={min(1000, total - last - read)}" + (f"&since={since}" if since else "")
        page = call(url, "GET", f"/api/v1/tasks/changes?{query}", headers=bearer(token)).json()
        since, read = page["cursor"], read + len(page["changes"]) + len(page["deleted"])
    return since
