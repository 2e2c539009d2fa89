"""flask seed: the demo account with about 25 varied tasks, its printed password working; safe to run again."""

import re

from sqlalchemy import func, select

from taskapi.auth.models import User
from taskapi.extensions import db
from tests.conftest import bearer
from tests.tasks.conftest import TASKS, create, read


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
