"""HubSpot as a source of new leads: the moment a lead is (shared by webhook and poll), the poll's watermark

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_leads") as batch:
        batch.add_column(sa.Column("moment", sa.String(length=200), nullable=True))
        batch.create_unique_constraint("uq_inbound_leads_source_moment", ["source", "moment"])
    op.create_table(
        "watermarks",
        sa.Column("name", sa.String(length=100), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("watermarks")
    with op.batch_alter_table("inbound_leads") as batch:
        batch.drop_constraint("uq_inbound_leads_source_moment", type_="unique")
        batch.drop_column("moment")
