"""Idempotent creates keep their answer's headers, so a replay is the first answer whole.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

Answers stored before this revision get the headers a create answered with then: its ETag, its
Location and the JSON content type, made from the stored body's id and version.
"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_headers', sa.Text(), server_default='{}', nullable=False))
    connection = op.get_bind()
    stored = connection.execute(sa.text("SELECT id, response_body FROM idempotency_keys")).all()
    for row_id, body in stored:
        task = json.loads(body)
        headers = {"Content-Type": "application/json", "ETag": f'"{task["id"]}.{task["version"]}"',
                   "Location": f"/api/v1/tasks/{task['id']}"}
        connection.execute(sa.text("UPDATE idempotency_keys SET response_headers = :headers WHERE id = :id"),
                           {"headers": json.dumps(headers), "id": row_id})


def downgrade():
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_column('response_headers')
