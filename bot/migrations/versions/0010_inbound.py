"""new leads as they arrive: stored before acknowledged, then routed and alerted

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inbound_leads",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("origin", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("company", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("route", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("classification", sa.String(length=80), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.String(length=64), nullable=True),
        sa.Column("owner_crm_id", sa.String(length=64), nullable=True),
        sa.Column("owner_slack_id", sa.String(length=32), nullable=True),
        sa.Column("followup_id", sa.Integer(), sa.ForeignKey("followups.id"), nullable=True),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("alerted_at", TS, nullable=True),
        sa.Column("reminded_at", TS, nullable=True),
        sa.Column("escalated_at", TS, nullable=True),
        sa.Column("first_action_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("source", "external_id", name="uq_inbound_leads_source_external"),
    )
    op.create_index("ix_inbound_leads_email_received", "inbound_leads", ["email", "received_at"])
    op.create_index("ix_inbound_leads_route_state", "inbound_leads", ["route", "state"])
    op.create_index("ix_inbound_leads_followup_id", "inbound_leads", ["followup_id"])


def downgrade() -> None:
    op.drop_index("ix_inbound_leads_followup_id", table_name="inbound_leads")
    op.drop_index("ix_inbound_leads_route_state", table_name="inbound_leads")
    op.drop_index("ix_inbound_leads_email_received", table_name="inbound_leads")
    op.drop_table("inbound_leads")
