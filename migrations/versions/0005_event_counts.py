"""Login failures gain `pending` (a check in flight is no failure yet).

Revision ID: 0005_event_counts
Revises: 0005
Create Date: 2026-12-06

Rows already there were failures (or checks that have long ended): they stay failures.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_event_counts'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    # A pending check is no failure: it goes, rather than count as one.
    op.execute("DELETE FROM login_failures WHERE pending")
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_column('pending')
