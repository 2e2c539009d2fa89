"""Open live streams: one row per stream a worker holds, counted for MAX_STREAMS_PER_USER.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

Tickets need no table: a used ticket's id goes into revoked_tokens, which prunes it after it expires.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('open_streams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['user_sessions.id'], name=op.f('fk_open_streams_session_id_user_sessions'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_open_streams_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_streams')),
    sqlite_autoincrement=True
    )
    op.create_index(op.f('ix_open_streams_user_id'), 'open_streams', ['user_id'], unique=False)
    op.create_index(op.f('ix_open_streams_session_id'), 'open_streams', ['session_id'], unique=False)
    op.create_index(op.f('ix_open_streams_expires_at'), 'open_streams', ['expires_at'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_open_streams_expires_at'), table_name='open_streams')
    op.drop_index(op.f('ix_open_streams_session_id'), table_name='open_streams')
    op.drop_index(op.f('ix_open_streams_user_id'), table_name='open_streams')
    op.drop_table('open_streams')
