"""Repeated security events counted in one entry per hour; login failures gain `pending`.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

security_events gains `count` (1 for every row there is) and `hour` (NULL: rows there
are stay as they are; only new failed or throttled logins and reset requests are
collapsed), a unique index on (user_id, event, hour) that repeats add to, and lists by
(user_id, created_at, id) instead of (user_id, id): a collapsed entry is listed by its
latest occurrence. login_failures gains `pending`: rows there are were failures.

The downgrade keeps one row per collapsed entry (its count is lost) and drops pending
checks rather than make them failures.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('security_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('count', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('hour', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_index('ix_security_events_user_id_id')
        batch_op.create_index('ix_security_events_user_created', ['user_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('uq_security_events_user_event_hour', ['user_id', 'event', 'hour'], unique=True)
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    op.execute("DELETE FROM login_failures WHERE pending")
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_column('pending')
    with op.batch_alter_table('security_events', schema=None) as batch_op:
        batch_op.drop_index('uq_security_events_user_event_hour')
        batch_op.drop_index('ix_security_events_user_created')
        batch_op.create_index('ix_security_events_user_id_id', ['user_id', 'id'], unique=False)
        batch_op.drop_column('hour')
        batch_op.drop_column('count')
