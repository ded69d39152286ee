"""Follow-up tasks: the number a form or API client gives a new task, so a retry stores it once

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_uuid", sa.Uuid(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_followups_client_uuid"), ["client_uuid"])


def downgrade():
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_followups_client_uuid"), type_="unique")
        batch_op.drop_column("client_uuid")
