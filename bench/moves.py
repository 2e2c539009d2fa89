"""The cost of a move for a user with many tasks: a usual one, and the one that renumbers (PostgreSQL).

One user with --tasks tasks in their inbox (positions a0, a1, … as a renumbering writes them; --trashed of them
in the trash) on a fresh database of the machine's PostgreSQL, through Flask's test client (production settings
otherwise). A usual move puts a random task after another random one: the median of --repeat. The worst move: two
tasks moved in turn right after a third (the penetration test's pattern) until a move rewrites other tasks than
its own (a key would pass 64 characters); that move is timed, and how many rows it rewrote counted, in each
of --rounds rounds (a new anchor each), and the median taken. Last, the worst case there is, set up by hand
in each round: every live key long on one shared prefix, the gap in the middle, so the move renumbers
the whole list.

    .venv/bin/python -m bench.moves [--tasks 10000] [--trashed 1000] [--repeat 200] [--rounds 5]
                                    [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import database  # noqa: E402

# The user's tasks go into their inbox, which takes their change sequence and count, as after as many creates.
INBOX_SQL = "SELECT id FROM lists WHERE owner_id = :user AND inbox"
SEED_SQL = """
INSERT INTO tasks (list_id, created_by, title, status, priority, created_at, updated_at, version, tags, position,
                   change_seq, deleted_at)
SELECT :list, :user, 'Task ' || n, 'pending', 'medium', now(), now(), 1, '[]', keys.position, n,
       CASE WHEN n % :every = 0 THEN now() END
FROM unnest(CAST(:positions AS text[])) WITH ORDINALITY AS keys(position, n);
UPDATE lists SET task_seq = :tasks WHERE id = :list;
"""
COUNT_SQL = "UPDATE lists SET task_count = (SELECT count(*) FROM tasks WHERE list_id = :list) WHERE id = :list"
# The worst case there is: every live key made 48 characters long on one shared prefix (a respaced stretch
# has no short key to lean on), the anchor and the task after it with no key between them within 64.
EVERY_KEY_LONG_SQL = """
UPDATE tasks SET position = '!' || id WHERE list_id = :list AND deleted_at IS NULL;
UPDATE tasks SET position = 'a0' || repeat('1', 40) || lpad(ranks.r::text, 5, '0') || 'V'
FROM (SELECT id, row_number() OVER (ORDER BY id) AS r FROM tasks WHERE list_id = :list AND deleted_at IS NULL)
     AS ranks
WHERE tasks.id = ranks.id;
UPDATE tasks SET position = CASE WHEN id = :anchor THEN :prefix || repeat('1', 16)
                                 ELSE :prefix || repeat('1', 15) || '2' END
WHERE id IN (:anchor, :next);
"""
# The tasks that took the move's change: the task moved and any the move rewrote.
REWRITTEN_SQL = """
SELECT count(*) FROM tasks WHERE list_id = :list AND change_seq = (SELECT change_seq FROM tasks WHERE id = :id)
"""


def timed_move(client, headers, task_id, after_id):
    started = time.perf_counter()
    response = client.post(f"/api/v1/tasks/{task_id}/move", json={"after": after_id}, headers=headers)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.get_json()
    return elapsed * 1000, response.get_json()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--trashed", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    db_ = database.Database(args.admin_url, "moves")
    os.environ.update(TASKAPI_ENV="testing", DATABASE_URL=db_.url)
    from flask_migrate import upgrade
    from sqlalchemy import select, text

    from taskapi import create_app
    from taskapi.extensions import db
    from taskapi.tasks import positions
    from taskapi.tasks.models import Task

    app = create_app({"AUTH_RATE_LIMIT": "100000 per minute", "MAX_TASKS_PER_LIST": 10**9})
    client = app.test_client()
    rng = random.Random(7)
    try:
        with app.app_context():
            upgrade()
        answer = client.post("/api/v1/auth/register", json={"email": "m@example.com", "password": "p" * 12})
        headers = {"Authorization": f"Bearer {answer.get_json()['access_token']}"}
        user = answer.get_json()["user"]["id"]
        with app.app_context():
            inbox = db.session.execute(text(INBOX_SQL), {"user": user}).scalar_one()
            every = max(1, args.tasks // args.trashed) if args.trashed else args.tasks + 1
            db.session.execute(text(SEED_SQL), {"user": user, "list": inbox, "tasks": args.tasks,
                                                "every": every, "positions": positions.evenly(args.tasks)})
            db.session.execute(text(COUNT_SQL), {"list": inbox})
            db.session.commit()
            db.session.connection().exec_driver_sql("ANALYZE tasks")
            db.session.commit()
            live_ids = db.session.execute(select(Task.id).where(Task.list_id == inbox, Task.deleted_at.is_(None))
                                          .order_by(Task.position)).scalars().all()

        for _ in range(20):  # warm
            timed_move(client, headers, *rng.sample(live_ids, 2))
        usual = statistics.median(timed_move(client, headers, *rng.sample(live_ids, 2))[0]
                                  for _ in range(args.repeat))

        worst, rewritten, moves = [], [], []
        for _ in range(args.rounds):
            anchor, *pair = rng.sample(live_ids, 3)
            for step in range(2000):
                ms, task = timed_move(client, headers, pair[step % 2], anchor)
                with app.app_context():
                    count = db.session.execute(text(REWRITTEN_SQL), {"list": inbox, "id": task["id"]}).scalar_one()
                if count > 1:
                    worst.append(ms)
                    rewritten.append(count - 1)
                    moves.append(step + 1)
                    break
            else:
                raise AssertionError("no move renumbered")

        whole, whole_rewritten = [], []
        for _ in range(args.rounds):
            with app.app_context():
                order = db.session.execute(select(Task.id).where(Task.list_id == inbox, Task.deleted_at.is_(None))
                                           .order_by(Task.id)).scalars().all()
                at = len(order) // 2  # the window reaches an end (and short keys) last from the middle
                prefix = "a0" + "1" * 40 + f"{at + 1:05d}V"
                db.session.execute(text(EVERY_KEY_LONG_SQL), {"list": inbox, "anchor": order[at],
                                                              "next": order[at + 1], "prefix": prefix})
                db.session.commit()
            mover = rng.choice(order[:at] + order[at + 2:])
            ms, task = timed_move(client, headers, mover, order[at])
            with app.app_context():
                whole_rewritten.append(
                    db.session.execute(text(REWRITTEN_SQL), {"list": inbox, "id": task["id"]}).scalar_one() - 1)
            whole.append(ms)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        db_.drop()

    print(f"{args.tasks} tasks for one user ({args.trashed} in the trash); Flask test client, PostgreSQL")
    print("| move | median ms | other rows rewritten | moves before it |")
    print("|---|---:|---:|---:|")
    print(f"| usual (random task after a random one; {args.repeat} moves) | {usual:.1f} | 0 | — |")
    print(f"| worst: the one that renumbers ({args.rounds} rounds) | {statistics.median(worst):.1f} "
          f"| {statistics.median(rewritten):.0f} | {statistics.median(moves):.0f} |")
    print(f"| worst case: every key long, the whole list renumbered ({args.rounds} rounds) "
          f"| {statistics.median(whole):.1f} | {statistics.median(whole_rewritten):.0f} | — |")
    print(f"worst / usual: {statistics.median(worst) / usual:.1f}×; each round's worst move, ms: "
          + ", ".join(f"{ms:.1f}" for ms in worst))


if __name__ == "__main__":
    main()
