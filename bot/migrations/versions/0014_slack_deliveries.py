"""The Slack events and Socket Mode envelopes already handled, so a redelivery is not handled twice

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_deliveries",
        sa.Column("key", sa.String(length=120), primary_key=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_slack_deliveries_handled_at", "slack_deliveries", ["handled_at"])


def downgrade() -> None:
    op.drop_index("ix_slack_deliveries_handled_at", table_name="slack_deliveries")
    op.drop_table("slack_deliveries")
