"""Tags: 0–20 per task, trimmed, lowercased, merged and sorted; the tag filter; GET /api/v1/tags."""

import pytest

from tests.helpers.api import assert_error
from tests.helpers.tasks import (
    TAGS,
    TASKS,
    create,
    ids,
    page_of,
    read,
    stored_tasks,
    tag_rows,
    task_count,
    task_url,
    trash,
)


def test_a_new_task_has_no_tags(app, client, auth, task):
    assert task["tags"] == []
    assert tag_rows(app) == []


def test_tags_are_trimmed_lowercased_merged_and_sorted(app, client, auth, user):
    task = create(client, auth, tags=["  Work ", "home", "WORK", "Ünïcode", "home "])
    assert task["tags"] == ["home", "work", "ünïcode"]
    assert read(client, auth, task["id"]).get_json()["tags"] == ["home", "work", "ünïcode"]
    assert tag_rows(app, task["id"]) == [(task["id"], "home"), (task["id"], "work"), (task["id"], "ünïcode")]


def test_twenty_tags_of_forty_characters_are_accepted(client, auth):
    tags = [f"{n:02d}" + "x" * 38 for n in range(20)]
    assert create(client, auth, tags=tags)["tags"] == tags


def test_twenty_given_with_duplicates_are_merged(client, auth):
    tags = [f"tag{n}" for n in range(18)]
    assert create(client, auth, tags=tags + ["TAG0", " tag1 "])["tags"] == sorted(tags)


@pytest.mark.parametrize("method", ["patch", "put"])
def test_patch_and_put_replace_the_whole_list(app, client, auth, method):
    task = create(client, auth, tags=["work", "home"])
    response = getattr(client, method)(task_url(task["id"]), json={"tags": ["Errands", "work"]}, headers=auth)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["tags"], body["version"]) == (["errands", "work"], 2)
    assert [row[1] for row in tag_rows(app, task["id"])] == ["errands", "work"]


def test_an_empty_list_removes_every_tag(app, client, auth):
    task = create(client, auth, tags=["work"])
    assert client.patch(task_url(task["id"]), json={"tags": []}, headers=auth).get_json()["tags"] == []
    assert tag_rows(app, task["id"]) == []


def test_the_same_tags_again_change_nothing(app, client, auth):
    task = create(client, auth, tags=["home", "work"])
    body = client.patch(task_url(task["id"]), json={"tags": ["WORK", "home"]}, headers=auth).get_json()
    assert body == task


def test_a_write_without_tags_keeps_them(client, auth):
    task = create(client, auth, tags=["work"])
    assert client.patch(task_url(task["id"]), json={"title": "Other"}, headers=auth).get_json()["tags"] == ["work"]


BAD_TAGS = [
    "work",
    None,
    [7],
    [None],
    [["work"]],
    [""],
    ["   "],
    ["x" * 41],
    ["  " + "x" * 41 + "  "],
    ["a\x00b"],
    [f"tag{n}" for n in range(21)],
    [f"tag{n}" for n in range(20)] + ["TAG0"],  # 21 given, even if 20 once merged
]


@pytest.mark.parametrize("tags", BAD_TAGS)
def test_bad_tags_on_create_are_422_and_nothing_is_stored(app, client, auth, tags):
    body = assert_error(client.post(TASKS, json={"title": "x", "tags": tags}, headers=auth), 422, "validation_error")
    assert set(body["errors"]["json"]) == {"tags"}
    assert task_count(app) == 0
    assert tag_rows(app) == []


@pytest.mark.parametrize("tags", BAD_TAGS)
def test_bad_tags_on_patch_are_422_and_nothing_changes(app, client, auth, tags):
    task = create(client, auth, tags=["work"])
    before, rows = stored_tasks(app), tag_rows(app)
    response = client.patch(task_url(task["id"]), json={"tags": tags}, headers=auth)
    assert set(assert_error(response, 422, "validation_error")["errors"]["json"]) == {"tags"}
    assert (stored_tasks(app), tag_rows(app)) == (before, rows)


@pytest.fixture
def tagged(client, auth):
    """Tasks with tags, by name."""
    return {
        "report": create(client, auth, "Write report", tags=["work", "urgent"]),
        "slides": create(client, auth, "Slides", tags=["work"]),
        "garden": create(client, auth, "Garden", tags=["home"]),
        "bills": create(client, auth, "Pay bills", tags=["home", "urgent", "money"]),
        "plain": create(client, auth, "Plain"),
    }


def _listed(client, auth, **params):
    return sorted(ids(page_of(client, auth, limit=100, **params)["items"]))


def _ids_of(tagged, *names):
    return sorted(tagged[name]["id"] for name in names)


def test_tag_filter_keeps_tasks_with_that_tag(client, auth, tagged):
    assert _listed(client, auth, tag="work") == _ids_of(tagged, "report", "slides")
    assert page_of(client, auth, tag="work")["total"] == 2


def test_repeated_tag_filter_needs_every_tag(client, auth, tagged):
    assert _listed(client, auth, tag=["urgent", "home"]) == _ids_of(tagged, "bills")
    assert _listed(client, auth, tag=["urgent", "work"]) == _ids_of(tagged, "report")
    assert _listed(client, auth, tag=["work", "home"]) == []


def test_tag_filter_is_trimmed_and_case_insensitive(client, auth, tagged):
    assert _listed(client, auth, tag=" URGENT ") == _ids_of(tagged, "report", "bills")


def test_tag_filter_combines_with_the_others(client, auth, tagged):
    assert _listed(client, auth, tag="urgent", q="bills") == _ids_of(tagged, "bills")


def test_an_unknown_tag_matches_nothing(client, auth, tagged):
    assert page_of(client, auth, tag="nope")["total"] == 0


def test_tag_filter_never_reaches_other_users_tasks(client, auth, other, tagged):
    create(client, other, "Bob's", tags=["work"])
    assert _listed(client, auth, tag="work") == _ids_of(tagged, "report", "slides")


@pytest.mark.parametrize("value", ["", "   ", "x" * 41, [f"t{n}" for n in range(21)]])
def test_bad_tag_filter_is_422(client, auth, value):
    body = assert_error(client.get(TASKS, query_string={"tag": value}, headers=auth), 422, "validation_error")
    assert set(body["errors"]["query"]) == {"tag"}


def test_tags_lists_live_tasks_tags_with_counts_by_name(client, auth, tagged):
    assert page_of(client, auth, TAGS) == {"items": [
        {"name": "home", "count": 2}, {"name": "money", "count": 1}, {"name": "urgent", "count": 2},
        {"name": "work", "count": 2},
    ]}


def test_tags_of_trashed_tasks_are_not_counted(client, auth, tagged):
    trash(client, auth, tagged["bills"]["id"])
    assert page_of(client, auth, TAGS)["items"] == [
        {"name": "home", "count": 1}, {"name": "urgent", "count": 1}, {"name": "work", "count": 2},
    ]
    assert _listed(client, auth, tag="home") == _ids_of(tagged, "garden")


def test_tags_are_each_users_own(client, auth, other, tagged):
    create(client, other, "Bob's", tags=["work", "bob"])
    assert page_of(client, other, TAGS) == {"items": [{"name": "bob", "count": 1}, {"name": "work", "count": 1}]}


def test_tags_of_a_user_without_tasks(client, auth):
    assert page_of(client, auth, TAGS) == {"items": []}


def test_tags_need_an_access_token(client):
    assert_error(client.get(TAGS), 401, "token_missing")


def test_tags_answer_with_a_trailing_slash(client, auth, tagged):
    assert page_of(client, auth, TAGS + "/") == page_of(client, auth, TAGS)
