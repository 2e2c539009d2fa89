"""/metrics: series by method, route and status, whose number no client can grow."""

import random
import string

from tests.helpers.api import assert_error


def series(client):
    """The sample lines of /metrics (one per series and bucket)."""
    text = client.get("/metrics").get_data(as_text=True)
    return {line.rsplit(" ", 1)[0] for line in text.splitlines() if line and not line.startswith("#")}


def random_token(rng, low, high):
    return "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.randint(low, high)))


def test_methods_the_service_does_not_route_share_one_label(client):
    rng = random.Random(7)
    response = client.open("/health/live", method="PROPFIND")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]
    before = series(client)
    assert any('method="OTHER"' in line for line in before)
    assert not any("PROPFIND" in line for line in before)
    for _ in range(100):
        assert client.open("/health/live", method=random_token(rng, 3, 20)).status_code == 405
    assert series(client) == before


def test_paths_that_match_no_route_share_one_label(client):
    rng = random.Random(8)
    client.get("/no/such/route")
    before = series(client)
    for _ in range(100):
        assert_error(client.get("/" + random_token(rng, 1, 30).lower()), 404, "not_found")
    assert series(client) == before


def test_routed_methods_keep_their_names(client):
    client.get("/health/live")
    client.delete("/health/live")
    client.options("/health/live")
    labels = "\n".join(series(client))
    for method in ("GET", "DELETE", "OPTIONS"):
        assert f'method="{method}"' in labels
