"""unsubscribe tokens (one per follow-up sent) and suppressions (addresses that get nothing more)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unsubscribe_tokens",
        sa.Column("token", sa.String(length=64), primary_key=True),
        sa.Column("followup_id", sa.Integer(), sa.ForeignKey("followups.id"), nullable=False),
        sa.Column("contact_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_unsubscribe_tokens_followup_id", "unsubscribe_tokens", ["followup_id"], unique=True)
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("contact_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_suppressions_email", "suppressions", ["email"], unique=True)
    op.create_index("ix_suppressions_contact_id", "suppressions", ["contact_id"])
    with op.batch_alter_table("crm_contacts") as batch:
        batch.add_column(sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("crm_contacts") as batch:
        batch.drop_column("opted_out_at")
    op.drop_index("ix_suppressions_contact_id", table_name="suppressions")
    op.drop_index("ix_suppressions_email", table_name="suppressions")
    op.drop_table("suppressions")
    op.drop_index("ix_unsubscribe_tokens_followup_id", table_name="unsubscribe_tokens")
    op.drop_table("unsubscribe_tokens")
