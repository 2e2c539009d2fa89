"""Manual order: fractional-indexing keys whose byte order is the order, kept short by respacing a few neighbours."""

import os

from fractional_indexing import generate_key_between, generate_n_keys_between
from sqlalchemy import Integer, String, cast, column, func, literal, select, update, values

from taskapi.extensions import db
from taskapi.tasks.models import POSITION_TYPE, Task
from taskapi.tasks.queries import TASKS, list_tasks_of

# Past this a key is not written: a few neighbours are respaced instead (place).
KEY_MAX = 64
# Respaced keys are at most this long, so a respaced stretch has room for many moves before the next.
SPREAD_MAX = KEY_MAX // 2


def between(before, after):
    """A key between two keys (None: the start or the end), or None when it would be too long."""
    key = generate_key_between(before, after)
    return key if len(key) <= KEY_MAX else None


def spread(count, before, after):
    """`count` keys in ascending order, evenly spread between two keys (None: an end), or None when some
    would pass SPREAD_MAX. Between two ends they are a0, a1, … (what the seed and the v2 migration write)."""
    if before is not None and after is not None and len(os.path.commonprefix([before, after])) >= SPREAD_MAX:
        return None  # every key between them is longer: spare making them
    keys = generate_n_keys_between(before, after, count)
    return keys if before is None and after is None or max(map(len, keys), default=0) <= SPREAD_MAX else None


def evenly(count):
    """`count` short keys in ascending order: a0, a1, …"""
    return spread(count, None, None)


# Rows a renumbering rewrites per statement (SQLite allows 32 766 parameters to one).
REWRITE_BATCH = 1000


def first_position(list_id):
    """The smallest position of the list's live tasks (the trash has no say in the order)."""
    return db.session.execute(list_tasks_of(list_id).with_only_columns(func.min(Task.position))).scalar_one()


def position_taken(list_id, position):
    """Whether a live task of the list has this position."""
    return db.session.execute(select(list_tasks_of(list_id).where(Task.position == position).exists())).scalar()


def next_position(list_id, task, position):
    """The smallest position past `position` (None: the first) among the list's other live tasks."""
    query = list_tasks_of(list_id).where(Task.id != task.id).with_only_columns(func.min(Task.position))
    if position is not None:
        query = query.where(Task.position > position)
    return db.session.execute(query).scalar_one()


def place(list_id, seq, before, after, task=None):
    """A key between the live keys `before` and `after` (None: an end) for `task` (None: a new one).

    Only live tasks have a say: the unique index on positions covers them alone, so a trashed task's key
    may be given again (a restore then looks elsewhere). When the key would pass KEY_MAX, a few neighbours
    are respaced with it (_respace). Runs under the list's lock (next_change): keys it gives are unique.
    """
    return between(before, after) or _respace(list_id, seq, before, after, task)


def _respace(list_id, seq, before, after, task):
    """Respace the k live tasks on each side of the gap between `before` and `after` together with `task`,
    evenly between the keys just outside them; k starts at 1 and doubles until those keys leave room for
    short ones (at worst the whole list). Returns `task`'s key.

    Each task whose position changes gets version + 1 and `seq` (the change feed shows it). The unique index
    is checked row by row, so the rows first step aside onto keys no real position can have ("!" sorts
    before every digit of a key), then take their new ones from a VALUES list: two statements, and
    usually a handful of rows whatever the list's length.
    """
    others = list_tasks_of(list_id).with_only_columns(Task.id, Task.position)
    if task is not None:
        others = others.where(Task.id != task.id)
    k = 1
    while True:
        left = [] if before is None else db.session.execute(
            others.where(Task.position <= before).order_by(Task.position.desc()).limit(k + 1)).all()
        right = [] if after is None else db.session.execute(
            others.where(Task.position >= after).order_by(Task.position).limit(k + 1)).all()
        window = [*left[:k][::-1], None, *right[:k]]  # None: the slot of `task`
        keys = spread(len(window), left[k].position if len(left) > k else None,
                                right[k].position if len(right) > k else None)
        if keys is not None:
            break
        k *= 2
    new = {row.id: key for row, key in zip(window, keys, strict=True) if row is not None and row.position != key}
    stepping_aside = list(new) + ([task.id] if task is not None else [])
    list_rows = update(TASKS).where(list_tasks_of(list_id).whereclause)
    if stepping_aside:
        db.session.execute(list_rows.where(TASKS.c.id.in_(stepping_aside))
                           .values(position=literal("!") + cast(TASKS.c.id, String)))
    rewrites = list(new.items())
    for start in range(0, len(rewrites), REWRITE_BATCH):
        batch = values(column("id", Integer), column("position", POSITION_TYPE), name="new_keys")
        keys_of = batch.data(rewrites[start:start + REWRITE_BATCH]).cte("new_keys")
        db.session.execute(list_rows.add_cte(keys_of).where(TASKS.c.id == keys_of.c.id)
                           .values(position=keys_of.c.position, version=TASKS.c.version + 1, change_seq=seq))
    # What the session holds of these rows is stale now: read them again when next used.
    for task_id in stepping_aside:
        cached = db.session.identity_map.get(db.session.identity_key(Task, task_id))
        if cached is not None:
            db.session.expire(cached)
    return keys[window.index(None)]
