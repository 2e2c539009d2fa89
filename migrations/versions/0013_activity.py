"""Activity: every change to a list's tasks, members, invitations and name, with who made it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

task_id is no foreign key: a task's entries outlive it when it is deleted for good. An entry goes with
its list, and loses its actor when that account is deleted.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('activity',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_activity_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_activity_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity')),
    sqlite_autoincrement=True
    )
    op.create_index('ix_activity_list', 'activity', ['list_id', 'id'], unique=False)
    op.create_index('ix_activity_task', 'activity', ['task_id', 'id'], unique=False)
    op.create_index(op.f('ix_activity_at'), 'activity', ['at'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_activity_at'), table_name='activity')
    op.drop_index('ix_activity_task', table_name='activity')
    op.drop_index('ix_activity_list', table_name='activity')
    op.drop_table('activity')
