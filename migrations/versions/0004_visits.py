"""Visits with their policies, companions and attachments; problems raised in them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_uuid", sa.Uuid(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=12), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column(
            "mode",
            sa.Enum(
                "onsite",
                "meeting",
                "phone",
                "video",
                "policy_delivery",
                name="visitmode",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("people_met", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("next_step", sa.String(length=500), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("latitude", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("longitude", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("followup_title", sa.String(length=100), nullable=False),
        sa.Column("followup_due_on", sa.Date(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_code"], ["regions.code"], name=op.f("fk_visits_county_code_regions")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_visits_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_visits_enterprise_id_enterprises")
        ),
        sa.ForeignKeyConstraint(["lead_id"], ["users.id"], name=op.f("fk_visits_lead_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
        sa.UniqueConstraint("client_uuid", name=op.f("uq_visits_client_uuid")),
    )
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index(
            "ix_visits_county_date", ["county_code", "visit_date", "id"], unique=False
        )
        batch_op.create_index("ix_visits_date", ["visit_date", "id"], unique=False)
        batch_op.create_index(
            "ix_visits_enterprise_date", ["enterprise_id", "visit_date"], unique=False
        )
        batch_op.create_index("ix_visits_lead_date", ["lead_id", "visit_date"], unique=False)

    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("photo", "pdf", "office", name="attachmentkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("stored_name", sa.String(length=80), nullable=False),
        sa.Column("has_thumbnail", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_attachments_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visits.id"],
            name=op.f("fk_attachments_visit_id_visits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint("stored_name", name=op.f("uq_attachments_stored_name")),
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachments_visit_id"), ["visit_id"], unique=False)

    op.create_table(
        "problems",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=12), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column(
            "category",
            sa.Enum(
                "talent",
                "financing",
                "technology",
                "certification",
                "land",
                "policy",
                "market",
                "approval",
                "other",
                name="problemcategory",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
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
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_code"], ["regions.code"], name=op.f("fk_problems_county_code_regions")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_problems_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_problems_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visits.id"],
            name=op.f("fk_problems_visit_id_visits"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problems")),
    )
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.create_index("ix_problems_county_status", ["county_code", "status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_problems_enterprise_id"), ["enterprise_id"], unique=False
        )
        batch_op.create_index("ix_problems_raised_on", ["raised_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_problems_visit_id"), ["visit_id"], unique=False)

    op.create_table(
        "visit_companions",
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_visit_companions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visits.id"],
            name=op.f("fk_visit_companions_visit_id_visits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("visit_id", "user_id", name=op.f("pk_visit_companions")),
    )
    with op.batch_alter_table("visit_companions", schema=None) as batch_op:
        batch_op.create_index("ix_visit_companions_user_id", ["user_id"], unique=False)

    op.create_table(
        "visit_policies",
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["policies.id"], name=op.f("fk_visit_policies_policy_id_policies")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visits.id"],
            name=op.f("fk_visit_policies_visit_id_visits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("visit_id", "policy_id", name=op.f("pk_visit_policies")),
    )
    with op.batch_alter_table("visit_policies", schema=None) as batch_op:
        batch_op.create_index("ix_visit_policies_policy_id", ["policy_id"], unique=False)


def downgrade():
    with op.batch_alter_table("visit_policies", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_policies_policy_id")

    op.drop_table("visit_policies")
    with op.batch_alter_table("visit_companions", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_companions_user_id")

    op.drop_table("visit_companions")
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_problems_visit_id"))
        batch_op.drop_index("ix_problems_raised_on")
        batch_op.drop_index(batch_op.f("ix_problems_enterprise_id"))
        batch_op.drop_index("ix_problems_county_status")

    op.drop_table("problems")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_visit_id"))

    op.drop_table("attachments")
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_index("ix_visits_lead_date")
        batch_op.drop_index("ix_visits_enterprise_date")
        batch_op.drop_index("ix_visits_date")
        batch_op.drop_index("ix_visits_county_date")

    op.drop_table("visits")
