"""The cost of `q` for a user with many large tasks, with and without the trigram indexes (PostgreSQL).

One user with --tasks tasks of ~2 KB each (title + description) in their inbox, on a fresh database of the
machine's PostgreSQL; through Flask's test client (production settings otherwise), the median time of --repeat
lists of 20 for: no `q`, a 2200-character `q` of words, and `q` of 2200 `%` (matched literally). First with the
indexes migration 0005 made, then after dropping them; EXPLAIN of the long `q` for each.

    .venv/bin/python -m bench.search [--tasks 5000] [--repeat 15] [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import database  # noqa: E402

# The user's tasks go into their inbox, which takes their change sequence and count, as after as many creates.
SEED_SQL = """
INSERT INTO tasks (list_id, created_by, title, description, status, priority, created_at, updated_at, version, tags,
                   position, change_seq)
SELECT l.id, l.owner_id, 'Task ' || n || ' ' || md5(n::text),
       repeat(md5(n::text) || ' lorem ipsum dolor sit amet ', 33),
       'pending', 'medium', now() - n * interval '1 second', now(), 1, '[]',
       'd' || lpad(n::text, 6, '0'), n
FROM lists AS l CROSS JOIN generate_series(1, :tasks) AS n
WHERE l.owner_id = :user AND l.inbox;
UPDATE lists SET task_seq = :tasks, task_count = :tasks WHERE owner_id = :user AND inbox;
"""
WORDS = "quarterly report draft review budget " * 60
CASES = {"no q": None, "q: 20 characters": WORDS[:20], "q: 1500 characters": WORDS[:1500],
         "q: 2200 characters": WORDS[:2200], "q: 2200 × %": "%" * 2200}


def timed(client, headers, q, repeat):
    query = {"limit": 20} if q is None else {"limit": 20, "q": q}
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get("/api/v1/tasks", query_string=query, headers=headers)
        seconds.append(time.perf_counter() - started)
        assert response.status_code == 200, response.get_json()
    return statistics.median(seconds) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    db_ = database.Database(args.admin_url, "search")
    os.environ.update(TASKAPI_ENV="testing", DATABASE_URL=db_.url)
    from flask_migrate import upgrade
    from sqlalchemy import text

    from taskapi import create_app
    from taskapi.extensions import db
    from taskapi.models import contains_pattern

    app = create_app({"AUTH_RATE_LIMIT": "100000 per minute", "MAX_TASKS_PER_LIST": 10**9})
    client = app.test_client()
    rows = []
    try:
        with app.app_context():
            upgrade()
        answer = client.post("/api/v1/auth/register", json={"email": "s@example.com", "password": "p" * 12})
        headers = {"Authorization": f"Bearer {answer.get_json()['access_token']}"}
        with app.app_context():
            db.session.execute(text(SEED_SQL), {"user": answer.get_json()["user"]["id"], "tasks": args.tasks})
            db.session.commit()
        for label, drop in (("with trigram indexes", False), ("without (indexes dropped)", True)):
            with app.app_context():
                if drop:
                    db.session.execute(text("DROP INDEX ix_tasks_title_trgm; DROP INDEX ix_tasks_description_trgm"))
                db.session.commit()
                db.session.connection().exec_driver_sql("ANALYZE tasks")
                db.session.commit()
                plan = db.session.execute(
                    text("EXPLAIN SELECT id FROM tasks WHERE title ILIKE :p ESCAPE '\\' "
                         "OR description ILIKE :p ESCAPE '\\'"), {"p": contains_pattern(WORDS[:2200])}).scalars().all()
            timed(client, headers, None, 3)  # warm
            figures = {case: timed(client, headers, q, args.repeat) for case, q in CASES.items()}
            rows.append((label, figures, plan[0].split("  (")[0]))
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        db_.drop()

    print(f"{args.tasks} tasks of ~2 KB for one user; median of {args.repeat} lists of 20, ms (Flask test client)")
    print("| | " + " | ".join(CASES) + " | plan of the long q |")
    print("|---|" + "---:|" * len(CASES) + "---|")
    for label, figures, plan in rows:
        print(f"| {label} | " + " | ".join(f"{figures[case]:.1f}" for case in CASES) + f" | {plan} |")


if __name__ == "__main__":
    main()
