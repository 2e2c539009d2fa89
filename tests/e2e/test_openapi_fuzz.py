"""Schemathesis fuzzes every operation of the live /openapi.json: the service answers only as documented.

`schemathesis run` (CLI, in a subprocess) takes the document the running service serves and drives
every operation through its coverage, fuzzing and stateful phases, with a registered user's bearer
token (tests/e2e/fuzz_hooks.py keeps one live when the fuzzer logs out or deletes its user).
Its verdict is its exit code. Its JSON report and the service's own request log then prove the run
was real: every operation tested, and answered at least one request with success; no failure,
error or warning (a run that only ever got 401 warns); no error logged by the service.
Any failure names the seed (TASKAPI_FUZZ_SEED) and a curl command that reproduces it.
"""

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import requests

from tests.e2e.conftest import ROOT
from tests.smtp import INVITATION_URL, RESET_URL, SENDER, SMTPServer
from tests.webhook_receiver import Receiver

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
# What the document promises: no 5xx, only documented statuses, content types, headers and bodies.
CONFORMANCE_CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]
# Sound for this API too. Left out: positive_data_acceptance, which expects every schema-valid
# request to succeed; a JSON schema cannot say "a refresh token of this user" or "the current ETag",
# so it would flag the contract's own 422 and 412. And object_level_authorization, which needs
# identities configured (one user's tasks are 404 to another: tests/tasks/test_isolation.py).
BEHAVIOUR_CHECKS = [
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "ignored_auth",
    "use_after_free",
    "ensure_resource_availability",
]
MAX_EXAMPLES = 25  # per operation and phase: about a minute on 2 cores
SEED = os.environ.get("TASKAPI_FUZZ_SEED", "20261122")
PASSWORD = "fuzz-password-1"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Any warning fails the run: one that only ever got 401, say, cannot pass as green.
CONFIG = """\
[warnings]
fail-on = true
"""


def _register(server, email, password):
    body = {"email": email, "password": password, "name": "Fuzz"}
    response = requests.post(server.url + "/api/v1/auth/register", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def _served(document, log):
    """The operations of `document` that the request lines of `log` show answering 2xx or 304."""
    routes = [
        (method.upper(), re.compile("^" + re.sub(r"\{[^}/]+\}", "[^/]+", path.rstrip("/")) + "/?$"), path)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    ]
    served = set()
    for entry in log:
        if "status" in entry and (200 <= entry["status"] < 300 or entry["status"] == 304):
            served.update(f"{method} {path}" for method, pattern, path in routes
                          if method == entry["method"] and pattern.match(entry["path"]))
    return served


def test_every_operation_answers_as_documented(start_server, database, tmp_path):
    smtp = SMTPServer().start()  # so the password-reset routes answer as configured, not 503
    server = start_server(AUTH_RATE_LIMIT="100000 per minute", LOGIN_FAILURE_LIMIT=100000, MAIL_SERVER="127.0.0.1",
                          MAIL_PORT=smtp.port, MAIL_DEFAULT_SENDER=SENDER, PASSWORD_RESET_URL=RESET_URL,
                          INVITATION_URL=INVITATION_URL, WEBHOOK_ALLOW_HTTP="true",
                          # The hooks make a fresh list for every other list operation: hundreds in a run.
                          MAX_LISTS_PER_USER=100000)
    receiver = Receiver().start()  # where the hooks' webhooks point: their deliveries succeed
    answer = requests.get(server.url + "/openapi.json", timeout=10)
    assert answer.status_code == 200, answer.text
    document = answer.json()
    operations = {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }
    assert len(operations) >= 20, sorted(operations)

    bearer = _register(server, f"fuzz-{uuid.uuid4().hex[:8]}@example.com", PASSWORD)
    login = {"email": f"login-{uuid.uuid4().hex[:8]}@example.com", "password": "login-password-1"}
    _register(server, **login)
    assert requests.get(server.url + "/api/v1/auth/me", timeout=10,
                        headers={"Authorization": f"Bearer {bearer['access_token']}"}).status_code == 200

    # Loaded by URL, schemathesis would leave out the operation serving the document itself.
    schema = tmp_path / "openapi.json"
    schema.write_bytes(answer.content)
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    report = tmp_path / "report.json"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SCHEMATHESIS_HOOKS": "tests.e2e.fuzz_hooks",
        "FUZZ_BASE_URL": server.url,
        "FUZZ_TOKEN_PAIR": json.dumps(bearer),
        "FUZZ_PASSWORD": PASSWORD,
        "FUZZ_LOGIN": json.dumps(login),
        "FUZZ_DATABASE_URL": database.url,
        "FUZZ_WEBHOOK_URL": receiver.url(),
    }
    command = [
        SCHEMATHESIS, "--config-file", str(config), "--no-color", "run", str(schema), "--url", server.url,
        "--checks", ",".join(CONFORMANCE_CHECKS + BEHAVIOUR_CHECKS),
        "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", SEED,
        # One worker: hypothesis parses lambdas' source to describe them, and CPython 3.11 before 3.11.8
        # can fail doing that in two threads at once ("AST constructor recursion depth mismatch").
        "--workers", "1",
        "--request-timeout", "15",
        "--generation-database", "none",
        "--report", "json", "--report-json-path", str(report),
    ]
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    server.stop()
    smtp.stop()
    receiver.stop()
    assert server.non_json_lines() == []
    log = [json.loads(line) for line in server.lines]
    errors = [entry for entry in log if entry.get("level") in ("ERROR", "CRITICAL")]
    output = run.stdout + run.stderr + "\nserver errors:\n" + "\n".join(map(json.dumps, errors))
    assert run.returncode == 0, output

    result = json.loads(report.read_text())
    assert result["complete"] and result["exit_code"] == 0, output
    assert result["failures"] == [] and result["errors"] == [], output
    assert {name: labels for name, labels in result["warnings"].items() if labels} == {}, output
    assert result["operations"]["tested"] == result["operations"]["total"] == len(operations), output
    # The service's own request log: every operation succeeded at least once, not only refused.
    assert operations - _served(document, log) == set(), output
    assert errors == [], output
