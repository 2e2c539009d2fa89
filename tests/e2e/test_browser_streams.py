"""Two real browsers (headless Chromium), two members of one shared list, each page with an EventSource:
what one writes shows up in the other within a second, the page reading the change feed only when its
stream says `changed` (no polling). The pages come from another origin, as a frontend's do."""

import json
import time

import pytest
import requests

from tests.e2e.helpers import TIMEOUT, Client
from tests.e2e.test_browser import StaticSite, chromium

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>live updates</title></head>
<body><pre id="outcome">loading</pre>
<script>
const API = %(api)s;
window.arrivals = {};   // task title -> Date.now() when the feed brought it
window.events = [];
window.feedReads = 0;
let cursor = "";
let token = null;

async function readFeed() {
  window.feedReads += 1;
  let more = true;
  while (more) {
    const since = cursor ? "&since=" + encodeURIComponent(cursor) : "";
    const response = await fetch(API + "/api/v1/tasks/changes?limit=500" + since,
                                 {headers: {Authorization: "Bearer " + token}});
    const body = await response.json();
    for (const task of body.changes) {
      if (!(task.title in window.arrivals)) window.arrivals[task.title] = Date.now();
    }
    cursor = body.cursor;
    more = body.has_more;
  }
}

async function watch(accessToken) {
  token = accessToken;
  const answer = await fetch(API + "/api/v1/stream/ticket",
                             {method: "POST", headers: {Authorization: "Bearer " + token}});
  const {ticket} = await answer.json();
  const source = new EventSource(API + "/api/v1/stream?ticket=" + encodeURIComponent(ticket));
  source.addEventListener("open", async () => { await readFeed(); window.ready = true; });
  source.addEventListener("changed", (event) => { window.events.push(JSON.parse(event.data)); readFeed(); });
  source.addEventListener("revoked", () => source.close());
  window.source = source;
}

async function write(listId, title) {
  const at = Date.now();
  const response = await fetch(API + "/api/v1/tasks", {
    method: "POST", body: JSON.stringify({title, list_id: listId}),
    headers: {Authorization: "Bearer " + token, "Content-Type": "application/json"}});
  return {status: response.status, at};
}
document.getElementById("outcome").textContent = "ready";
</script></body></html>
"""


@pytest.fixture
def frontend(tmp_path):
    directory = tmp_path / "frontend"
    directory.mkdir()
    site = StaticSite(directory)
    yield site, directory
    site.close()


@pytest.fixture
def browsers(tmp_path):
    opened = []

    def make(name):
        opened.append(chromium(tmp_path / name))
        return opened[-1]

    yield make
    for driver in opened:
        driver.quit()


def shared_list(server):
    """Ada's list with Ben a member (invited and accepted through the API): (ada, ben, list id)."""
    ada, ben = Client(server), Client(server)
    ada.register()
    ben_pair = ben.register(name="Ben")
    made = ada.post("/api/v1/lists", json={"name": "Shared"})
    assert made.status_code == 201, made.text
    list_id = made.json()["id"]
    invited = ada.post(f"/api/v1/lists/{list_id}/invitations", json={"email": ben_pair["user"]["email"],
                                                                     "role": "editor"})
    assert invited.status_code == 202, invited.text
    invitation = ben.get("/api/v1/invitations").json()["items"][0]
    assert ben.post(f"/api/v1/invitations/{invitation['id']}/accept").status_code == 200
    return ada, ben, list_id


def wait_for(driver, expression, seconds=TIMEOUT):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = driver.execute_script(f"return {expression}")
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"{expression} did not come within {seconds} s")


def test_a_change_in_one_browser_shows_in_the_other_within_a_second(start_server, frontend, browsers):
    site, directory = frontend
    server = start_server(CORS_ORIGINS=site.origin, AUTH_RATE_LIMIT="1000 per minute")
    ada, ben, list_id = shared_list(server)
    (directory / "index.html").write_text(PAGE % {"api": json.dumps(server.url)})
    pages = {}
    for name, client in (("ada", ada), ("ben", ben)):
        driver = browsers(name)
        driver.get(site.origin + "/index.html")
        wait_for(driver, "document.getElementById('outcome').textContent === 'ready'")
        driver.execute_script("watch(arguments[0])", client.token)
        wait_for(driver, "window.ready")
        pages[name] = driver
    for writer, reader in (("ada", "ben"), ("ben", "ada")):
        reads_before = pages[reader].execute_script("return window.feedReads")
        title = f"Written by {writer}"
        written = pages[writer].execute_async_script(
            "write(arguments[0], arguments[1]).then(arguments[2])", list_id, title)
        assert written["status"] == 201, written
        arrived = wait_for(pages[reader], f"window.arrivals[{json.dumps(title)}]", seconds=5)
        assert arrived - written["at"] < 1000, (writer, arrived - written["at"])
        # The reader read its feed because its stream said so, and only then.
        assert pages[reader].execute_script("return window.events").count({"lists": [list_id]}) >= 1
        assert pages[reader].execute_script("return window.feedReads") > reads_before
    requests.get(server.url + "/health/live", timeout=TIMEOUT)
