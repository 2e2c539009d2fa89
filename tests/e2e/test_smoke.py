"""The Procfile's release and web serve /health, and print only JSON."""

import requests


def test_release_then_web_serves_health_and_logs_json(server):
    response = requests.get(server.url + "/health", timeout=5)
    assert response.status_code == 200 and response.json()["checks"] == {"database": "ok"}
    server.stop()
    assert server.lines, "the processes printed nothing"
    assert server.non_json_lines() == []
