"""The webhook routes by role: the list's admins and owner manage its webhooks (list.update), every other member
gets 403 with nothing changed, and a non-member is told nothing (404, as for a list that does not exist)."""

from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from taskapi.extensions import db
from taskapi.models import utcnow
from taskapi.webhooks.models import WebhookDelivery
from tests.helpers.api import assert_error
from tests.helpers.lists import ROLES, as_role, create_list, person
from tests.helpers.webhooks import PUBLIC_URL, create_webhook, put_event, stored_webhooks, webhooks_url

MANAGE = {"admin", "owner"}


@pytest.fixture
def world(app, client):
    """Ada's list Home with a webhook (never delivered: its URL is public) and one logged attempt."""
    ada, actor = person(client, "Ada"), person(client, "Actor")
    home = create_list(client, ada.auth, "Home")
    hook = create_webhook(client, ada.auth, home["id"], PUBLIC_URL)
    (event_id,) = put_event(app, home["id"])
    with app.app_context():
        logged = WebhookDelivery(webhook_id=hook["id"], event_id=event_id, event="task.created", attempt=1,
                                 status_code=500, error="answered 500", duration_ms=3, at=utcnow())
        db.session.add(logged)
        db.session.commit()
        logged_id = logged.id
    return SimpleNamespace(ada=ada, actor=actor, home=home, hook=hook, delivery_id=logged_id)



@dataclass(frozen=True)
class Operation:
    name: str
    request: object  # (client, auth, world) -> response
    success: int = 200
    writes: bool = True

    def __str__(self):
        return self.name


def _hook(w, suffix=""):
    return webhooks_url(w.home["id"], f"/{w.hook['id']}{suffix}")


OPERATIONS = [
    Operation("register", lambda c, a, w: c.post(webhooks_url(w.home["id"]), json={"url": PUBLIC_URL,
                                                                                  "events": ["task.*"]}, headers=a),
              success=201),
    Operation("list", lambda c, a, w: c.get(webhooks_url(w.home["id"]), headers=a), writes=False),
    Operation("change", lambda c, a, w: c.patch(_hook(w), json={"events": ["task.created"]}, headers=a)),
    Operation("delete", lambda c, a, w: c.delete(_hook(w), headers=a), success=204),
    Operation("rotate the secret", lambda c, a, w: c.post(_hook(w, "/rotate-secret"), headers=a)),
    Operation("send a test", lambda c, a, w: c.post(_hook(w, "/test"), headers=a), success=202),
    Operation("read the deliveries", lambda c, a, w: c.get(_hook(w, "/deliveries"), headers=a), writes=False),
    Operation("redeliver", lambda c, a, w: c.post(_hook(w, f"/deliveries/{w.delivery_id}/redeliver"), headers=a),
              success=202),
]


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
@pytest.mark.parametrize("role", ROLES)
def test_admins_and_the_owner_manage_webhooks_and_no_one_else(app, client, world, role, operation):
    auth = as_role(app, world, role)
    before = stored_webhooks(app)
    response = operation.request(client, auth, world)
    if role in MANAGE:
        assert response.status_code == operation.success, (role, operation.name, response.get_json())
        assert (stored_webhooks(app) != before) == operation.writes
    else:
        assert_error(response, 403, "forbidden")
        assert stored_webhooks(app) == before


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_a_non_member_is_told_nothing(app, client, world, operation):
    auth = as_role(app, world, None)
    before = stored_webhooks(app)
    assert_error(operation.request(client, auth, world), 404, "not_found")
    assert stored_webhooks(app) == before


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_a_member_demoted_is_judged_by_the_new_role(app, client, world, operation):
    auth = as_role(app, world, "admin")
    client.patch(f"/api/v1/lists/{world.home['id']}/members/{world.actor.id}", json={"role": "editor"},
                 headers=world.ada.auth)
    before = stored_webhooks(app)
    assert_error(operation.request(client, auth, world), 403, "forbidden")
    assert stored_webhooks(app) == before
