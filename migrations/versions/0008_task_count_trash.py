"""MAX_TASKS_PER_USER counts the trash too: users.live_task_count becomes task_count, recounted.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

A user's trashed tasks take room as much as live ones until deleted for good (trash emptied or
purged), so "delete all, create again" cannot grow the table past the cap. The downgrade counts
live tasks only again.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def _rename(old, new, live_only):
    with op.batch_alter_table('users', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.alter_column(old, new_column_name=new, existing_type=sa.Integer(), existing_nullable=False,
                              existing_server_default='0')
    live = " AND tasks.deleted_at IS NULL" if live_only else ""
    op.execute(f"UPDATE users SET {new} = (SELECT count(*) FROM tasks WHERE tasks.user_id = users.id{live})")


def upgrade():
    _rename('live_task_count', 'task_count', live_only=False)


def downgrade():
    _rename('task_count', 'live_task_count', live_only=True)
