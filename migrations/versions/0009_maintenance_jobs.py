"""maintenance_jobs: when each periodic maintenance job was last claimed and last succeeded.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

The rows are added by the first background round that finds them missing; an empty table
means every job is due.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('maintenance_jobs',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('last_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_succeeded_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_maintenance_jobs'))
    )


def downgrade():
    op.drop_table('maintenance_jobs')
