"""My tasks: an assignee's last tasks done found by index, not by sorting all of them

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.create_index(
            "ix_followups_assignee_status_completed",
            ["assignee_id", "status", "completed_at"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_index("ix_followups_assignee_status_completed")
