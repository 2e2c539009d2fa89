"""/api/v1/lists: make, list, read, rename and delete lists; the inbox; the limit; a non-member's 404."""

import pytest
from sqlalchemy import func, select, update

from taskapi.exceptions import NotAllowedError
from taskapi.extensions import db
from taskapi.lists import commands
from taskapi.lists.models import Membership, TaskList
from tests.helpers.api import assert_error
from tests.helpers.lists import (
    ALL_PERMISSIONS,
    LIST_FIELDS,
    LISTS,
    add_member,
    create_list,
    get_list,
    inbox_of,
    list_url,
    lists_of,
    member_url,
    person,
    stored_lists,
    stored_state,
)
from tests.helpers.tasks import (
    CHANGES,
    TASKS,
    TRASH,
    create,
    page_of,
    stored_tasks,
    task_url,
    trash,
    without_request_id,
)

MISSING = 999_999


# Making a list


def test_create_answers_201_with_location_etag_and_the_caller_as_owner(client, ada):
    response = client.post(LISTS, json={"name": "Home"}, headers=ada.auth)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == LIST_FIELDS
    assert (body["name"], body["inbox"], body["role"]) == ("Home", False, "owner")
    assert body["permissions"] == ALL_PERMISSIONS
    assert (body["member_count"], body["task_count"], body["version"]) == (1, 0, 1)
    assert response.headers["Location"].endswith(list_url(body["id"]))
    assert response.headers["ETag"] == f'"{body["id"]}.{body["version"]}"'
    read = client.get(response.headers["Location"], headers=ada.auth)
    assert read.get_json() == body and read.headers["ETag"] == response.headers["ETag"]


def test_the_maker_is_stored_as_owner(app, client, ada, home):
    with app.app_context():
        task_list = db.session.get(TaskList, home["id"])
        role = db.session.execute(select(Membership.role).where(
            Membership.list_id == home["id"], Membership.user_id == ada.id)).scalar_one()
    assert (task_list.owner_id, task_list.inbox, str(role)) == (ada.id, False, "owner")


@pytest.mark.parametrize(("sent", "kept"), [("  Home \t", "Home"), ("x" * 100, "x" * 100),
                                            ("  " + "y" * 100 + "\n", "y" * 100), ("é", "é")])
def test_the_name_is_trimmed_then_1_to_100_characters(client, ada, sent, kept):
    assert create_list(client, ada.auth, sent)["name"] == kept


@pytest.mark.parametrize("name", ["", "   ", "\t\n", "x" * 101, " " + "x" * 101, None, 5, ["Home"]])
def test_a_bad_name_is_422_and_nothing_is_stored(app, client, ada, name):
    before = stored_state(app)
    body = assert_error(client.post(LISTS, json={"name": name}, headers=ada.auth), 422, "validation_error")
    assert set(body["errors"]["json"]) == {"name"}
    assert stored_state(app) == before


def test_a_missing_name_is_422(app, client, ada):
    before = stored_state(app)
    body = assert_error(client.post(LISTS, json={}, headers=ada.auth), 422, "validation_error")
    assert set(body["errors"]["json"]) == {"name"}
    assert stored_state(app) == before


def test_making_a_list_needs_a_token(app, client):
    assert_error(client.post(LISTS, json={"name": "Home"}), 401, "token_missing")
    assert stored_lists(app) == {}


# Every user's inbox


def test_every_user_has_exactly_one_inbox_right_after_register(app, client):
    people = [person(client, name) for name in ("Ada", "Ben", "Cal")]
    with app.app_context():
        for someone in people:
            owned = db.session.execute(select(TaskList).where(TaskList.owner_id == someone.id)).scalars().all()
            assert [(t.inbox, t.name) for t in owned] == [(True, "Inbox")]
            members = db.session.execute(select(Membership.user_id, Membership.role)
                                         .where(Membership.list_id == owned[0].id)).all()
            assert [(user_id, str(role)) for user_id, role in members] == [(someone.id, "owner")]
    for someone in people:
        page = lists_of(client, someone.auth)
        assert page["total"] == 1
        inbox = page["items"][0]
        assert (inbox["inbox"], inbox["name"], inbox["role"], inbox["member_count"], inbox["task_count"]) == (
            True, "Inbox", "owner", 1, 0)


def test_tasks_go_to_the_inbox_by_default(client, ada):
    task = create(client, ada.auth, "Milk")
    inbox = inbox_of(client, ada.auth)
    assert task["list_id"] == inbox["id"] and inbox["task_count"] == 1


def test_the_inbox_cannot_be_deleted(app, client, ada):
    inbox = inbox_of(client, ada.auth)
    create(client, ada.auth, "Milk")
    before = stored_state(app)
    body = assert_error(client.delete(list_url(inbox["id"]), headers=ada.auth), 422, "validation_error")
    assert set(body["errors"]["path"]) == {"list_id"}
    assert stored_state(app) == before


def test_the_inbox_cannot_be_handed_over(app, client, ada):
    inbox = inbox_of(client, ada.auth)
    before = stored_state(app)
    response = client.patch(member_url(inbox["id"], ada.id), json={"role": "owner"}, headers=ada.auth)
    body = assert_error(response, 422, "validation_error")
    assert set(body["errors"]["json"]) == {"role"}
    assert stored_state(app) == before


def test_nobody_joins_an_inbox(app, client, ada, ben):
    inbox = inbox_of(client, ada.auth)
    before = stored_state(app)
    with pytest.raises(NotAllowedError):
        add_member(app, inbox["id"], ben.id, "viewer")
    assert stored_state(app) == before


def test_the_inbox_is_never_seen_by_anyone_else(client, ada, ben):
    inbox = inbox_of(client, ada.auth)
    task = create(client, ada.auth, "Milk")
    assert [item["id"] for item in lists_of(client, ben.auth)["items"]] == [inbox_of(client, ben.auth)["id"]]
    missing = client.get(list_url(MISSING), headers=ben.auth)
    for response in (client.get(list_url(inbox["id"]), headers=ben.auth),
                     client.get(list_url(inbox["id"], "/members"), headers=ben.auth)):
        assert without_request_id(assert_error(response, 404, "not_found")) == without_request_id(missing.get_json())
    assert_error(client.get(task_url(task["id"]), headers=ben.auth), 404, "not_found")
    assert page_of(client, ben.auth, list_id=inbox["id"])["items"] == []
    refused = client.post(TASKS, json={"title": "Mine", "list_id": inbox["id"]}, headers=ben.auth)
    assert set(assert_error(refused, 422, "validation_error")["errors"]["json"]) == {"list_id"}


# The caller's lists


def test_the_list_of_lists_has_the_inbox_first_then_by_creation(app, client):
    ben = person(client, "Ben")
    shared = create_list(client, ben.auth, "Ben's, made before Ada came")
    ada = person(client, "Ada")
    add_member(app, shared["id"], ada.id, "editor")
    mine = [create_list(client, ada.auth, name) for name in ("Zebra", "Apple", "Mango")]
    page = lists_of(client, ada.auth)
    assert set(page) == {"items", "total", "limit", "offset"}
    assert (page["total"], page["limit"], page["offset"]) == (5, 20, 0)
    inbox = page["items"][0]
    assert inbox["inbox"] is True
    assert [item["id"] for item in page["items"][1:]] == [shared["id"]] + [item["id"] for item in mine]
    assert page["items"][1]["role"] == "editor" and page["items"][1]["member_count"] == 2
    assert all(set(item) == LIST_FIELDS for item in page["items"])
    assert [item["role"] for item in page["items"]] == ["owner", "editor", "owner", "owner", "owner"]


def test_the_list_of_lists_pages_by_limit_and_offset(client, ada):
    made = [create_list(client, ada.auth, f"List {n}")["id"] for n in range(3)]
    inbox = inbox_of(client, ada.auth)["id"]
    pages = [lists_of(client, ada.auth, limit=2, offset=offset) for offset in (0, 2, 4)]
    assert [[item["id"] for item in page["items"]] for page in pages] == [[inbox, made[0]], made[1:], []]
    assert [(page["total"], page["limit"], page["offset"]) for page in pages] == [(4, 2, 0), (4, 2, 2), (4, 2, 4)]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "x"}])
def test_bad_paging_is_422(client, ada, params):
    body = assert_error(client.get(LISTS, query_string=params, headers=ada.auth), 422, "validation_error")
    assert set(body["errors"]["query"]) == set(params)


def test_the_list_of_lists_shows_only_the_callers(client, ada, ben, home):
    assert [item["name"] for item in lists_of(client, ben.auth)["items"]] == ["Inbox"]


def test_task_count_counts_live_tasks(client, ada, home):
    tasks = [create(client, ada.auth, f"Task {n}", list_id=home["id"]) for n in range(3)]
    trash(client, ada.auth, tasks[0]["id"])
    create(client, ada.auth, "In the inbox")
    assert get_list(client, ada.auth, home["id"])["task_count"] == 2


# One list


def test_get_one_answers_the_list_with_its_etag(client, ada, home):
    response = client.get(list_url(home["id"]), headers=ada.auth)
    assert response.status_code == 200
    assert response.get_json() == home
    assert response.headers["ETag"] == f'"{home["id"]}.1"'


def test_if_none_match_with_the_current_etag_is_304(client, ada, home):
    etag = client.get(list_url(home["id"]), headers=ada.auth).headers["ETag"]
    response = client.get(list_url(home["id"]), headers={**ada.auth, "If-None-Match": etag})
    assert response.status_code == 304
    assert response.get_data() == b"" and response.headers["ETag"] == etag
    weak = client.get(list_url(home["id"]), headers={**ada.auth, "If-None-Match": f"W/{etag}"})
    assert weak.status_code == 304


def test_if_none_match_with_an_old_etag_answers_the_list(client, ada, home):
    old = client.get(list_url(home["id"]), headers=ada.auth).headers["ETag"]
    create(client, ada.auth, "A task changes the list's answer", list_id=home["id"])
    response = client.get(list_url(home["id"]), headers={**ada.auth, "If-None-Match": old})
    assert response.status_code == 200
    assert response.get_json()["task_count"] == 1 and response.headers["ETag"] != old


@pytest.mark.parametrize("list_id", [0, MISSING, 2**31, 2**63])
def test_a_missing_list_is_404(client, ada, list_id):
    assert_error(client.get(list_url(list_id), headers=ada.auth), 404, "not_found")


# Renaming


def test_rename_answers_the_list_with_a_new_version_and_etag(client, ada, home):
    response = client.patch(list_url(home["id"]), json={"name": "  House "}, headers=ada.auth)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["name"], body["version"]) == ("House", home["version"] + 1)
    assert response.headers["ETag"] == f'"{home["id"]}.{body["version"]}"'
    assert get_list(client, ada.auth, home["id"]) == body


def test_rename_with_the_current_etag(client, ada, home):
    etag = client.get(list_url(home["id"]), headers=ada.auth).headers["ETag"]
    response = client.patch(list_url(home["id"]), json={"name": "House"}, headers={**ada.auth, "If-Match": etag})
    assert response.status_code == 200 and response.get_json()["name"] == "House"


def test_rename_with_a_stale_etag_is_412_and_changes_nothing(app, client, ada, home):
    etag = client.get(list_url(home["id"]), headers=ada.auth).headers["ETag"]
    assert client.patch(list_url(home["id"]), json={"name": "House"}, headers=ada.auth).status_code == 200
    before = stored_state(app)
    response = client.patch(list_url(home["id"]), json={"name": "Flat"}, headers={**ada.auth, "If-Match": etag})
    assert_error(response, 412, "precondition_failed")
    assert stored_state(app) == before
    assert get_list(client, ada.auth, home["id"])["name"] == "House"


def test_a_task_change_makes_a_held_etag_stale(app, client, ada, home):
    etag = client.get(list_url(home["id"]), headers=ada.auth).headers["ETag"]
    create(client, ada.auth, "Milk", list_id=home["id"])
    before = stored_state(app)
    response = client.patch(list_url(home["id"]), json={"name": "Flat"}, headers={**ada.auth, "If-Match": etag})
    assert_error(response, 412, "precondition_failed")
    assert stored_state(app) == before


@pytest.mark.parametrize("name", ["", "  ", "x" * 101, None])
def test_rename_to_a_bad_name_is_422_and_changes_nothing(app, client, ada, home, name):
    before = stored_state(app)
    body = assert_error(client.patch(list_url(home["id"]), json={"name": name}, headers=ada.auth), 422,
                        "validation_error")
    assert set(body["errors"]["json"]) == {"name"}
    assert stored_state(app) == before


def test_the_inbox_can_be_renamed(client, ada):
    inbox = inbox_of(client, ada.auth)
    response = client.patch(list_url(inbox["id"]), json={"name": "Mine"}, headers=ada.auth)
    assert response.status_code == 200 and response.get_json()["inbox"] is True


# Deleting


def test_delete_removes_the_list_and_its_tasks_for_good(app, client, ada, ben, home):
    add_member(app, home["id"], ben.id, "editor")
    tasks = [create(client, ada.auth, f"Task {n}", list_id=home["id"], tags=["x"]) for n in range(3)]
    trash(client, ada.auth, tasks[0]["id"])
    kept = create(client, ada.auth, "In the inbox")
    response = client.delete(list_url(home["id"]), headers=ada.auth)
    assert response.status_code == 204 and response.get_data() == b""
    assert list(stored_tasks(app)) == [kept["id"]]
    assert home["id"] not in stored_lists(app)
    assert not any(list_id == home["id"] for list_id, _ in stored_state(app)["members"])
    for someone in (ada, ben):
        assert_error(client.get(list_url(home["id"]), headers=someone.auth), 404, "not_found")
        assert [item["inbox"] for item in lists_of(client, someone.auth)["items"]] == [True]
        assert page_of(client, someone.auth, TRASH)["total"] == 0
        for task in tasks:
            assert_error(client.get(task_url(task["id"]), headers=someone.auth), 404, "not_found")
    assert page_of(client, ada.auth)["total"] == 1


def test_delete_with_a_stale_etag_is_412_and_deletes_nothing(app, client, ada, home):
    etag = client.get(list_url(home["id"]), headers=ada.auth).headers["ETag"]
    create(client, ada.auth, "Milk", list_id=home["id"])
    before = stored_state(app)
    assert_error(client.delete(list_url(home["id"]), headers={**ada.auth, "If-Match": etag}), 412,
                 "precondition_failed")
    assert stored_state(app) == before
    current = client.get(list_url(home["id"]), headers=ada.auth).headers["ETag"]
    assert client.delete(list_url(home["id"]), headers={**ada.auth, "If-Match": current}).status_code == 204


def test_a_deleted_list_is_404_as_one_never_made(client, ada, home):
    client.delete(list_url(home["id"]), headers=ada.auth)
    missing = client.get(list_url(MISSING), headers=ada.auth).get_json()
    again = assert_error(client.delete(list_url(home["id"]), headers=ada.auth), 404, "not_found")
    assert without_request_id(again) == without_request_id(missing)


# The limit


def test_max_lists_per_user_is_409_conflict_beyond_and_stores_nothing(make_app):
    app = make_app(MAX_LISTS_PER_USER=2)
    client = app.test_client()
    ada = person(client, "Ada")
    made = [create_list(client, ada.auth, name) for name in ("One", "Two")]
    before = stored_state(app)
    assert_error(client.post(LISTS, json={"name": "Three"}, headers=ada.auth), 409, "conflict")
    assert stored_state(app) == before
    assert lists_of(client, ada.auth)["total"] == 3  # the inbox is not counted
    client.delete(list_url(made[0]["id"]), headers=ada.auth)
    assert create_list(client, ada.auth, "Three")["name"] == "Three"


def test_lists_shared_with_the_caller_do_not_count_towards_their_limit(make_app):
    app = make_app(MAX_LISTS_PER_USER=1)
    client = app.test_client()
    ada, ben = person(client, "Ada"), person(client, "Ben")
    add_member(app, create_list(client, ben.auth, "Ben's")["id"], ada.id, "admin")
    create_list(client, ada.auth, "Ada's")
    assert_error(client.post(LISTS, json={"name": "Another"}, headers=ada.auth), 409, "conflict")
    with app.app_context():
        owned = db.session.execute(select(func.count()).where(TaskList.owner_id == ada.id)).scalar_one()
    assert owned == 2  # the inbox and one list


# A non-member


def _non_member_requests(list_id, ben_id):
    return [
        ("get", list_url(list_id), None),
        ("patch", list_url(list_id), {"name": "Mine"}),
        ("delete", list_url(list_id), None),
        ("get", list_url(list_id, "/members"), None),
        ("patch", member_url(list_id, ben_id), {"role": "viewer"}),
        ("delete", member_url(list_id, ben_id), None),
    ]


def test_a_non_member_gets_404_exactly_as_for_a_missing_list(app, client, ada, ben, home):
    create(client, ada.auth, "Milk", list_id=home["id"])
    before = stored_state(app)
    for method, url, body in _non_member_requests(home["id"], ada.id):
        seen = getattr(client, method)(url, json=body, headers=ben.auth)
        missing_url = url.replace(f"/{home['id']}", f"/{MISSING}", 1)
        missing = getattr(client, method)(missing_url, json=body, headers=ben.auth)
        assert_error(seen, 404, "not_found")
        assert without_request_id(seen.get_json()) == without_request_id(missing.get_json()), url
        assert seen.headers.get("ETag") is None
    assert stored_state(app) == before


def test_a_former_member_gets_404(app, client, ada, ben, home):
    add_member(app, home["id"], ben.id, "admin")
    assert get_list(client, ben.auth, home["id"])["role"] == "admin"
    assert client.delete(member_url(home["id"], ben.id), headers=ada.auth).status_code == 204
    assert_error(client.get(list_url(home["id"]), headers=ben.auth), 404, "not_found")
    assert [item["id"] for item in lists_of(client, ben.auth)["items"]] == [inbox_of(client, ben.auth)["id"]]


# A change by someone else between the service's first look at the list and its lock


@pytest.fixture
def changed_before_the_lock(app, monkeypatch):
    """Each list write sees the list change (another request's commit) right before it takes the list's lock."""
    take_lock = commands.next_change

    def another_change_then_lock(list_id, *args, **kwargs):
        with db.engine.begin() as connection:  # its own transaction, as another request's
            connection.execute(update(TaskList).where(TaskList.id == list_id).values(version=TaskList.version + 1))
        return take_lock(list_id, *args, **kwargs)

    monkeypatch.setattr(commands, "next_change", another_change_then_lock)


def test_a_rename_without_if_match_is_unconditional_whatever_changed_meanwhile(client, ada, home,
                                                                               changed_before_the_lock):
    response = client.patch(list_url(home["id"]), json={"name": "House"}, headers=ada.auth)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["name"] == "House"


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_an_if_match_gone_stale_meanwhile_is_412_and_changes_nothing(app, client, ada, home, method,
                                                                     changed_before_the_lock):
    etag = client.get(list_url(home["id"]), headers=ada.auth).headers["ETag"]
    before = stored_state(app)
    response = getattr(client, method)(list_url(home["id"]), json={"name": "House"} if method == "patch" else None,
                                       headers={**ada.auth, "If-Match": etag})
    assert_error(response, 412, "precondition_failed")
    after = stored_state(app)
    assert after["lists"][home["id"]]["version"] == before["lists"][home["id"]]["version"] + 1  # the other change
    after["lists"][home["id"]]["version"] -= 1
    assert after == before


def test_a_deleted_list_is_reported_in_each_former_members_feed(app, client, ada, ben, home):
    add_member(app, home["id"], ben.id, "viewer")
    tasks = [create(client, ada.auth, f"Task {n}", list_id=home["id"]) for n in range(2)]
    trash(client, ada.auth, tasks[1]["id"])
    cursors = {}
    for someone in (ada, ben):
        full = page_of(client, someone.auth, CHANGES)
        assert home["id"] in [item["id"] for item in full["lists"]]
        cursors[someone.id] = full["cursor"]
    client.delete(list_url(home["id"]), headers=ada.auth)
    for someone in (ada, ben):
        feed = page_of(client, someone.auth, CHANGES, since=cursors[someone.id])
        assert feed["deleted_lists"] == [home["id"]]
        assert sorted(feed["deleted"]) == sorted(task["id"] for task in tasks)
        assert feed["changes"] == [] and feed["lists"] == []
