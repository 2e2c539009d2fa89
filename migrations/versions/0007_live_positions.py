"""Positions unique among live tasks only: the trash has no say in the keys a move gives.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

The upgrade only narrows the unique index. The downgrade widens it again over the trash; where a trashed
task shares a key with another task (a key given again while it was in the trash), that user's tasks are
renumbered evenly in their order first, each rewritten one with version + 1 and a new change (as a
renumbering by the service does).
"""
from alembic import op
from fractional_indexing import generate_n_keys_between
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

LIVE = sa.text("deleted_at IS NULL")


def upgrade():
    op.drop_index('uq_tasks_user_position', table_name='tasks')
    op.create_index('uq_tasks_user_live_position', 'tasks', ['user_id', 'position'], unique=True,
                    postgresql_where=LIVE, sqlite_where=LIVE)


def downgrade():
    connection = op.get_bind()
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('task_seq', sa.BigInteger))
    tasks = sa.table('tasks', sa.column('id', sa.Integer), sa.column('user_id', sa.Integer),
                     sa.column('position', sa.String), sa.column('deleted_at', sa.DateTime),
                     sa.column('version', sa.Integer), sa.column('change_seq', sa.BigInteger))
    shared = connection.execute(
        sa.select(tasks.c.user_id).group_by(tasks.c.user_id, tasks.c.position).having(sa.func.count() > 1)
        .distinct()).scalars().all()
    for user_id in shared:
        seq = connection.execute(sa.update(users).where(users.c.id == user_id)
                                 .values(task_seq=users.c.task_seq + 1).returning(users.c.task_seq)).scalar_one()
        order = connection.execute(
            sa.select(tasks.c.id, tasks.c.position).where(tasks.c.user_id == user_id)
            .order_by(tasks.c.position, tasks.c.deleted_at.is_not(None), tasks.c.id)).all()
        keys = generate_n_keys_between(None, None, len(order))
        moving = [(row.id, key) for row, key in zip(order, keys) if row.position != key]
        # The live keys are unique still: step every moving row aside first, then give it its key.
        connection.execute(sa.update(tasks).where(tasks.c.id.in_([task_id for task_id, _ in moving]))
                           .values(position=sa.literal('!') + sa.cast(tasks.c.id, sa.String)))
        connection.execute(
            sa.update(tasks).where(tasks.c.id == sa.bindparam('task_id'))
            .values(position=sa.bindparam('new_position'), version=tasks.c.version + 1, change_seq=seq),
            [{'task_id': task_id, 'new_position': key} for task_id, key in moving])
    op.drop_index('uq_tasks_user_live_position', table_name='tasks', postgresql_where=LIVE, sqlite_where=LIVE)
    op.create_index('uq_tasks_user_position', 'tasks', ['user_id', 'position'], unique=True)
