"""Charts and digests sent to Slack, and the indexes the metrics read periods through

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 06:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    ("ix_followups_sent_at", "followups", ["sent_at"]),
    ("ix_followups_triggered_at", "followups", ["triggered_at"]),
    ("ix_followups_created_at", "followups", ["created_at"]),
    ("ix_audit_events_at", "audit_events", ["at"]),
    ("ix_inbound_leads_received_at", "inbound_leads", ["received_at"]),
]


FAILED = sa.text("state = 'dead' OR attempts > 1")


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    op.create_index(
        "ix_work_items_failed", "work_items", ["updated_at"], postgresql_where=FAILED, sqlite_where=FAILED
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("file_id", sa.String(length=40), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("kind", "key", name="uq_reports_kind_key"),
    )


def downgrade() -> None:
    op.drop_table("reports")
    op.drop_index("ix_work_items_failed", table_name="work_items")
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
