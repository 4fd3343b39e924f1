"""CRM write-back: the records created in the CRM per follow-up, and the follow-up's CRM company

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("followups") as batch:
        batch.add_column(sa.Column("company_id", sa.String(length=64), nullable=True))
    op.create_table(
        "crm_writes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("followup_id", sa.Integer(), sa.ForeignKey("followups.id"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("crm_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("followup_id", "kind", name="uq_crm_writes_followup_kind"),
    )
    op.create_index("ix_crm_writes_followup_id", "crm_writes", ["followup_id"])
    # an email already logged before this version is its follow-up's "email" write
    op.execute(
        "INSERT INTO crm_writes (followup_id, kind, crm_id, created_at) "
        "SELECT id, 'email', crm_engagement_id, updated_at FROM followups WHERE crm_engagement_id IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_crm_writes_followup_id", table_name="crm_writes")
    op.drop_table("crm_writes")
    with op.batch_alter_table("followups") as batch:
        batch.drop_column("company_id")
