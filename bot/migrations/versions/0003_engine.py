"""the engine: follow-up lifecycle columns, the work queue (outbox), leases, status indexes, CRM fields

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("followups") as batch:
        batch.add_column(sa.Column("since_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("outcome_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("outcome_by", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("dismiss_reason", sa.String(length=30), nullable=True))
        batch.add_column(sa.Column("send_handover_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_followups_due_at", ["due_at"])
        batch.create_index("ix_followups_message_id", ["message_id"])
        batch.create_index("ix_followups_owner_state", ["owner_slack_id", "state", "triggered_at"])
        batch.create_index("ix_followups_escalated_state", ["escalated_to", "state", "triggered_at"])
        batch.create_index("ix_followups_sent_by_at", ["sent_by", "sent_at"])
    with op.batch_alter_table("crm_deals") as batch:
        batch.add_column(sa.Column("quote_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("lost_reason", sa.String(length=200), nullable=True))
    with op.batch_alter_table("crm_engagements") as batch:
        batch.create_index("ix_crm_engagements_deal_id", ["deal_id"])
        batch.create_index("ix_crm_engagements_message_id", ["message_id"])
    op.create_table(
        "work_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("followup_id", sa.Integer(), sa.ForeignKey("followups.id"), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_work_items_claimable", "work_items", ["state", "due_at"])
    op.create_index("ix_work_items_followup_id", "work_items", ["followup_id"])
    # what the old in-memory path left behind: a send in progress has an unknown outcome now (a person
    # decides), and a pending follow-up that never reached Slack gets its card through the queue
    op.execute(
        "UPDATE followups SET state = 'unknown', last_error = 'The app was upgraded while this was being "
        "sent, so it may or may not have gone out. Check the lead''s thread, then choose.' "
        "WHERE state = 'sending'"
    )
    op.execute(
        """
        INSERT INTO work_items (kind, followup_id, payload, state, due_at, attempts, created_at, updated_at)
        SELECT 'post_card', id, '{}', 'queued', updated_at, 0, updated_at, updated_at FROM followups
        WHERE state = 'pending' AND id NOT IN (SELECT followup_id FROM card_messages)
        """
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=60), primary_key=True),
        sa.Column("holder", sa.String(length=100), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_table("work_items")
    with op.batch_alter_table("crm_engagements") as batch:
        batch.drop_index("ix_crm_engagements_message_id")
        batch.drop_index("ix_crm_engagements_deal_id")
    with op.batch_alter_table("crm_deals") as batch:
        batch.drop_column("lost_reason")
        batch.drop_column("quote_expires_at")
    with op.batch_alter_table("followups") as batch:
        for name in ("sent_by_at", "escalated_state", "owner_state", "message_id", "due_at"):
            batch.drop_index(f"ix_followups_{name}")
        for col in (
            "send_handover_at",
            "dismiss_reason",
            "outcome_by",
            "outcome_reason",
            "due_at",
            "since_at",
        ):
            batch.drop_column(col)
