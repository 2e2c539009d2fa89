"""Lists shared between users: every user's tasks move into an inbox list of theirs.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

Each user gets an inbox (a list they own) holding all their tasks, live and trashed, with their
positions, tags, versions and change numbers: the inbox takes over the user's change sequence and
task count, and their tombstones, so a change-feed cursor issued before the upgrade reads on from the
same point. tasks.user_id becomes list_id (and created_by); task_tags lose their user_id; tombstones
are kept per list.

The downgrade gives every task to its list's owner (lists, members and invitations are dropped):
a user who owned several lists has their tasks renumbered in one order (inbox first), each
rewritten one with version + 1. Tombstones go to the owner too, but only of tasks gone for good
(one a task), as v2 knew them.
"""
from alembic import op
from fractional_indexing import generate_n_keys_between
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

LIVE = sa.text("deleted_at IS NULL")
TRASHED = sa.text("deleted_at IS NOT NULL")
INBOX = sa.text("inbox")
TASKS = {'sqlite_autoincrement': True}
POSITION = sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql")
USER_INDEXES = ('ix_tasks_user_created', 'ix_tasks_user_updated', 'ix_tasks_user_due', 'uq_tasks_user_live_position',
                'ix_tasks_user_trashed', 'ix_tasks_user_change')


def _partial(name, columns, where, unique=False):
    op.create_index(name, 'tasks', columns, unique=unique, postgresql_where=where, sqlite_where=where)


def _make_way_for_primary_key(table, new_name):
    """On PostgreSQL a primary key's name is its index's, unique in the schema: the table about to be replaced
    gives it up, so its successor is made with it."""
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"ALTER TABLE {table} RENAME CONSTRAINT pk_{table} TO {new_name}")


def upgrade():
    op.create_table('lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('inbox', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('task_seq', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('task_count', sa.Integer(), server_default='0', nullable=False),
    sa.CheckConstraint('length(name) BETWEEN 1 AND 100', name=op.f('ck_lists_list_name_length')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_lists_owner_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lists')),
    sqlite_autoincrement=True
    )
    op.create_index('ix_lists_owner', 'lists', ['owner_id', 'inbox'], unique=False)
    op.create_index('uq_lists_inbox', 'lists', ['owner_id'], unique=True, postgresql_where=INBOX, sqlite_where=INBOX)
    op.create_table('list_members',
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('viewer', 'completer', 'editor', 'admin', 'owner', name='member_role', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_list_members_list_id_lists'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_list_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('list_id', 'user_id', name=op.f('pk_list_members'))
    )
    op.create_index('ix_list_members_user', 'list_members', ['user_id', 'list_id'], unique=False)
    op.create_table('invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('role', sa.Enum('viewer', 'completer', 'editor', 'admin', 'owner', name='invitation_role', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('invited_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.Enum('pending', 'accepted', 'declined', 'withdrawn', 'replaced', name='invitation_state', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['invited_by'], ['users.id'], name=op.f('fk_invitations_invited_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_invitations_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations'))
    )
    op.create_index('ix_invitations_email', 'invitations', ['email', 'expires_at'], unique=False)
    op.create_index('ix_invitations_list_created', 'invitations', ['list_id', 'created_at'], unique=False)

    # An inbox per user, taking over their change sequence and task count; its owner its one member.
    op.execute("INSERT INTO lists (owner_id, name, inbox, created_at, updated_at, version, task_seq, task_count) "
               "SELECT id, 'Inbox', true, created_at, created_at, 1, task_seq, task_count FROM users ORDER BY id")
    op.execute("INSERT INTO list_members (list_id, user_id, role, joined_at) "
               "SELECT id, owner_id, 'owner', created_at FROM lists")
    inbox_of = "(SELECT lists.id FROM lists WHERE lists.owner_id = {} AND lists.inbox)"

    for name in USER_INDEXES:
        op.drop_index(name, table_name='tasks')
    with op.batch_alter_table('tasks', schema=None, table_kwargs=TASKS) as batch_op:
        batch_op.add_column(sa.Column('list_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('assignee_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('created_by', sa.Integer(), nullable=True))
    op.execute(f"UPDATE tasks SET list_id = {inbox_of.format('tasks.user_id')}, created_by = user_id")
    with op.batch_alter_table('tasks', schema=None, table_kwargs=TASKS) as batch_op:
        batch_op.alter_column('list_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint('fk_tasks_user_id_users', type_='foreignkey')
        batch_op.drop_column('user_id')
        batch_op.create_foreign_key(batch_op.f('fk_tasks_list_id_lists'), 'lists', ['list_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.create_foreign_key(batch_op.f('fk_tasks_assignee_id_users'), 'users', ['assignee_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_tasks_created_by_users'), 'users', ['created_by'], ['id'],
                                    ondelete='SET NULL')
    _partial('ix_tasks_list_created', ['list_id', 'created_at', 'id'], LIVE)
    _partial('ix_tasks_list_updated', ['list_id', 'updated_at', 'id'], LIVE)
    _partial('ix_tasks_list_due', ['list_id', 'due_at', 'id'], LIVE)
    _partial('uq_tasks_list_live_position', ['list_id', 'position'], LIVE, unique=True)
    _partial('ix_tasks_list_trashed', ['list_id', 'deleted_at'], TRASHED)
    op.create_index('ix_tasks_list_change', 'tasks', ['list_id', 'change_seq', 'id'], unique=False)
    op.create_index('ix_tasks_assignee', 'tasks', ['assignee_id'], unique=False)
    op.create_index('ix_tasks_created_by', 'tasks', ['created_by'], unique=False)

    op.drop_index('ix_task_tags_user_tag', table_name='task_tags')
    with op.batch_alter_table('task_tags', schema=None) as batch_op:
        batch_op.drop_column('user_id')

    # Tombstones per list: a new table (its primary key changes), filled from the old one, made with its
    # final names (SQLite cannot rename a constraint).
    _make_way_for_primary_key('task_tombstones', 'pk_task_tombstones_v2')
    op.create_table('task_tombstones_v3',
    sa.Column('list_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('change_seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('task_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('list_id', 'change_seq', 'task_id', name=op.f('pk_task_tombstones'))
    )
    op.execute("INSERT INTO task_tombstones_v3 (list_id, change_seq, task_id, deleted_at) "
               f"SELECT {inbox_of.format('task_tombstones.user_id')}, change_seq, task_id, deleted_at "
               "FROM task_tombstones")
    op.drop_table('task_tombstones')
    op.rename_table('task_tombstones_v3', 'task_tombstones')
    op.create_index(op.f('ix_task_tombstones_deleted_at'), 'task_tombstones', ['deleted_at'], unique=False)

    with op.batch_alter_table('users', schema=None, table_kwargs=TASKS) as batch_op:
        batch_op.drop_column('task_count')
        batch_op.drop_column('task_seq')


def _renumber_owners_of_several_lists(connection):
    """Before the tasks of several lists become one user's: one order (inbox first, then by list), new keys."""
    tasks = sa.table('tasks', sa.column('id', sa.Integer), sa.column('user_id', sa.Integer),
                     sa.column('list_id', sa.Integer), sa.column('position', POSITION),
                     sa.column('version', sa.Integer), sa.column('change_seq', sa.BigInteger))
    lists = sa.table('lists', sa.column('id', sa.Integer), sa.column('inbox', sa.Boolean))
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('task_seq', sa.BigInteger))
    owners = connection.execute(sa.select(tasks.c.user_id).group_by(tasks.c.user_id)
                                .having(sa.func.count(sa.distinct(tasks.c.list_id)) > 1)).scalars().all()
    for user_id in owners:
        seq = connection.execute(sa.update(users).where(users.c.id == user_id)
                                 .values(task_seq=users.c.task_seq + 1).returning(users.c.task_seq)).scalar_one()
        order = connection.execute(
            sa.select(tasks.c.id).join(lists, lists.c.id == tasks.c.list_id).where(tasks.c.user_id == user_id)
            .order_by(lists.c.inbox.desc(), lists.c.id, tasks.c.position, tasks.c.id)).scalars().all()
        keys = generate_n_keys_between(None, None, len(order))
        connection.execute(sa.update(tasks).where(tasks.c.id.in_(order))
                           .values(position=sa.literal('!') + sa.cast(tasks.c.id, sa.String)))
        connection.execute(
            sa.update(tasks).where(tasks.c.id == sa.bindparam('task_id'))
            .values(position=sa.bindparam('new_position'), version=tasks.c.version + 1, change_seq=seq),
            [{'task_id': task_id, 'new_position': key} for task_id, key in zip(order, keys)])


def downgrade():
    with op.batch_alter_table('users', schema=None, table_kwargs=TASKS) as batch_op:
        batch_op.add_column(sa.Column('task_seq', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('task_count', sa.Integer(), server_default='0', nullable=False))
    op.execute("UPDATE users SET task_seq = COALESCE((SELECT max(lists.task_seq) FROM lists "
               "WHERE lists.owner_id = users.id), 0)")

    _make_way_for_primary_key('task_tombstones', 'pk_task_tombstones_v3')
    op.create_table('task_tombstones_v2',
    sa.Column('task_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('change_seq', sa.BigInteger(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_task_tombstones_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('task_id', name=op.f('pk_task_tombstones'))
    )
    # One tombstone a task, of a list whose owner is still there: its latest by time (lists number their
    # changes each on its own), which names the list the task was last in. None of a task still there (it
    # left a list for another): in v2 a tombstone is a task gone for good, and v2's purge would collide
    # with it (task_id is the key).
    op.execute("INSERT INTO task_tombstones_v2 (task_id, user_id, change_seq, deleted_at) "
               "SELECT t.task_id, l.owner_id, t.change_seq, t.deleted_at FROM task_tombstones t "
               "JOIN lists l ON l.id = t.list_id WHERE NOT EXISTS (SELECT 1 FROM task_tombstones n "
               "WHERE n.task_id = t.task_id AND (n.deleted_at > t.deleted_at OR n.deleted_at = t.deleted_at "
               "AND (n.change_seq > t.change_seq OR n.change_seq = t.change_seq AND n.list_id > t.list_id))) "
               "AND NOT EXISTS (SELECT 1 FROM tasks WHERE tasks.id = t.task_id)")
    op.drop_index(op.f('ix_task_tombstones_deleted_at'), table_name='task_tombstones')
    op.drop_table('task_tombstones')
    op.rename_table('task_tombstones_v2', 'task_tombstones')
    with op.batch_alter_table('task_tombstones', schema=None) as batch_op:
        batch_op.create_index('ix_task_tombstones_user_change', ['user_id', 'change_seq', 'task_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_tombstones_deleted_at'), ['deleted_at'], unique=False)

    with op.batch_alter_table('task_tags', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))

    for name in ('ix_tasks_list_created', 'ix_tasks_list_updated', 'ix_tasks_list_due', 'uq_tasks_list_live_position',
                 'ix_tasks_list_trashed', 'ix_tasks_list_change', 'ix_tasks_assignee', 'ix_tasks_created_by'):
        op.drop_index(name, table_name='tasks')
    with op.batch_alter_table('tasks', schema=None, table_kwargs=TASKS) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
    op.execute("UPDATE tasks SET user_id = (SELECT lists.owner_id FROM lists WHERE lists.id = tasks.list_id)")
    _renumber_owners_of_several_lists(op.get_bind())
    op.execute("UPDATE task_tags SET user_id = (SELECT tasks.user_id FROM tasks WHERE tasks.id = task_tags.task_id)")
    op.execute("UPDATE users SET task_count = (SELECT count(*) FROM tasks WHERE tasks.user_id = users.id)")
    with op.batch_alter_table('tasks', schema=None, table_kwargs=TASKS) as batch_op:
        batch_op.drop_constraint('fk_tasks_created_by_users', type_='foreignkey')
        batch_op.drop_constraint('fk_tasks_assignee_id_users', type_='foreignkey')
        batch_op.drop_constraint('fk_tasks_list_id_lists', type_='foreignkey')
        batch_op.drop_column('created_by')
        batch_op.drop_column('assignee_id')
        batch_op.drop_column('list_id')
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_tasks_user_id_users', 'users', ['user_id'], ['id'], ondelete='CASCADE')
    op.create_index('ix_tasks_user_created', 'tasks', ['user_id', 'created_at', 'id'], unique=False,
                    postgresql_where=LIVE, sqlite_where=LIVE)
    op.create_index('ix_tasks_user_updated', 'tasks', ['user_id', 'updated_at', 'id'], unique=False,
                    postgresql_where=LIVE, sqlite_where=LIVE)
    op.create_index('ix_tasks_user_due', 'tasks', ['user_id', 'due_at', 'id'], unique=False,
                    postgresql_where=LIVE, sqlite_where=LIVE)
    op.create_index('uq_tasks_user_live_position', 'tasks', ['user_id', 'position'], unique=True,
                    postgresql_where=LIVE, sqlite_where=LIVE)
    op.create_index('ix_tasks_user_trashed', 'tasks', ['user_id', 'deleted_at'], unique=False,
                    postgresql_where=TRASHED, sqlite_where=TRASHED)
    op.create_index('ix_tasks_user_change', 'tasks', ['user_id', 'change_seq', 'id'], unique=False)
    with op.batch_alter_table('task_tags', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index('ix_task_tags_user_tag', ['user_id', 'tag', 'task_id'], unique=False)

    op.drop_index('ix_invitations_list_created', table_name='invitations')
    op.drop_index('ix_invitations_email', table_name='invitations')
    op.drop_table('invitations')
    op.drop_index('ix_list_members_user', table_name='list_members')
    op.drop_table('list_members')
    op.drop_index('uq_lists_inbox', table_name='lists', postgresql_where=INBOX, sqlite_where=INBOX)
    op.drop_index('ix_lists_owner', table_name='lists')
    op.drop_table('lists')
