"""A fresh PostgreSQL database for one benchmark run, seeded in bulk with generate_series."""

import json
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg2

BENCH_EMAIL = "bench@example.com"
WRITER_EMAIL = "writer@example.com"
# In the 1 M-row database only: a user with 100 k tasks (deep cursor pages, a long feed) and one with 1 k.
BIG_EMAIL = "big@example.com"
FEED_EMAIL = "feed@example.com"
BIG_TASKS = 100_000
FEED_TASKS = 1_000
TAG = "work"
BENCH_PASSWORD = "bench-password-1"
OWN_TASKS = 20


class Database:
    """CREATE DATABASE on start, DROP DATABASE ... WITH (FORCE) on drop."""

    def __init__(self, admin_url, label):
        self.admin_url = admin_url
        self.name = f"taskapi_bench_{label}_{uuid.uuid4().hex[:8]}"
        self._admin(f'CREATE DATABASE "{self.name}"')
        self.url = urlunsplit(urlsplit(admin_url)._replace(path="/" + self.name))

    def _admin(self, statement):
        connection = psycopg2.connect(self.admin_url)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement)
        connection.close()

    def drop(self):
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


USERS_SQL = """
INSERT INTO users (email, name, password_hash, created_at, token_generation)
VALUES (%(bench)s, 'Bench', %(hash)s, now(), 0), (%(writer)s, 'Writer', %(hash)s, now(), 0);
INSERT INTO users (email, name, password_hash, created_at, token_generation)
SELECT 'other' || n || '@example.com', 'Other ' || n, %(hash)s, now(), 0 FROM generate_series(1, %(others)s) AS n;
"""

USER_SQL = """
INSERT INTO users (email, name, password_hash, created_at, token_generation)
VALUES (%(email)s, 'Deep', %(hash)s, now(), 0);
"""

# One user's tasks, spread over every status, priority and a year of creation times.
TASKS_SQL = """
INSERT INTO tasks (user_id, title, description, status, priority, due_at, completed_at, created_at, updated_at,
                   version, tags, position, change_seq)
SELECT u.id, 'Task ' || n, CASE WHEN n %% 3 = 0 THEN NULL ELSE 'Description of task ' || n END,
       (ARRAY['pending', 'in_progress', 'completed'])[n %% 3 + 1], (ARRAY['low', 'medium', 'high'])[n %% 3 + 1],
       CASE WHEN n %% 4 = 0 THEN NULL ELSE now() + (n %% 30) * interval '1 day' END,
       CASE WHEN n %% 3 = 2 THEN now() ELSE NULL END,
       now() - n * interval '1 minute', now() - n * interval '1 minute', 1, '[]',
       -- A fractional-indexing key with a three-digit integer part ('c' + base 62), newest first.
       'c' || substr(%(digits)s, (n / 3844) %% 62 + 1, 1) || substr(%(digits)s, (n / 62) %% 62 + 1, 1)
           || substr(%(digits)s, n %% 62 + 1, 1),
       n
FROM users AS u CROSS JOIN generate_series(1, %(per_user)s) AS n
WHERE u.email LIKE %(pattern)s;
UPDATE users SET task_seq = %(per_user)s, task_count = %(per_user)s WHERE email LIKE %(pattern)s;
"""

# Every task of the bench user carries one tag, so a list filtered by it answers the same 20 as the plain list.
TAGS_SQL = """
UPDATE tasks SET tags = %(tags)s WHERE user_id = (SELECT id FROM users WHERE email = %(bench)s);
INSERT INTO task_tags (task_id, tag, user_id)
SELECT id, %(tag)s, user_id FROM tasks WHERE user_id = (SELECT id FROM users WHERE email = %(bench)s);
"""
BASE_62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def seed(url, password_hash, other_users, tasks_per_other_user, deep_users=False):
    """The bench user with 20 tasks (tagged), a writer with none, and other users' tasks; with `deep_users`,
    also BIG_EMAIL's 100 k and FEED_EMAIL's 1 k. Returns the bench task ids and the number of task rows."""
    connection = psycopg2.connect(url)
    with connection, connection.cursor() as cursor:
        cursor.execute(USERS_SQL, {"bench": BENCH_EMAIL, "writer": WRITER_EMAIL, "hash": password_hash,
                                   "others": other_users})
        cursor.execute(TASKS_SQL, {"per_user": OWN_TASKS, "pattern": BENCH_EMAIL, "digits": BASE_62})
        cursor.execute(TASKS_SQL, {"per_user": tasks_per_other_user, "pattern": "other%@example.com",
                                   "digits": BASE_62})
        cursor.execute(TAGS_SQL, {"tags": json.dumps([TAG]), "tag": TAG, "bench": BENCH_EMAIL})
        if deep_users:
            for email, tasks in ((BIG_EMAIL, BIG_TASKS), (FEED_EMAIL, FEED_TASKS)):
                cursor.execute(USER_SQL, {"email": email, "hash": password_hash})
                cursor.execute(TASKS_SQL, {"per_user": tasks, "pattern": email, "digits": BASE_62})
        cursor.execute("SELECT t.id FROM tasks t JOIN users u ON u.id = t.user_id WHERE u.email = %s ORDER BY t.id",
                       (BENCH_EMAIL,))
        task_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT count(*) FROM tasks")
        total = cursor.fetchone()[0]
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.close()
    return task_ids, total
