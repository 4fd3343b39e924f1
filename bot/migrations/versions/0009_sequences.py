"""sequences of touches, send windows (slots and per-mailbox day counts), the daily budget's queue

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sequences",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("rule", sa.String(length=60), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("parent_id", sa.Integer(), sa.ForeignKey("sequences.id"), nullable=True),
        sa.Column("contact_id", sa.String(length=64), nullable=False),
        sa.Column("contact_email", sa.String(length=320), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("company_id", sa.String(length=64), nullable=True),
        sa.Column("deal_id", sa.String(length=64), nullable=True),
        sa.Column("deal_stage", sa.String(length=100), nullable=True),
        sa.Column("touches", sa.Integer(), nullable=False),
        sa.Column("touch", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("since_at", TS, nullable=False),
        sa.Column("next_touch_at", TS, nullable=True),
        sa.Column("hold_until", TS, nullable=True),
        sa.Column("completes_at", TS, nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_sequences_state_next", "sequences", ["state", "next_touch_at"])
    op.create_index("ix_sequences_contact_rule", "sequences", ["contact_id", "rule", "state"])
    op.create_index("ix_sequences_company_id", "sequences", ["company_id"])
    op.create_table(
        "mailbox_days",
        sa.Column("mailbox", sa.String(length=320), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("used", sa.Integer(), nullable=False),
    )
    op.create_table(
        "send_slots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mailbox", sa.String(length=320), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("followup_id", sa.Integer(), sa.ForeignKey("followups.id"), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.UniqueConstraint("mailbox", "slot", name="uq_send_slots_mailbox_slot"),
    )
    op.create_index("ix_send_slots_followup_id", "send_slots", ["followup_id"])
    # plain ADD COLUMNs: rebuilding followups in SQLite (to add a foreign key) would trip the foreign keys
    # other tables hold on it, so sequence_id is a plain indexed column
    op.add_column("followups", sa.Column("sequence_id", sa.Integer(), nullable=True))
    op.add_column("followups", sa.Column("touch", sa.Integer(), nullable=True))
    op.add_column("followups", sa.Column("send_at", TS, nullable=True))
    op.add_column("followups", sa.Column("recipient_tz", sa.String(length=64), nullable=True))
    op.add_column("followups", sa.Column("value", sa.Float(), nullable=False, server_default="0"))
    op.add_column("followups", sa.Column("shown_at", TS, nullable=True))
    op.create_index("ix_followups_sequence_id", "followups", ["sequence_id"])
    op.add_column("crm_contacts", sa.Column("timezone", sa.String(length=64), nullable=True))
    op.add_column("crm_contacts", sa.Column("sequence_status", sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.drop_column("crm_contacts", "sequence_status")
    op.drop_column("crm_contacts", "timezone")
    op.drop_index("ix_followups_sequence_id", table_name="followups")
    for column in ("shown_at", "value", "recipient_tz", "send_at", "touch", "sequence_id"):
        op.drop_column("followups", column)
    op.drop_index("ix_send_slots_followup_id", table_name="send_slots")
    op.drop_table("send_slots")
    op.drop_table("mailbox_days")
    op.drop_index("ix_sequences_company_id", table_name="sequences")
    op.drop_index("ix_sequences_contact_rule", table_name="sequences")
    op.drop_index("ix_sequences_state_next", table_name="sequences")
    op.drop_table("sequences")
