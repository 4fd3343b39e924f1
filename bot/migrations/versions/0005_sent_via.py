"""which path a sent follow-up went by: SMTP from the rep's address, or the CRM inbox thread

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("followups") as batch:
        batch.add_column(sa.Column("sent_via", sa.String(length=20), nullable=True))
    op.execute("UPDATE followups SET sent_via = 'email' WHERE sent_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("followups") as batch:
        batch.drop_column("sent_via")
