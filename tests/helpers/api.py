"""Requests every area makes: register through the API, bearer headers, the contract's error envelope."""

PASSWORD = "correct horse battery"


def register(client, email="ada@example.com", password=PASSWORD, name="Ada"):
    """Register through the API; returns the token pair."""
    response = client.post("/api/v1/auth/register", json={"email": email, "password": password, "name": name})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def assert_error(response, status, code, **fields):
    """The contract's envelope, exactly."""
    body = response.get_json()
    assert response.status_code == status, body
    assert body["status"] == status
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    expected_keys = {"status", "code", "message", "request_id"} | ({"errors"} if status == 422 else set())
    assert set(body) == expected_keys, body
    for key, value in fields.items():
        assert body[key] == value, body
    return body
