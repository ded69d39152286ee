"""The problem ledger: assignment, deadlines, call-backs and the history of every step.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


# Problems recorded before this revision get the defaults (not major, no unit, never reopened).


def upgrade():
    op.create_table(
        "problem_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column(
            "from_status",
            sa.Enum(
                "new",
                "assigned",
                "in_progress",
                "resolved",
                "closed",
                "unresolvable",
                name="problemstatus",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "new",
                "assigned",
                "in_progress",
                "resolved",
                "closed",
                "unresolvable",
                name="problemstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=50), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_problem_events_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["problem_id"],
            ["problems.id"],
            name=op.f("fk_problem_events_problem_id_problems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem_events")),
    )
    with op.batch_alter_table("problem_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_problem_events_problem_id"), ["problem_id"], unique=False
        )

    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("major", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("unit", sa.String(length=100), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("unit_contact", sa.String(length=100), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("assigned_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("due_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("first_progress_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("resolution", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("resolved_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "satisfaction",
                sa.Enum(
                    "satisfied",
                    "basically_satisfied",
                    "dissatisfied",
                    name="satisfaction",
                    native_enum=False,
                    length=32,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column("callback_comment", sa.String(length=500), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("closed_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("closed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("reopen_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("unresolvable_reason", sa.Text(), nullable=False, server_default="")
        )
        batch_op.drop_index(batch_op.f("ix_problems_county_status"))
        batch_op.create_index(
            "ix_problems_county_status_due", ["county_code", "status", "due_on"], unique=False
        )
        batch_op.create_index("ix_problems_status_due", ["status", "due_on"], unique=False)
        batch_op.create_index(
            "ix_problems_county_raised", ["county_code", "raised_on"], unique=False
        )
        batch_op.create_index("ix_problems_status_raised", ["status", "raised_on"], unique=False)
        batch_op.create_index(
            "ix_problems_assignee_status_due", ["assignee_id", "status", "due_on"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_problems_assignee_id_users"),
            "users",
            ["assignee_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_problems_closed_by_id_users"),
            "users",
            ["closed_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_problems_assigned_by_id_users"),
            "users",
            ["assigned_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_problems_assigned_by_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_problems_closed_by_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_problems_assignee_id_users"), type_="foreignkey")
        batch_op.drop_index("ix_problems_assignee_status_due")
        batch_op.drop_index("ix_problems_status_raised")
        batch_op.drop_index("ix_problems_county_raised")
        batch_op.drop_index("ix_problems_status_due")
        batch_op.drop_index("ix_problems_county_status_due")
        batch_op.create_index(
            batch_op.f("ix_problems_county_status"), ["county_code", "status"], unique=False
        )
        batch_op.drop_column("unresolvable_reason")
        batch_op.drop_column("reopen_count")
        batch_op.drop_column("closed_by_id")
        batch_op.drop_column("closed_on")
        batch_op.drop_column("callback_comment")
        batch_op.drop_column("satisfaction")
        batch_op.drop_column("resolved_on")
        batch_op.drop_column("resolution")
        batch_op.drop_column("first_progress_at")
        batch_op.drop_column("acknowledged_at")
        batch_op.drop_column("due_on")
        batch_op.drop_column("assigned_at")
        batch_op.drop_column("assigned_by_id")
        batch_op.drop_column("unit_contact")
        batch_op.drop_column("unit")
        batch_op.drop_column("assignee_id")
        batch_op.drop_column("major")

    with op.batch_alter_table("problem_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_problem_events_problem_id"))

    op.drop_table("problem_events")
