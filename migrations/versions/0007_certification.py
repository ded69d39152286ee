"""Certification cases and their stage history

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "certification_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=12), nullable=False),
        sa.Column(
            "programme",
            sa.Enum("high_tech", "tech_sme", name="programme", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("batch", sa.String(length=32), nullable=False),
        sa.Column(
            "stage",
            sa.Enum(
                "prospect",
                "coaching",
                "preparing",
                "submitted",
                "reviewing",
                "publicized",
                "certified",
                "registered",
                "rejected",
                "withdrawn",
                name="stage",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("stage_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=True),
        sa.Column("result_on", sa.Date(), nullable=True),
        sa.Column("certificate_no", sa.String(length=32), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("renews_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_code"],
            ["regions.code"],
            name=op.f("fk_certification_cases_county_code_regions"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_certification_cases_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_certification_cases_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["renews_id"],
            ["certification_cases.id"],
            name=op.f("fk_certification_cases_renews_id_certification_cases"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certification_cases")),
        sa.UniqueConstraint("renews_id", name=op.f("uq_certification_cases_renews_id")),
    )
    with op.batch_alter_table("certification_cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_certification_cases_county_programme_year",
            ["county_code", "programme", "year"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_certification_cases_enterprise_id"), ["enterprise_id"], unique=False
        )
        batch_op.create_index(
            "ix_certification_cases_programme_year_stage",
            ["programme", "year", "stage"],
            unique=False,
        )
        batch_op.create_index(
            "ix_certification_cases_stage_valid_until", ["stage", "valid_until"], unique=False
        )

    op.create_table(
        "certification_stage_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "from_stage",
            sa.Enum(
                "prospect",
                "coaching",
                "preparing",
                "submitted",
                "reviewing",
                "publicized",
                "certified",
                "registered",
                "rejected",
                "withdrawn",
                name="stage",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_stage",
            sa.Enum(
                "prospect",
                "coaching",
                "preparing",
                "submitted",
                "reviewing",
                "publicized",
                "certified",
                "registered",
                "rejected",
                "withdrawn",
                name="stage",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=50), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_certification_stage_events_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["certification_cases.id"],
            name=op.f("fk_certification_stage_events_case_id_certification_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certification_stage_events")),
    )
    with op.batch_alter_table("certification_stage_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certification_stage_events_case_id"), ["case_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("certification_stage_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certification_stage_events_case_id"))

    op.drop_table("certification_stage_events")
    with op.batch_alter_table("certification_cases", schema=None) as batch_op:
        batch_op.drop_index("ix_certification_cases_stage_valid_until")
        batch_op.drop_index("ix_certification_cases_programme_year_stage")
        batch_op.drop_index(batch_op.f("ix_certification_cases_enterprise_id"))
        batch_op.drop_index("ix_certification_cases_county_programme_year")

    op.drop_table("certification_cases")
