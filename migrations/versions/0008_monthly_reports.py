"""Monthly reports: the archive of generated workbooks; reopenings found by step and time

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "monthly_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "running",
                "done",
                "failed",
                name="reportstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column(
            "origin",
            sa.Enum(
                "scheduler", "user", "command", name="reportorigin", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("generated_by_id", sa.Integer(), nullable=True),
        sa.Column("data_as_of", sa.Date(), nullable=False),
        sa.Column("stored_name", sa.String(length=80), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("row_counts", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["generated_by_id"],
            ["users.id"],
            name=op.f("fk_monthly_reports_generated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_monthly_reports_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monthly_reports")),
        sa.UniqueConstraint(
            "month", "region_code", "version", name=op.f("uq_monthly_reports_month")
        ),
    )

    with op.batch_alter_table("problem_events", schema=None) as batch_op:
        batch_op.create_index("ix_problem_events_step_at", ["step", "at"], unique=False)


def downgrade():
    with op.batch_alter_table("problem_events", schema=None) as batch_op:
        batch_op.drop_index("ix_problem_events_step_at")

    op.drop_table("monthly_reports")
