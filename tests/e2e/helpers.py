"""What the end-to-end tests share: a client that checks X-Request-ID, the envelope, the database."""

import uuid

import psycopg2
import requests

TIMEOUT = 10  # seconds, for every request: no test waits on a stuck server forever
PASSWORD = "correct horse battery staple"
AUTH = "/api/v1/auth"
TASKS = "/api/v1/tasks"
USER_KEYS = {"id", "email", "name", "role", "created_at"}
PAIR_KEYS = {"access_token", "refresh_token", "token_type", "expires_in", "user"}
TASK_KEYS = {"id", "title", "description", "status", "priority", "due_at", "completed_at", "created_at",
             "updated_at", "version", "tags", "position", "list_id", "assignee_id", "created_by"}
ENVELOPE_KEYS = {"status", "code", "message", "request_id"}


def unique_email(prefix="user"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


class Client:
    """HTTP against one server; every request carries its own X-Request-ID and must get it back."""

    def __init__(self, server, token=None):
        self.url = server.url if hasattr(server, "url") else server
        self.token = token
        self.sent_request_ids = []

    def request(self, method, path, *, token=None, headers=None, request_id=None, **kwargs):
        request_id = request_id or f"e2e-{uuid.uuid4().hex}"
        headers = {"X-Request-ID": request_id, **(headers or {})}
        token = token or self.token
        if token:
            headers.setdefault("Authorization", f"Bearer {token}")
        kwargs.setdefault("timeout", TIMEOUT)
        kwargs.setdefault("allow_redirects", False)
        response = requests.request(method, self.url + path, headers=headers, **kwargs)
        assert response.headers.get("X-Request-ID") == request_id, (method, path, dict(response.headers))
        self.sent_request_ids.append(request_id)
        return response

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.request("PATCH", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def register(self, email=None, password=PASSWORD, name="Ada"):
        """Register a new account; returns the token pair (and uses its access token from now on)."""
        response = self.post(AUTH + "/register", json={"email": email or unique_email(), "password": password,
                                                       "name": name})
        assert response.status_code == 201, response.text
        pair = response.json()
        assert_pair(pair)
        self.token = pair["access_token"]
        return pair

    def create_task(self, expected=201, **fields):
        response = self.post(TASKS, json=fields)
        assert response.status_code == expected, response.text
        return response.json()


def assert_pair(pair):
    assert set(pair) == PAIR_KEYS, pair
    assert pair["token_type"] == "Bearer"
    assert isinstance(pair["expires_in"], int) and pair["expires_in"] > 0
    assert set(pair["user"]) == USER_KEYS, pair["user"]
    assert pair["access_token"] != pair["refresh_token"]


def assert_error(response, status, code):
    """The contract's envelope, exactly, for one error answer."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    body = response.json()
    expected_keys = ENVELOPE_KEYS | ({"errors"} if status == 422 else set())
    assert set(body) == expected_keys, body
    assert body["status"] == status, body
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"].strip(), body
    assert body["request_id"] == response.headers["X-Request-ID"], body
    return body


def query(database, sql, params=()):
    """Rows of one SQL statement run straight on the test's database (not through the service)."""
    connection = psycopg2.connect(database.url, connect_timeout=5)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


def task_rows(database, user_id):
    """The rows of the tasks of the lists the user owns (their inbox: the only list these tests use)."""
    return query(database, "SELECT t.id, t.title, t.description, t.status, t.priority, t.due_at, t.completed_at, "
                           "t.created_at, t.updated_at, t.version FROM tasks t JOIN lists l ON l.id = t.list_id "
                           "WHERE l.owner_id = %s ORDER BY t.id", (user_id,))
