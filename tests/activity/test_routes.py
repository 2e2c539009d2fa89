"""GET /lists/{id}/activity and /tasks/{id}/activity: members only, newest first, signed keyset cursors."""

import pytest
from sqlalchemy import insert

from taskapi.activity.models import Activity
from taskapi.activity.queries import SALT
from taskapi.extensions import db
from taskapi.models import utcnow
from tests.auth.test_personal_tokens import make_token
from tests.helpers.activity import activity_of, list_activity, list_activity_url, task_activity_url
from tests.helpers.api import assert_error, bearer
from tests.helpers.lists import create_list, inbox_of
from tests.helpers.tasks import create, signed_cursor, task_url


def fill(app, list_id, count, actor_id=None, task_id=None):
    """`count` entries in a list, as recorded (task.updated), oldest first; their ids."""
    with app.app_context():
        rows = db.session.execute(insert(Activity).returning(Activity.id), [
            {"list_id": list_id, "task_id": task_id, "actor_id": actor_id, "action": "task.updated",
             "changes": {"title": [str(n), str(n + 1)]}, "at": utcnow()} for n in range(count)]).scalars().all()
        db.session.commit()
        return sorted(rows)


def test_paging_through_120_entries_by_50_gives_each_once_newest_first(app, client, ada, home):
    before = [item["id"] for item in list_activity(client, ada.auth, home["id"])]
    ids = fill(app, home["id"], 120, actor_id=ada.id)
    pages, cursor = [], None
    while True:
        query = {"limit": 50, **({"cursor": cursor} if cursor else {})}
        body = client.get(list_activity_url(home["id"]), query_string=query, headers=ada.auth).get_json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    got = [item["id"] for page in pages for item in page]
    assert [len(page) for page in pages] == [50, 50, 20 + len(before)]
    assert got == sorted(ids + before, reverse=True)
    assert pages[0][0]["actor"] == {"id": ada.id, "name": "Ada"} and pages[0][0]["changes"] == {"title": ["119", "120"]}


def test_the_default_page_is_20_and_an_exact_last_page_has_no_cursor(app, client, ada, home):
    fill(app, home["id"], 39)  # and Ben's joining: 40
    first = client.get(list_activity_url(home["id"]), headers=ada.auth).get_json()
    assert len(first["items"]) == 20 and first["next_cursor"]
    second = client.get(list_activity_url(home["id"]), query_string={"cursor": first["next_cursor"]},
                        headers=ada.auth).get_json()
    assert len(second["items"]) == 20 and second["next_cursor"] is None


@pytest.mark.parametrize("limit", ["0", "101", "x", "-1"])
def test_a_bad_limit_is_422(client, ada, home, limit):
    response = client.get(list_activity_url(home["id"]), query_string={"limit": limit}, headers=ada.auth)
    assert_error(response, 422, "validation_error")


def test_forged_or_misused_cursors_are_422(app, client, ada, ben, home):
    fill(app, home["id"], 5)
    work = create_list(client, ada.auth, "Work")
    url = list_activity_url(home["id"])
    genuine = client.get(url, query_string={"limit": 2}, headers=ada.auth).get_json()["next_cursor"]
    cursors = [
        "not-a-cursor",
        genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB"),  # the signature broken
        signed_cursor(app, "taskapi.tasks.list-cursor", ada.id, {"of": "list", "key": home["id"], "id": 3}),
        signed_cursor(app, SALT, ada.id, {"of": "list", "key": home["id"], "id": -1}),  # impossible
        signed_cursor(app, SALT, ada.id, {"of": "list", "key": home["id"], "id": "3"}),
        signed_cursor(app, SALT, ada.id, {"of": "list", "key": work["id"], "id": 3}),  # another list's
        signed_cursor(app, SALT, ada.id, {"of": "task", "key": home["id"], "id": 3}),
        signed_cursor(app, SALT, ada.id, {"of": "list", "key": home["id"]}),
        "x" * 2001,
    ]
    for cursor in cursors:
        response = client.get(url, query_string={"cursor": cursor}, headers=ada.auth)
        body = assert_error(response, 422, "validation_error")
        assert "cursor" in str(body["errors"]), cursor
    # Ada's cursor is hers: Ben, a member too, cannot replay it.
    assert_error(client.get(url, query_string={"cursor": genuine}, headers=ben.auth), 422, "validation_error")


def test_a_non_member_gets_the_404_of_a_missing_list_or_task(app, client, ada, cal, home):
    task = create(client, ada.auth, "Private", list_id=home["id"])
    missing_list = assert_error(client.get(list_activity_url(999_999), headers=cal.auth), 404, "not_found")
    not_mine = assert_error(client.get(list_activity_url(home["id"]), headers=cal.auth), 404, "not_found")
    assert missing_list["message"] == not_mine["message"]
    assert_error(client.get(task_activity_url(task["id"]), headers=cal.auth), 404, "not_found")
    assert_error(client.get(task_activity_url(999_999), headers=cal.auth), 404, "not_found")
    assert_error(client.get(task_activity_url(2**40), headers=cal.auth), 404, "not_found")
    assert_error(client.get(list_activity_url(2**40), headers=cal.auth), 404, "not_found")
    assert_error(client.get(list_activity_url(home["id"])), 401, "token_missing")


def test_a_viewer_reads_the_activity(app, client, ada, cal, home):
    from tests.helpers.lists import add_member

    add_member(app, home["id"], cal.id, "viewer")
    task = create(client, ada.auth, "Seen", list_id=home["id"])
    assert list_activity(client, cal.auth, home["id"])[0]["action"] == "task.created"
    assert activity_of(client, cal.auth, task_activity_url(task["id"]))[0]["task_id"] == task["id"]


def test_a_task_in_the_trash_has_its_activity(client, ada, home):
    task = create(client, ada.auth, "Trashed", list_id=home["id"])
    client.delete(task_url(task["id"]), headers=ada.auth)
    assert [item["action"] for item in activity_of(client, ada.auth, task_activity_url(task["id"]))] == [
        "task.trashed", "task.created"]


def test_a_tasks_activity_pages_with_its_own_cursors(app, client, ada, home):
    task = create(client, ada.auth, "Busy", list_id=home["id"])
    fill(app, home["id"], 30, actor_id=ada.id, task_id=task["id"])
    fill(app, home["id"], 10)  # other entries of the list: not the task's
    items = activity_of(client, ada.auth, task_activity_url(task["id"]), limit=7)
    assert len(items) == 31 and all(item["task_id"] == task["id"] for item in items)
    assert [item["id"] for item in items] == sorted((item["id"] for item in items), reverse=True)
    first = client.get(list_activity_url(home["id"]), query_string={"limit": 1}, headers=ada.auth).get_json()
    response = client.get(task_activity_url(task["id"]), query_string={"cursor": first["next_cursor"]},
                          headers=ada.auth)
    assert_error(response, 422, "validation_error")


def test_a_personal_token_needs_tasks_read_and_reaches_only_its_list(app, client, ada, home):
    work = create_list(client, ada.auth, "Work")
    in_work = create(client, ada.auth, "W", list_id=work["id"])
    in_home = create(client, ada.auth, "H", list_id=home["id"])
    inbox = inbox_of(client, ada.auth)
    reader = bearer(make_token(client, ada.auth, scopes=["tasks:read"], list_id=home["id"])["token"])
    assert client.get(list_activity_url(home["id"]), headers=reader).status_code == 200
    assert client.get(task_activity_url(in_home["id"]), headers=reader).status_code == 200
    for url in (list_activity_url(work["id"]), list_activity_url(inbox["id"]), task_activity_url(in_work["id"])):
        assert_error(client.get(url, headers=reader), 404, "not_found")
    writer = bearer(make_token(client, ada.auth, scopes=["tasks:write", "lists:read"])["token"])
    assert_error(client.get(list_activity_url(home["id"]), headers=writer), 403, "forbidden")
    assert_error(client.get(task_activity_url(in_home["id"]), headers=writer), 403, "forbidden")
    everywhere = bearer(make_token(client, ada.auth, scopes=["tasks:read"])["token"])
    assert client.get(list_activity_url(work["id"]), headers=everywhere).status_code == 200
