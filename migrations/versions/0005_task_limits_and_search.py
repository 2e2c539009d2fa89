"""Each user's live task count (MAX_TASKS_PER_USER); trigram indexes for `q` on PostgreSQL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

The count starts from the tasks there are. The trigram indexes need the pg_trgm extension:
where it cannot be created (no such extension, or no right to create it), `q` keeps working
without them, as a scan of the user's tasks.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# Kept out of the models (only PostgreSQL with pg_trgm has them): migrations/env.py leaves them out of autogenerate.
TRIGRAM_INDEXES = {"ix_tasks_title_trgm": "title", "ix_tasks_description_trgm": "description"}


def upgrade():
    with op.batch_alter_table('users', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('live_task_count', sa.Integer(), server_default='0', nullable=False))
    op.execute("UPDATE users SET live_task_count = "
               "(SELECT count(*) FROM tasks WHERE tasks.user_id = users.id AND tasks.deleted_at IS NULL)")
    schema = _trigram_schema() if op.get_bind().dialect.name == "postgresql" else None
    if schema is not None:
        for name, column in TRIGRAM_INDEXES.items():
            op.execute(f'CREATE INDEX {name} ON tasks USING gin ({column} "{schema}".gin_trgm_ops)')


def _trigram_schema():
    """The schema of pg_trgm, created if it can be (None if not: a failure is rolled back to a savepoint)."""
    connection = op.get_bind()
    savepoint = connection.begin_nested()
    try:
        connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:
        savepoint.rollback()
        return None
    savepoint.commit()
    # Where it was installed, which need not be on this connection's search_path.
    return connection.execute(sa.text(
        "SELECT nspname FROM pg_extension JOIN pg_namespace ON pg_namespace.oid = extnamespace "
        "WHERE extname = 'pg_trgm'")).scalar_one()


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    with op.batch_alter_table('users', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_column('live_task_count')
