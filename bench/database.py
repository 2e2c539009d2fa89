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

    def vacuum(self):
        """VACUUM: drop the dead row versions writes left, so the next case starts on the table as seeded."""
        connection = psycopg2.connect(self.url)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("VACUUM")
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

# Every user without one gets an inbox, its owner its one member, as registering makes them.
INBOXES_SQL = """
INSERT INTO lists (owner_id, name, inbox, created_at, updated_at, version, task_seq, task_count)
SELECT u.id, 'Inbox', true, u.created_at, u.created_at, 1, 0, 0 FROM users AS u
WHERE NOT EXISTS (SELECT 1 FROM lists AS l WHERE l.owner_id = u.id AND l.inbox) ORDER BY u.id;
INSERT INTO list_members (list_id, user_id, role, joined_at)
SELECT l.id, l.owner_id, 'owner', l.created_at FROM lists AS l
WHERE l.inbox AND NOT EXISTS (SELECT 1 FROM list_members AS m WHERE m.list_id = l.id);
"""

# One user's tasks in their inbox, spread over every status, priority and a year of creation times; the inbox
# takes their change sequence and count, as it would after as many creates.
TASKS_SQL = """
INSERT INTO tasks (list_id, created_by, title, description, status, priority, due_at, completed_at, created_at,
                   updated_at, version, tags, position, change_seq)
SELECT l.id, u.id, 'Task ' || n, CASE WHEN n %% 3 = 0 THEN NULL ELSE 'Description of task ' || n END,
       (ARRAY['pending', 'in_progress', 'completed'])[n %% 3 + 1], (ARRAY['low', 'medium', 'high'])[n %% 3 + 1],
       CASE WHEN n %% 4 = 0 THEN NULL ELSE now() + (n %% 30) * interval '1 day' END,
       CASE WHEN n %% 3 = 2 THEN now() ELSE NULL END,
       now() - n * interval '1 minute', now() - n * interval '1 minute', 1, '[]',
       -- A fractional-indexing key with a three-digit integer part ('c' + base 62), newest first.
       'c' || substr(%(digits)s, (n / 3844) %% 62 + 1, 1) || substr(%(digits)s, (n / 62) %% 62 + 1, 1)
           || substr(%(digits)s, n %% 62 + 1, 1),
       n
FROM users AS u JOIN lists AS l ON l.owner_id = u.id AND l.inbox CROSS JOIN generate_series(1, %(per_user)s) AS n
WHERE u.email LIKE %(pattern)s;
UPDATE lists SET task_seq = %(per_user)s, task_count = %(per_user)s
FROM users AS u WHERE lists.owner_id = u.id AND lists.inbox AND u.email LIKE %(pattern)s;
"""

# Every task of the bench user carries one tag, so a list filtered by it answers the same 20 as the plain list.
TAGS_SQL = """
UPDATE tasks SET tags = %(tags)s FROM lists AS l JOIN users AS u ON u.id = l.owner_id
WHERE tasks.list_id = l.id AND u.email = %(bench)s AND l.inbox;
INSERT INTO task_tags (task_id, tag)
SELECT t.id, %(tag)s FROM tasks AS t JOIN lists AS l ON l.id = t.list_id JOIN users AS u ON u.id = l.owner_id
WHERE u.email = %(bench)s AND l.inbox;
"""
BENCH_TASKS_SQL = """
SELECT t.id FROM tasks AS t JOIN lists AS l ON l.id = t.list_id JOIN users AS u ON u.id = l.owner_id
WHERE u.email = %(bench)s AND l.inbox ORDER BY t.id
"""
BASE_62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def seed(url, password_hash, other_users, tasks_per_other_user, deep_users=False):
    """The bench user with 20 tasks (tagged), a writer with none, and other users' tasks, each user's in their
    inbox; with `deep_users`, also BIG_EMAIL's 100 k and FEED_EMAIL's 1 k. Returns the bench task ids and the
    number of task rows."""
    connection = psycopg2.connect(url)
    with connection, connection.cursor() as cursor:
        cursor.execute(USERS_SQL, {"bench": BENCH_EMAIL, "writer": WRITER_EMAIL, "hash": password_hash,
                                   "others": other_users})
        cursor.execute(INBOXES_SQL)
        cursor.execute(TASKS_SQL, {"per_user": OWN_TASKS, "pattern": BENCH_EMAIL, "digits": BASE_62})
        cursor.execute(TASKS_SQL, {"per_user": tasks_per_other_user, "pattern": "other%@example.com",
                                   "digits": BASE_62})
        cursor.execute(TAGS_SQL, {"tags": json.dumps([TAG]), "tag": TAG, "bench": BENCH_EMAIL})
        if deep_users:
            for email, tasks in ((BIG_EMAIL, BIG_TASKS), (FEED_EMAIL, FEED_TASKS)):
                cursor.execute(USER_SQL, {"email": email, "hash": password_hash})
                cursor.execute(INBOXES_SQL)
                cursor.execute(TASKS_SQL, {"per_user": tasks, "pattern": email, "digits": BASE_62})
        cursor.execute(BENCH_TASKS_SQL, {"bench": BENCH_EMAIL})
        task_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT count(*) FROM tasks")
        total = cursor.fetchone()[0]
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.close()
    return task_ids, total
