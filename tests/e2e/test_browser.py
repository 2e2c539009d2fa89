"""A real browser (headless Chromium) uses the API from another origin, as a frontend does.

A page served by a second HTTP server (another port of 127.0.0.1, so another origin) runs a
journey with fetch(): register, create a task, read ETag, Location and X-Request-ID from the
answer (they are exposed), PATCH with If-Match, and so on; every request carries the headers
the contract lets through the CORS preflight. A page from an origin not in CORS_ORIGINS gets
nothing: its fetch() fails. Chromium and its driver come from Debian's packages (see .ci/run).
"""

import functools
import json
import shutil
import threading
import uuid
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
INSTALL_HINT = "apt-get update && apt-get install -y chromium chromium-driver"
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_SECONDS = 30

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>taskapi from another origin</title></head>
<body><pre id="outcome">running</pre>
<script>
const API = %(api)s;
const SCRIPT = %(script)s;

let during = "loading";

async function call(method, path, {token, body, headers = {}} = {}) {
  during = method + " " + path;
  const init = {method, headers: {...headers}};
  if (token) init.headers["Authorization"] = "Bearer " + token;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(API + path, init);
  const text = await response.text();
  return {
    status: response.status,
    etag: response.headers.get("ETag"),
    location: response.headers.get("Location"),
    requestId: response.headers.get("X-Request-ID"),
    body: text ? JSON.parse(text) : null,
  };
}

const scripts = {
  async journey() {
    const email = "browser-" + Date.now() + "@example.com";
    const register = await call("POST", "/api/v1/auth/register", {
      body: {email, password: "browser-password-1", name: "Browser"},
      headers: {"X-Request-ID": "browser-register"},
    });
    const token = register.body.access_token;
    const create = await call("POST", "/api/v1/tasks", {
      token, body: {title: "Written in a browser", priority: "high"},
      headers: {"Idempotency-Key": "browser-key-1", "X-Request-ID": "browser-create"},
    });
    const replay = await call("POST", "/api/v1/tasks", {
      token, body: {title: "Written in a browser", priority: "high"},
      headers: {"Idempotency-Key": "browser-key-1"},
    });
    const patch = await call("PATCH", create.location, {
      token, body: {title: "Renamed in a browser"},
      headers: {"If-Match": create.etag, "X-Request-ID": "browser-patch"},
    });
    const stale = await call("PATCH", create.location, {
      token, body: {title: "Lost update"}, headers: {"If-Match": create.etag},
    });
    const cached = await call("GET", create.location, {token, headers: {"If-None-Match": patch.etag}});
    const list = await call("GET", "/api/v1/tasks?status=pending&sort=-created_at", {token});
    return {email, token, register, create, replay, patch, stale, cached, list};
  },
  async refused() {
    const outcome = {};
    const attempts = {
      register: () => fetch(API + "/api/v1/auth/register", {
        method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({email: %(refused_email)s, password: "browser-password-1"}),
      }),
      health: () => fetch(API + "/health"),
    };
    for (const [name, attempt] of Object.entries(attempts)) {
      try {
        const response = await attempt();
        outcome[name] = {status: response.status};
      } catch (error) {
        outcome[name] = {error: error.name, message: error.message};
      }
    }
    return outcome;
  },
};

function finish(value) {
  document.getElementById("outcome").textContent = JSON.stringify(value);
  window.taskapiResult = value;
}
scripts[SCRIPT]().then(finish, (error) => finish({failed: String(error), during}));
</script></body></html>
"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class StaticSite:
    """Files of a directory over HTTP on a free port of 127.0.0.1: one origin."""

    def __init__(self, directory):
        handler = functools.partial(QuietHandler, directory=str(directory))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def site(tmp_path):
    """site(name) → a StaticSite of its own directory (another origin each)."""
    sites = []

    def make(name):
        directory = tmp_path / name
        directory.mkdir()
        sites.append(StaticSite(directory))
        return sites[-1], directory

    yield make
    for each in sites:
        each.close()


def chromium(profile):
    """A headless Chromium session with its own profile directory (skips the test when it is not installed)."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip(f"{CHROMIUM} or {CHROMEDRIVER} missing; install Debian's packages: {INSTALL_HINT}")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # with the driver's path given too, Selenium Manager never runs
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    driver.set_script_timeout(WAIT_SECONDS)
    return driver


@pytest.fixture
def browser(tmp_path):
    driver = chromium(tmp_path / "chromium-profile")
    yield driver
    driver.quit()
    shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


def run_page(driver, site, directory, script, api, **values):
    """Load a page of `site` running `script` against `api`; return what it left in window.taskapiResult."""
    fields = {"api": json.dumps(api), "script": json.dumps(script), "refused_email": json.dumps("")}
    fields.update({key: json.dumps(value) for key, value in values.items()})
    (directory / "index.html").write_text(PAGE % fields)
    driver.get(site.origin + "/index.html")
    result = WebDriverWait(driver, WAIT_SECONDS).until(lambda d: d.execute_script("return window.taskapiResult"))
    assert json.loads(driver.find_element("id", "outcome").text) == result
    return result


def test_a_page_of_an_allowed_origin_does_the_whole_journey(start_server, site, browser):
    frontend, directory = site("frontend")
    server = start_server(CORS_ORIGINS=frontend.origin)

    result = run_page(browser, frontend, directory, "journey", server.url)
    assert "failed" not in result, result

    register, create, replay, patch = result["register"], result["create"], result["replay"], result["patch"]
    assert register["status"] == 201 and register["requestId"] == "browser-register"
    assert register["body"]["user"]["email"] == result["email"]

    task_id = create["body"]["id"]
    assert create["status"] == 201, create
    # Exposed headers: without Access-Control-Expose-Headers the page would read null here.
    assert create["etag"] == f'"{task_id}.1"'
    assert create["location"] == f"/api/v1/tasks/{task_id}"
    assert create["requestId"] == "browser-create"
    assert replay["status"] == 201 and replay["body"] == create["body"]  # Idempotency-Key went through

    assert patch["status"] == 200, patch
    assert patch["body"]["title"] == "Renamed in a browser" and patch["body"]["version"] == 2
    assert patch["etag"] == f'"{task_id}.2"' and patch["requestId"] == "browser-patch"
    # The ETag read earlier is stale now: If-Match reached the service and protected the task.
    assert result["stale"]["status"] == 412 and result["stale"]["body"]["code"] == "precondition_failed"
    assert result["stale"]["requestId"] == result["stale"]["body"]["request_id"]
    assert result["cached"]["status"] == 304 and result["cached"]["etag"] == patch["etag"]
    assert [item["title"] for item in result["list"]["body"]["items"]] == ["Renamed in a browser"]

    # What the browser did is what the service holds.
    answer = requests.get(server.url + create["location"], timeout=10,
                          headers={"Authorization": f"Bearer {result['token']}"})
    assert answer.status_code == 200 and answer.json()["title"] == "Renamed in a browser"
    assert answer.json()["version"] == 2


def test_a_page_of_another_origin_gets_nothing(start_server, site, browser):
    frontend, _ = site("frontend")
    stranger, directory = site("stranger")
    server = start_server(CORS_ORIGINS=frontend.origin)
    email = f"refused-{uuid.uuid4().hex[:8]}@example.com"

    result = run_page(browser, stranger, directory, "refused", server.url, refused_email=email)

    failed_to_fetch = {"error": "TypeError", "message": "Failed to fetch"}
    assert result == {"register": failed_to_fetch, "health": failed_to_fetch}
    # The preflight was refused, so the POST itself never reached the service.
    response = requests.post(server.url + "/api/v1/auth/register", timeout=10,
                             json={"email": email, "password": "browser-password-1"})
    assert response.status_code == 201, response.text
