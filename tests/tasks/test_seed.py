"""flask seed: the demo account with about 25 varied tasks, tagged and ordered; it never wipes what is there
unless told (--reset), and refuses production unless forced."""

import re

from sqlalchemy import func, select

from taskapi.auth.models import User
from taskapi.extensions import db
from tests.helpers.api import bearer
from tests.helpers.tasks import TASKS, create, ids, page_of, read, stored_tasks, task_url, tombstones


def seed(cli):
    """Run `flask seed`; returns the printed email and password."""
    match = re.search(r"(\S+@\S+) / (\S+)", cli("seed").output)
    assert match, "seed prints the demo credentials"
    return match.group(1), match.group(2)


def login(client, email, password):
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.get_json()
    return bearer(response.get_json()["access_token"])


def demo_tasks(client, auth):
    page = client.get(TASKS, query_string={"limit": 100}, headers=auth).get_json()
    assert page["total"] == len(page["items"])
    return page["items"]


def test_seed_creates_the_demo_account(client, cli):
    email, password = seed(cli)
    assert email == "demo@example.com"
    me = client.get("/api/v1/auth/me", headers=login(client, email, password)).get_json()
    assert me["email"] == "demo@example.com"


def test_seed_creates_about_25_varied_tasks(client, cli):
    items = demo_tasks(client, login(client, *seed(cli)))
    assert 20 <= len(items) <= 30
    assert {t["status"] for t in items} == {"pending", "in_progress", "completed"}
    assert {t["priority"] for t in items} == {"low", "medium", "high"}
    assert {t["due_at"] is None for t in items} == {True, False}
    assert {t["description"] is None for t in items} == {True, False}


def test_seeded_tasks_keep_the_task_rules(client, cli):
    for task in demo_tasks(client, login(client, *seed(cli))):
        assert (task["status"] == "completed") == (task["completed_at"] is not None)
        assert 1 <= len(task["title"]) <= 200
        assert task["version"] >= 1


def test_seed_twice_leaves_one_account_and_the_same_number_of_tasks(app, client, cli):
    first = len(demo_tasks(client, login(client, *seed(cli))))
    email, password = seed(cli)
    assert len(demo_tasks(client, login(client, email, password))) == first
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == 1


def test_seed_leaves_other_users_alone(client, auth, cli):
    mine = create(client, auth, "My own task")
    seed(cli)
    assert read(client, auth, mine["id"]).get_json() == mine
    assert client.get(TASKS, headers=auth).get_json()["total"] == 1


def test_seeded_tasks_have_tags_and_a_manual_order_of_their_own(client, cli):
    auth = login(client, *seed(cli))
    items = demo_tasks(client, auth)
    assert all(task["tags"] for task in items) and len({tag for task in items for tag in task["tags"]}) > 3
    manual = ids(page_of(client, auth, sort="position", limit=100)["items"])
    assert manual not in (ids(page_of(client, auth, sort="created_at", limit=100)["items"]),
                          ids(page_of(client, auth, sort="-created_at", limit=100)["items"]))
    assert len({task["position"] for task in items}) == len(items)
    assert page_of(client, auth, "/api/v1/tags")["items"]


def test_seed_again_leaves_the_demo_account_as_it_is(app, client, cli):
    auth = login(client, *seed(cli))
    demo = next(task for task in demo_tasks(client, auth) if task["title"] == "Plan sprint")
    mine = create(client, auth, "Added by hand")
    edited = client.patch(task_url(demo["id"]), json={"title": "Edited"}, headers=auth)
    before = stored_tasks(app)
    output = cli("seed").output
    assert "already there" in output and "demo@example.com" in output
    assert stored_tasks(app) == before
    assert read(client, auth, mine["id"]).get_json() == mine
    assert read(client, auth, edited.get_json()["id"]).get_json() == edited.get_json()


def test_seed_keeps_a_changed_password(client, cli):
    email, password = seed(cli)
    auth = login(client, email, password)
    body = {"current_password": password, "new_password": "a new password"}
    assert client.post("/api/v1/auth/password", json=body, headers=auth).status_code == 204
    seed(cli)
    login(client, email, "a new password")


def test_seed_reset_replaces_the_demo_tasks_and_password(app, client, cli):
    email, password = seed(cli)
    auth = login(client, email, password)
    mine = create(client, auth, "Added by hand")
    body = {"current_password": password, "new_password": "a new password"}
    client.post("/api/v1/auth/password", json=body, headers=auth)
    old = set(stored_tasks(app))
    assert "25 tasks" in cli("seed", "--reset").output
    auth = login(client, email, password)
    items = demo_tasks(client, auth)
    assert len(items) == 25 and mine["id"] not in ids(items)
    assert not old & set(stored_tasks(app))
    assert set(tombstones(app)) == old  # a synced copy hears of every task that went


def test_seed_reset_creates_what_is_missing(client, cli):
    result = cli("seed", "--reset")
    assert "demo@example.com" in result.output
    assert len(demo_tasks(client, login(client, *seed(cli)))) == 25


def test_seed_refuses_production_unless_forced(make_app):
    app = make_app(TASKAPI_ENV="production")
    runner = app.test_cli_runner()
    with app.app_context():
        refused = runner.invoke(args=["seed"])
    assert refused.exit_code != 0
    lines = [line for line in refused.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "production" in lines[0] and "--force" in lines[0]
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == 0
        forced = runner.invoke(args=["seed", "--force"])
    assert forced.exit_code == 0, forced.output
    assert "demo@example.com" in forced.output
