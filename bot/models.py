"""SQLAlchemy models for follow-ups, their drafts, cards and audit trail."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; SQLite drops the zone, so it is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class FollowUp(Base):
    __tablename__ = "followups"
    __table_args__ = (
        # /followup status: a rep's queue, and what was escalated to them
        Index("ix_followups_owner_state", "owner_slack_id", "state", "triggered_at"),
        Index("ix_followups_escalated_state", "escalated_to", "state", "triggered_at"),
        Index("ix_followups_sent_by_at", "sent_by", "sent_at"),
        # the metrics read a period of follow-ups by when they were sent, triggered or created
        Index("ix_followups_sent_at", "sent_at"),
        Index("ix_followups_triggered_at", "triggered_at"),
        Index("ix_followups_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    rule: Mapped[str] = mapped_column(String(60))
    reason: Mapped[str] = mapped_column(Text)
    contact_id: Mapped[str] = mapped_column(String(64))
    contact_email: Mapped[str] = mapped_column(String(320))
    contact_name: Mapped[str] = mapped_column(String(200))
    company_name: Mapped[str | None] = mapped_column(String(200))
    deal_id: Mapped[str | None] = mapped_column(String(64))
    owner_crm_id: Mapped[str | None] = mapped_column(String(64))
    owner_email: Mapped[str | None] = mapped_column(String(320))
    owner_name: Mapped[str | None] = mapped_column(String(200))
    owner_slack_id: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(20), index=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    triggered_at: Mapped[datetime]
    since_at: Mapped[datetime | None]  # when the silence began; still_applies measures from here
    due_at: Mapped[datetime | None] = mapped_column(index=True)  # scheduled: when it comes due
    outcome_reason: Mapped[str | None] = mapped_column(Text)  # why it was resolved or dismissed
    outcome_by: Mapped[str | None] = mapped_column(String(100))
    dismiss_reason: Mapped[str | None] = mapped_column(String(30))
    send_handover_at: Mapped[datetime | None]  # set just before the message goes to the mail server
    snoozed_until: Mapped[datetime | None] = mapped_column(index=True)
    escalated_to: Mapped[str | None] = mapped_column(String(32))
    message_id: Mapped[str | None] = mapped_column(String(255), index=True)
    sent_at: Mapped[datetime | None]
    sent_by: Mapped[str | None] = mapped_column(String(32))
    sent_draft_id: Mapped[int | None]
    crm_engagement_id: Mapped[str | None] = mapped_column(String(64))
    company_id: Mapped[str | None] = mapped_column(String(64))  # the CRM company, for associations
    sent_via: Mapped[str | None] = mapped_column(String(20))  # "email" (SMTP) | "inbox" (the CRM's thread)
    last_error: Mapped[str | None] = mapped_column(Text)
    sequence_id: Mapped[int | None] = mapped_column(Integer, index=True)  # sequences.id (no FK: see 0009)
    touch: Mapped[int | None] = mapped_column(Integer)  # which touch of its sequence (1 = the rule's card)
    send_at: Mapped[datetime | None]  # approved: when it leaves (the recipient's hours, the mailbox's pace)
    recipient_tz: Mapped[str | None] = mapped_column(String(64))  # the zone send_at was chosen in
    value: Mapped[float] = mapped_column(
        Float(), default=0.0, server_default="0"
    )  # the daily budget shows higher first
    shown_at: Mapped[datetime | None]  # first put in front of a person (counts against their day)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    sequence: Mapped[Sequence | None] = relationship(
        primaryjoin="foreign(FollowUp.sequence_id) == Sequence.id", viewonly=True
    )
    drafts: Mapped[list[Draft]] = relationship(back_populates="followup", order_by="Draft.id")
    cards: Mapped[list[CardMessage]] = relationship(back_populates="followup", order_by="CardMessage.id")
    events: Mapped[list[AuditEvent]] = relationship(back_populates="followup", order_by="AuditEvent.id")
    # what came back to the replies mailbox for it (read only for sent follow-ups' cards)
    inbound: Mapped[list[InboundMessage]] = relationship(order_by="InboundMessage.id", viewonly=True)

    @property
    def current_draft(self) -> Draft:
        return self.drafts[-1]

    @property
    def ai_draft(self) -> Draft:
        return next(d for d in self.drafts if d.origin == "ai")

    @property
    def edited(self) -> bool:
        return any(d.origin == "edit" for d in self.drafts)


class Sequence(Base):
    """The touches one rule's follow-up takes with one contact: created with the first touch, it schedules
    each next touch when the one before is sent, and ends stopped (a reply, a meeting, an opt-out, a bounce,
    the deal moving, a person dismissing a touch) or completed (no reply after the break-up)."""

    __tablename__ = "sequences"
    __table_args__ = (
        Index("ix_sequences_state_next", "state", "next_touch_at"),
        Index("ix_sequences_contact_rule", "contact_id", "rule", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(60))
    origin: Mapped[str] = mapped_column(String(20))  # "rule" (its first touch was a trigger) | "nurture"
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("sequences.id"))  # the sequence nurture follows
    contact_id: Mapped[str] = mapped_column(String(64))
    contact_email: Mapped[str] = mapped_column(String(320))
    contact_name: Mapped[str] = mapped_column(String(200))
    company_id: Mapped[str | None] = mapped_column(String(64), index=True)
    deal_id: Mapped[str | None] = mapped_column(String(64))
    deal_stage: Mapped[str | None] = mapped_column(String(100))  # when it started: a move stops it
    touches: Mapped[int] = mapped_column(Integer)
    touch: Mapped[int] = mapped_column(Integer)  # the latest touch created (0: none yet)
    state: Mapped[str] = mapped_column(String(20))  # active | stopped | completed
    since_at: Mapped[datetime]  # replies, meetings and stage moves after this stop it
    next_touch_at: Mapped[datetime | None]  # the next touch is drafted then
    hold_until: Mapped[datetime | None]  # an out-of-office return: nothing goes out before
    completes_at: Mapped[datetime | None]  # the break-up went out: completed then, if nothing stops it
    outcome: Mapped[str | None] = mapped_column(Text)
    ended_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MailboxDay(Base):
    """How many sends one mailbox has been given on one day (the team's calendar day): the daily cap is a
    conditional increment of this row, so replicas approving at the same moment can't pass it."""

    __tablename__ = "mailbox_days"

    mailbox: Mapped[str] = mapped_column(String(320), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    used: Mapped[int] = mapped_column(Integer)


class SendSlot(Base):
    """One send's place in its mailbox's day: the slot (seconds since the epoch over the spacing; none when
    spacing is off) is unique per mailbox, so two sends are spaced; the day is the count it took."""

    __tablename__ = "send_slots"
    __table_args__ = (UniqueConstraint("mailbox", "slot", name="uq_send_slots_mailbox_slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(320))
    slot: Mapped[int | None] = mapped_column(BigInteger)
    day: Mapped[date]
    followup_id: Mapped[int] = mapped_column(ForeignKey("followups.id"), index=True)
    at: Mapped[datetime]


class CrmWrite(Base):
    """A record this app created in the CRM for a follow-up (the logged email, the review-trail note, the
    owner's task), with the CRM's id: written once, so a retried job skips what is done."""

    __tablename__ = "crm_writes"
    __table_args__ = (UniqueConstraint("followup_id", "kind", name="uq_crm_writes_followup_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    followup_id: Mapped[int] = mapped_column(ForeignKey("followups.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # "email" | "trail" | "task"
    crm_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class Draft(Base):
    """One version of the message: the AI's output or a person's edit. Never updated, only added."""

    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    followup_id: Mapped[int] = mapped_column(ForeignKey("followups.id"), index=True)
    origin: Mapped[str] = mapped_column(String(10))  # "ai" | "edit"
    author: Mapped[str] = mapped_column(String(100))  # drafter name or Slack user id
    model: Mapped[str | None] = mapped_column(String(100))
    prompt_version: Mapped[str | None] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text)
    classification: Mapped[str] = mapped_column(String(80))
    urgency: Mapped[str] = mapped_column(String(10))
    missing_information: Mapped[list[Any]]
    review_flags: Mapped[list[Any]]
    sources: Mapped[list[Any]]
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(String(36))  # the pipeline run; its steps are in ai_outputs
    analysis: Mapped[
        dict[str, Any] | None
    ]  # class, confidence, extraction, scores, which engine ran each step
    created_at: Mapped[datetime]

    followup: Mapped[FollowUp] = relationship(back_populates="drafts")


class AiOutput(Base):
    """One step of one pipeline run: what the model (or the offline path) answered, with what prompt, and what
    it cost. Written as each call returns, whatever happens to the draft after."""

    __tablename__ = "ai_outputs"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(String(36), index=True)
    step: Mapped[str] = mapped_column(String(20))
    engine: Mapped[str] = mapped_column(String(20))  # "claude" | "offline"
    status: Mapped[str] = mapped_column(String(20))  # ok | invalid | failed | over_cap
    prompt_name: Mapped[str | None] = mapped_column(String(40))
    prompt_version: Mapped[int | None] = mapped_column(Integer)
    prompt_sha: Mapped[str | None] = mapped_column(String(16))
    model: Mapped[str | None] = mapped_column(String(100))
    arm: Mapped[str | None] = mapped_column(String(1))  # "A" | "B" when the step is split between versions
    batch: Mapped[bool] = mapped_column(default=False)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_read_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_write_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float(), default=0.0)
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    output: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(index=True)


class CardMessage(Base):
    """A Slack message showing a follow-up; every one is refreshed when the follow-up changes."""

    __tablename__ = "card_messages"
    __table_args__ = (UniqueConstraint("channel", "ts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    followup_id: Mapped[int] = mapped_column(ForeignKey("followups.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # "card" | "escalation"
    channel: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))
    permalink: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]

    followup: Mapped[FollowUp] = relationship(back_populates="cards")


class AuditEvent(Base):
    """Who did what to a follow-up, when, and which state it moved between."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    followup_id: Mapped[int] = mapped_column(ForeignKey("followups.id"), index=True)
    at: Mapped[datetime] = mapped_column(index=True)  # the metrics and the audit export read by period
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    detail: Mapped[dict[str, Any]]

    followup: Mapped[FollowUp] = relationship(back_populates="events")


class WorkItem(Base):
    """A side effect that must happen after a state change, written in the same transaction (the outbox).

    Workers claim rows atomically and hold them under a lease; a row whose lease ran out (its worker died)
    can be claimed again."""

    __tablename__ = "work_items"
    __table_args__ = (
        Index("ix_work_items_claimable", "state", "due_at"),
        # the metrics count failed attempts by period: a small index of only the items that failed
        Index(
            "ix_work_items_failed",
            "updated_at",
            postgresql_where=text("state = 'dead' OR attempts > 1"),
            sqlite_where=text("state = 'dead' OR attempts > 1"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id"), index=True)
    payload: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(10))  # queued | claimed | done | dead
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Lease(Base):
    """A named lease in the database: a periodic job runs where its lease is held, once per tick."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    until: Mapped[datetime]


class UnsubscribeToken(Base):
    """The random token in a sent email's unsubscribe link: one per follow-up, so a link names one address."""

    __tablename__ = "unsubscribe_tokens"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    followup_id: Mapped[int] = mapped_column(ForeignKey("followups.id"), index=True, unique=True)
    contact_id: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime]


class Suppression(Base):
    """An address that gets nothing more from us: it unsubscribed, or mail to it bounced for good."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True, unique=True)  # lower case
    contact_id: Mapped[str | None] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(20))  # "unsubscribed" | "bounced"
    detail: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class MailCursor(Base):
    """How far the replies mailbox has been read: the last UID handled, valid while UIDVALIDITY stays."""

    __tablename__ = "mail_cursors"

    mailbox: Mapped[str] = mapped_column(String(200), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


class InboundMessage(Base):
    """A message read from the replies mailbox: what it was, whom it came from, and what it answered.
    Written in the same transaction as the cursor move and its effects, so each is counted exactly once."""

    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("mailbox", "uidvalidity", "uid", name="uq_inbound_mailbox_uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(200))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str | None] = mapped_column(String(255), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # reply | auto_reply | bounce | unsubscribe
    bounce: Mapped[str | None] = mapped_column(String(10))  # hard | soft
    sender: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    snippet: Mapped[str] = mapped_column(Text)  # the first lines of the new text
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id"), index=True)
    contact_id: Mapped[str | None] = mapped_column(String(64), index=True)
    matched_by: Mapped[str | None] = mapped_column(String(20))  # "header" | "address"
    return_date: Mapped[date | None]
    received_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class InboundLead(Base):
    """A new lead as it arrived (a signed POST /inbound, a HubSpot webhook or poll, a Slack shortcut), stored
    before it is acknowledged, then worked through: deduplicated, matched to the CRM, routed to an owner and
    alerted. Every decision about it is kept here."""

    __tablename__ = "inbound_leads"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_inbound_leads_source_external"),
        UniqueConstraint("source", "moment", name="uq_inbound_leads_source_moment"),
        Index("ix_inbound_leads_email_received", "email", "received_at"),
        Index("ix_inbound_leads_route_state", "route", "state"),
        Index("ix_inbound_leads_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(40))  # "inbound" (the endpoint), "hubspot", "slack"
    origin: Mapped[str] = mapped_column(String(100))  # what the sender says it is ("pricing form")
    external_id: Mapped[str | None] = mapped_column(String(200))  # the sender's id: a redelivery is one lead
    # what happened, whoever told us (HubSpot's form fill "form-<contact>-<ms>"): the webhook and the poll
    # report the same moment, and it is one lead
    moment: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))  # lower case
    name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20))  # received | done | duplicate | failed
    route: Mapped[str | None] = mapped_column(String(20))  # hot | normal | review | support | filtered
    reason: Mapped[str | None] = mapped_column(Text)  # why it went where it went
    classification: Mapped[str | None] = mapped_column(String(80))
    score: Mapped[int | None] = mapped_column(Integer)
    contact_id: Mapped[str | None] = mapped_column(String(64))
    owner_crm_id: Mapped[str | None] = mapped_column(String(64))
    owner_slack_id: Mapped[str | None] = mapped_column(String(32))
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id"), index=True)
    duplicate_of: Mapped[int | None] = mapped_column(Integer)
    alerted_at: Mapped[datetime | None]  # the hot-channel alert went out
    reminded_at: Mapped[datetime | None]  # the owner was reminded (past the SLA)
    escalated_at: Mapped[datetime | None]  # the team lead or channel was told (past twice the SLA)
    first_action_at: Mapped[datetime | None]  # the first thing a person did with its card
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Watermark(Base):
    """How far a poll has read (the HubSpot intake poll: the latest form fill seen)."""

    __tablename__ = "watermarks"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Outcome(Base):
    """What came of the follow-ups, as the CRM tells it: a reply, a meeting booked, a deal won. Each is
    recorded once (per kind and CRM record) and credited to the follow-up it came after: the contact's (or the
    deal's) newest one before it, within the attribution window. Replies read from the mailbox are
    `inbound_messages`; the metrics count either."""

    __tablename__ = "outcomes"
    __table_args__ = (
        UniqueConstraint("kind", "source_id", name="uq_outcomes_kind_source"),
        Index("ix_outcomes_kind_at", "kind", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # reply | meeting | deal_won
    source_id: Mapped[str] = mapped_column(String(100))  # the CRM record (engagement or deal id)
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id"), index=True)
    contact_id: Mapped[str | None] = mapped_column(String(64))
    deal_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime]
    amount: Mapped[float | None] = mapped_column(Float())  # a won deal's amount
    # a won deal: emails, calls and meetings by people (not this app) in the 14 days before it closed
    other_touches: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]


class Report(Base):
    """A chart or digest sent to Slack: one per kind and key (a week's digest is posted once, whichever
    replica gets there first; a chart uploaded this hour is reused by every App Home opened in it)."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_reports_kind_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # "chart" | "digest"
    key: Mapped[str] = mapped_column(String(100))  # the chart's team and hour; the digest's week
    file_id: Mapped[str | None] = mapped_column(String(40))  # the uploaded chart (Slack file id)
    channel: Mapped[str | None] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32))  # the digest message
    created_at: Mapped[datetime]


class SlackDelivery(Base):
    """A Slack event the app has handled, over HTTP or Socket Mode: Slack delivers at least once (it retries
    an event it saw no acknowledgement for, and a dropped socket can lose an acknowledgement), so a repeat is
    acknowledged without being handled twice. Kept a day."""

    __tablename__ = "slack_deliveries"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)  # "event:<event_id>"
    handled_at: Mapped[datetime] = mapped_column(index=True)
