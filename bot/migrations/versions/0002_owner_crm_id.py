"""follow-ups remember the CRM owner id, so the sent email is logged under the right owner

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 08:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("followups") as batch:
        batch.add_column(sa.Column("owner_crm_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("followups") as batch:
        batch.drop_column("owner_crm_id")
