"""Tags: their normal form, and the one writer of a task's tag list and its task_tags rows."""

from sqlalchemy import delete, insert, tuple_

from taskapi.extensions import db
from taskapi.tasks.models import TaskTag

TAG_ROWS = TaskTag.__table__


def normalize(tag):
    """The form a tag is stored, compared and answered in."""
    return tag.strip().lower()


def set_tags(tasks_and_tags):
    """Give each task its tags (normalised, sorted): the `tags` column and the task_tags rows, together.

    Flushes the tasks first, so new ones have their ids; then one DELETE and one INSERT at most,
    however many tasks.
    """
    before = {}
    for task, tags in tasks_and_tags:
        before[id(task)] = set(task.tags or ())
        task.tags = list(tags)
    db.session.flush()
    removed = [(task.id, tag) for task, tags in tasks_and_tags for tag in before[id(task)] - set(tags)]
    added = [{"task_id": task.id, "tag": tag}
             for task, tags in tasks_and_tags for tag in set(tags) - before[id(task)]]
    if removed:
        db.session.execute(delete(TAG_ROWS).where(tuple_(TAG_ROWS.c.task_id, TAG_ROWS.c.tag).in_(removed)))
    if added:
        db.session.execute(insert(TAG_ROWS), added)
