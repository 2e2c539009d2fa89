"""Tasks v2: tags, manual order, trash, the change feed's sequence and tombstones.

Existing tasks are kept: tags [], positions in creation order (newest first), change_seq 1..n
per user (oldest first) and users.task_seq = n.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa
from fractional_indexing import generate_n_keys_between


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

POSITION = sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql')
LIVE = sa.text('deleted_at IS NULL')
TRASHED = sa.text('deleted_at IS NOT NULL')
# SQLite's rebuilt table would lose AUTOINCREMENT, and reuse a deleted task's id (a tombstone's key).
KEEP_AUTOINCREMENT = {'sqlite_autoincrement': True}
LIST_INDEXES = (
    ('ix_tasks_user_created', ['user_id', 'created_at', 'id']),
    ('ix_tasks_user_due', ['user_id', 'due_at', 'id']),
    ('ix_tasks_user_updated', ['user_id', 'updated_at', 'id']),
)


def _number_existing_tasks():
    """Per user: positions newest first, change_seq oldest first, task_seq the count."""
    bind = op.get_bind()
    tasks = sa.table('tasks', sa.column('id', sa.Integer), sa.column('user_id', sa.Integer),
                     sa.column('created_at', sa.DateTime), sa.column('tags', sa.JSON),
                     sa.column('position', sa.String), sa.column('change_seq', sa.BigInteger))
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('task_seq', sa.BigInteger))
    rows = bind.execute(sa.select(tasks.c.id, tasks.c.user_id).order_by(
        tasks.c.user_id, tasks.c.created_at.desc(), tasks.c.id.desc())).all()
    by_user = {}
    for task_id, user_id in rows:
        by_user.setdefault(user_id, []).append(task_id)
    updates, counts = [], []
    for user_id, newest_first in by_user.items():
        positions = generate_n_keys_between(None, None, len(newest_first))
        count = len(newest_first)
        for index, (task_id, position) in enumerate(zip(newest_first, positions)):
            updates.append({'task_id': task_id, 'new_position': position, 'new_seq': count - index})
        counts.append({'owner': user_id, 'count': count})
    bind.execute(sa.update(tasks).values(tags=[]))
    if updates:
        bind.execute(sa.update(tasks).where(tasks.c.id == sa.bindparam('task_id')).values(
            position=sa.bindparam('new_position'), change_seq=sa.bindparam('new_seq')), updates)
    if counts:
        bind.execute(sa.update(users).where(users.c.id == sa.bindparam('owner')).values(
            task_seq=sa.bindparam('count')), counts)


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('task_seq', sa.BigInteger(), server_default='0', nullable=False))

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tags', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('position', POSITION, nullable=True))
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('change_seq', sa.BigInteger(), nullable=True))

    _number_existing_tasks()

    with op.batch_alter_table('tasks', schema=None, table_kwargs=KEEP_AUTOINCREMENT) as batch_op:
        batch_op.alter_column('tags', existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column('position', existing_type=POSITION, nullable=False)
        batch_op.alter_column('change_seq', existing_type=sa.BigInteger(), nullable=False)

    # Indexes after the table rebuilds above (SQLite), so their WHERE clauses are written as meant.
    for name, columns in LIST_INDEXES:
        op.drop_index(name, table_name='tasks')
        op.create_index(name, 'tasks', columns, unique=False, postgresql_where=LIVE, sqlite_where=LIVE)
    op.create_index('uq_tasks_user_position', 'tasks', ['user_id', 'position'], unique=True)
    op.create_index('ix_tasks_user_trashed', 'tasks', ['user_id', 'deleted_at'], unique=False,
                    postgresql_where=TRASHED, sqlite_where=TRASHED)
    op.create_index('ix_tasks_user_change', 'tasks', ['user_id', 'change_seq', 'id'], unique=False)

    op.create_table('task_tags',
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_task_tags_task_id_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('task_id', 'tag', name=op.f('pk_task_tags'))
    )
    with op.batch_alter_table('task_tags', schema=None) as batch_op:
        batch_op.create_index('ix_task_tags_user_tag', ['user_id', 'tag', 'task_id'], unique=False)

    op.create_table('task_tombstones',
    sa.Column('task_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('change_seq', sa.BigInteger(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_task_tombstones_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('task_id', name=op.f('pk_task_tombstones'))
    )
    with op.batch_alter_table('task_tombstones', schema=None) as batch_op:
        batch_op.create_index('ix_task_tombstones_user_change', ['user_id', 'change_seq', 'task_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_tombstones_deleted_at'), ['deleted_at'], unique=False)


def downgrade():
    with op.batch_alter_table('task_tombstones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_tombstones_deleted_at'))
        batch_op.drop_index('ix_task_tombstones_user_change')

    op.drop_table('task_tombstones')
    with op.batch_alter_table('task_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_task_tags_user_tag')

    op.drop_table('task_tags')

    # v1 has no trash: what was deleted there is gone.
    op.execute(sa.text('DELETE FROM tasks WHERE deleted_at IS NOT NULL'))
    op.drop_index('ix_tasks_user_change', table_name='tasks')
    op.drop_index('ix_tasks_user_trashed', table_name='tasks')
    op.drop_index('uq_tasks_user_position', table_name='tasks')
    for name, _ in LIST_INDEXES:
        op.drop_index(name, table_name='tasks')

    with op.batch_alter_table('tasks', schema=None, table_kwargs=KEEP_AUTOINCREMENT) as batch_op:
        batch_op.drop_column('change_seq')
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('position')
        batch_op.drop_column('tags')

    for name, columns in LIST_INDEXES:
        op.create_index(name, 'tasks', columns, unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('task_seq')
