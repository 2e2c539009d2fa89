"""Personal access tokens: long-lived tokens with scopes, perhaps limited to one list.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-14

Only a SHA-256 of each token is stored. A token remembers its user's token_generation when made, so
the bump a password change, a reset or disabling the account makes revokes it too. Security events'
names grow to 40 characters (token_first_use_from_new_address is 32).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('security_events', schema=None) as batch_op:
        batch_op.alter_column('event', existing_type=sa.String(length=30), type_=sa.String(length=40),
                              existing_nullable=False)
    op.create_table('personal_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=True),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_ip', sa.String(length=64), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_personal_tokens_list_id_lists'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_personal_tokens_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_personal_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_personal_tokens_token_hash'))
    )
    op.create_index('ix_personal_tokens_user_created', 'personal_tokens', ['user_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_personal_tokens_list_id'), 'personal_tokens', ['list_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_personal_tokens_list_id'), table_name='personal_tokens')
    op.drop_index('ix_personal_tokens_user_created', table_name='personal_tokens')
    op.drop_table('personal_tokens')
    op.execute("DELETE FROM security_events WHERE length(event) > 30")
    with op.batch_alter_table('security_events', schema=None) as batch_op:
        batch_op.alter_column('event', existing_type=sa.String(length=40), type_=sa.String(length=30),
                              existing_nullable=False)
