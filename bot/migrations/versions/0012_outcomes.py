"""What came of the follow-ups (replies, meetings, won deals) as the CRM tells it

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source_id", sa.String(length=100), nullable=False),
        sa.Column("followup_id", sa.Integer(), sa.ForeignKey("followups.id"), nullable=True),
        sa.Column("contact_id", sa.String(length=64), nullable=True),
        sa.Column("deal_id", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("other_touches", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("kind", "source_id", name="uq_outcomes_kind_source"),
    )
    op.create_index("ix_outcomes_kind_at", "outcomes", ["kind", "at"])
    op.create_index("ix_outcomes_followup_id", "outcomes", ["followup_id"])


def downgrade() -> None:
    op.drop_index("ix_outcomes_followup_id", table_name="outcomes")
    op.drop_index("ix_outcomes_kind_at", table_name="outcomes")
    op.drop_table("outcomes")
