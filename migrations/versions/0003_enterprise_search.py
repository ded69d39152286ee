"""Enterprise search: a bigram document per enterprise and its full-text index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from crm.enterprises import search_index
from crm.enterprises.search import search_fields

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

enterprises = sa.table(
    "enterprises",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("county_code", sa.String),
    sa.column("name_pinyin", sa.String),
    sa.column("name_initials", sa.String),
    sa.column("search_doc", sa.Text),
)


def upgrade():
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_doc", sa.Text(), nullable=False, server_default=""))
    bind = op.get_bind()
    # Documents in the application's current format; a later change of format comes with a
    # migration that computes them again.
    columns = (enterprises.c.id, enterprises.c.name, enterprises.c.county_code)
    for ident, name, county in bind.execute(sa.select(*columns)).all():
        derived = search_fields(name, county)
        bind.execute(enterprises.update().where(enterprises.c.id == ident).values(**derived))
    search_index.create(bind)


def downgrade():
    search_index.drop(op.get_bind())
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.drop_column("search_doc")
