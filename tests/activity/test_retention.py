"""Entries older than ACTIVITY_RETENTION_DAYS are deleted by the `activity` maintenance job, in batches."""

from datetime import timedelta

from sqlalchemy import insert, select

from taskapi import maintenance
from taskapi.activity import retention
from taskapi.activity.models import Activity
from taskapi.extensions import db
from taskapi.models import utcnow


def add_entries(app, list_id, ages_in_days):
    with app.app_context():
        now = utcnow()
        db.session.execute(insert(Activity), [
            {"list_id": list_id, "task_id": None, "actor_id": None, "action": "list.updated",
             "changes": {"name": ["a", str(age)]}, "at": now - timedelta(days=age)} for age in ages_in_days])
        db.session.commit()


def kept_ages(app, list_id):
    with app.app_context():
        rows = db.session.execute(select(Activity.changes).where(Activity.list_id == list_id)).scalars()
        return sorted(int(changes["name"][1]) for changes in rows if changes.get("name", [None])[0] == "a")


def test_the_job_drops_entries_past_the_retention_in_bounded_batches(app, client, ada, home):
    add_entries(app, home["id"], [0, 1, 89, 91, 92, 100, 365, 1000])
    with app.app_context():
        assert retention.prune(batch=2) == 5
        assert retention.prune(batch=2) == 0
    assert kept_ages(app, home["id"]) == [0, 1, 89]
    # The list's own recorded entries are recent: they stay.
    assert client.get(f"/api/v1/lists/{home['id']}/activity", headers=ada.auth).get_json()["items"]


def test_it_is_a_maintenance_job_with_the_configured_days(make_app, ada):
    app = make_app(ACTIVITY_RETENTION_DAYS=10)
    from tests.helpers.lists import inbox_of

    with app.test_client() as client:
        inbox = inbox_of(client, ada.auth)
    add_entries(app, inbox["id"], [5, 11, 50])
    assert "activity" in maintenance.JOBS
    with app.app_context():
        [(name, said)] = maintenance.run_now(["activity"])
    assert (name, said) == ("activity", "2 activity entr(y/ies) past ACTIVITY_RETENTION_DAYS dropped")
    assert kept_ages(app, inbox["id"]) == [5]
