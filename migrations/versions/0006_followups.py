"""Follow-up tasks, notifications, scheduled job runs; users' e-mail

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
        sa.UniqueConstraint("job", "period", name="uq_job_runs_job_period"),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "assigned",
                "due_soon",
                "overdue",
                "escalated",
                "problem",
                "certification",
                name="notificationkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("link", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("user_id", "key", name="uq_notifications_user_key"),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notifications_user_read", ["user_id", "read_at", "created_at"], unique=False
        )

    op.create_table(
        "followups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=12), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("problem_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by_id", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column(
            "priority",
            sa.Enum("low", "normal", "high", name="priority", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "todo", "done", "cancelled", name="followupstatus", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column(
            "repeat",
            sa.Enum("monthly", "quarterly", name="repeat", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column("repeat_day", sa.Integer(), nullable=True),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=500), nullable=False),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"],
            ["users.id"],
            name=op.f("fk_followups_assigned_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["users.id"], name=op.f("fk_followups_assignee_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_id"],
            ["users.id"],
            name=op.f("fk_followups_closed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["county_code"], ["regions.code"], name=op.f("fk_followups_county_code_regions")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_followups_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"],
            ["followups.id"],
            name=op.f("fk_followups_previous_id_followups"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["problem_id"],
            ["problems.id"],
            name=op.f("fk_followups_problem_id_problems"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visits.id"],
            name=op.f("fk_followups_visit_id_visits"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followups")),
        sa.UniqueConstraint("previous_id", name=op.f("uq_followups_previous_id")),
    )
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.create_index(
            "ix_followups_assignee_status_due", ["assignee_id", "status", "due_on"], unique=False
        )
        batch_op.create_index(
            "ix_followups_county_status_due", ["county_code", "status", "due_on"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_followups_enterprise_id"), ["enterprise_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_followups_problem_id"), ["problem_id"], unique=False)
        batch_op.create_index("ix_followups_status_due", ["status", "due_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_followups_visit_id"), ["visit_id"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email", sa.String(length=120), nullable=False, server_default="")
        )

    _visit_followups_become_tasks()


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email")

    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_followups_visit_id"))
        batch_op.drop_index("ix_followups_status_due")
        batch_op.drop_index(batch_op.f("ix_followups_problem_id"))
        batch_op.drop_index(batch_op.f("ix_followups_enterprise_id"))
        batch_op.drop_index("ix_followups_county_status_due")
        batch_op.drop_index("ix_followups_assignee_status_due")

    op.drop_table("followups")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_user_read")

    op.drop_table("notifications")
    op.drop_table("job_runs")


def _visit_followups_become_tasks():
    """A follow-up asked for on a visit before this revision becomes the lead officer's task.
    Those already past their due date count as reminded and escalated, so that the scheduler's
    first run does not tell everyone about every old task at once."""
    connection = op.get_bind()
    visits = sa.table(
        "visits",
        sa.column("id"),
        sa.column("enterprise_id"),
        sa.column("county_code"),
        sa.column("lead_id"),
        sa.column("followup_title"),
        sa.column("followup_due_on", sa.Date()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    moment = sa.DateTime(timezone=True)
    followups = sa.table(
        "followups",
        *(sa.column(name) for name in ("enterprise_id", "county_code", "visit_id", "title")),
        *(sa.column(name) for name in ("details", "assignee_id", "assigned_by_id")),
        sa.column("due_on", sa.Date()),
        *(sa.column(name) for name in ("priority", "status", "outcome", "cancel_reason")),
        sa.column("version"),
        *(sa.column(name, moment) for name in ("reminded_at", "escalated_at")),
        *(sa.column(name, moment) for name in ("created_at", "updated_at")),
    )
    rows = connection.execute(
        sa.select(visits).where(
            visits.c.followup_title != "", visits.c.followup_due_on.is_not(None)
        )
    ).all()
    # Past due by the bureau's calendar (a day's margin either way does no harm here).
    today = datetime.now(UTC).date()
    if rows:
        connection.execute(
            followups.insert(),
            [
                {
                    "enterprise_id": row.enterprise_id,
                    "county_code": row.county_code,
                    "visit_id": row.id,
                    "title": row.followup_title,
                    "details": "",
                    "assignee_id": row.lead_id,
                    "assigned_by_id": row.lead_id,
                    "due_on": row.followup_due_on,
                    "priority": "normal",
                    "status": "todo",
                    "outcome": "",
                    "cancel_reason": "",
                    "version": 1,
                    "reminded_at": row.created_at if row.followup_due_on < today else None,
                    "escalated_at": row.created_at if row.followup_due_on < today else None,
                    "created_at": row.created_at,
                    "updated_at": row.created_at,
                }
                for row in rows
            ],
        )
