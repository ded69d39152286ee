"""Enterprises and their contacts; the policy catalogue (with its first entries).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from crm.policies.reference import seed_policies

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "qualification",
                "tax",
                "finance",
                "talent",
                "platform",
                "transfer",
                "other",
                name="policycategory",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("summary", sa.String(length=200), nullable=False),
        sa.Column("issuer", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policies")),
        sa.UniqueConstraint("name", name=op.f("uq_policies_name")),
    )
    op.create_table(
        "enterprises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("credit_code_unverified", sa.Boolean(), nullable=False),
        sa.Column("county_code", sa.String(length=12), nullable=False),
        sa.Column("township_code", sa.String(length=12), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("legal_representative", sa.String(length=50), nullable=False),
        sa.Column("founded_on", sa.Date(), nullable=True),
        sa.Column("industry", sa.String(length=3), nullable=True),
        sa.Column(
            "scale",
            sa.Enum(
                "large", "medium", "small", "micro", name="scale", native_enum=False, length=32
            ),
            nullable=True,
        ),
        sa.Column("above_scale", sa.Boolean(), nullable=False),
        sa.Column("staff", sa.Integer(), nullable=True),
        sa.Column("tech_staff", sa.Integer(), nullable=True),
        sa.Column("revenue", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("rnd_expense", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("high_tech_revenue", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("ip_class1", sa.Integer(), nullable=True),
        sa.Column("ip_class2", sa.Integer(), nullable=True),
        sa.Column("high_tech", sa.Boolean(), nullable=False),
        sa.Column("high_tech_certificate", sa.String(length=32), nullable=False),
        sa.Column("high_tech_valid_until", sa.Date(), nullable=True),
        sa.Column("tech_sme", sa.Boolean(), nullable=False),
        sa.Column("tech_sme_number", sa.String(length=32), nullable=False),
        sa.Column("tech_sme_year", sa.Integer(), nullable=True),
        sa.Column(
            "specialized",
            sa.Enum(
                "city",
                "province",
                "national",
                name="specializedlevel",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("liaison_id", sa.Integer(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("name_pinyin", sa.String(length=600), nullable=False),
        sa.Column("name_initials", sa.String(length=200), nullable=False),
        sa.Column("last_visited_on", sa.Date(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_code"], ["regions.code"], name=op.f("fk_enterprises_county_code_regions")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_enterprises_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["liaison_id"],
            ["users.id"],
            name=op.f("fk_enterprises_liaison_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["township_code"], ["regions.code"], name=op.f("fk_enterprises_township_code_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprises")),
    )
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enterprises_county_code"), ["county_code"], unique=False
        )
        batch_op.create_index("ix_enterprises_county_name", ["county_code", "name"], unique=False)
        batch_op.create_index(batch_op.f("ix_enterprises_industry"), ["industry"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_enterprises_last_visited_on"), ["last_visited_on"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_enterprises_liaison_id"), ["liaison_id"], unique=False)
        batch_op.create_index(
            "uq_enterprises_live_credit_code",
            ["credit_code"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )

    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("title", sa.String(length=50), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("primary", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_contacts_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contacts_enterprise_id"), ["enterprise_id"], unique=False
        )

    seed_policies(op.get_bind())


def downgrade():
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_enterprise_id"))

    op.drop_table("contacts")
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_enterprises_live_credit_code",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_enterprises_liaison_id"))
        batch_op.drop_index(batch_op.f("ix_enterprises_last_visited_on"))
        batch_op.drop_index(batch_op.f("ix_enterprises_industry"))
        batch_op.drop_index("ix_enterprises_county_name")
        batch_op.drop_index(batch_op.f("ix_enterprises_county_code"))

    op.drop_table("enterprises")
    op.drop_table("policies")
