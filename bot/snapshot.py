"""Read-only snapshots of follow-ups, handed from services to the Block Kit builders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.models import FollowUp
from bot.states import State


@dataclass(frozen=True)
class DraftView:
    id: int
    origin: str
    author: str
    summary: str
    classification: str
    urgency: str
    missing_information: list[str]
    review_flags: list[str]
    sources: list[dict]
    subject: str
    body: str
    confidence: float | None = None  # the classify step's, when the pipeline wrote the draft


@dataclass(frozen=True)
class CardRef:
    channel: str
    ts: str
    permalink: str | None
    kind: str


@dataclass(frozen=True)
class SequenceView:
    state: str  # active | stopped | completed
    touch: int  # the latest touch made
    touches: int
    outcome: str | None
    next_touch_at: datetime | None
    completes_at: datetime | None
    hold_until: datetime | None


@dataclass(frozen=True)
class FollowUpView:
    id: int
    rule: str
    reason: str
    state: State
    contact_name: str
    contact_email: str
    company_name: str | None
    owner_name: str | None
    owner_slack_id: str | None
    draft: DraftView
    edited: bool
    snoozed_until: datetime | None = None
    escalated_to: str | None = None
    escalated_by: str | None = None
    escalation_reason: str | None = None
    sent_at: datetime | None = None
    sent_by: str | None = None
    last_error: str | None = None
    due_at: datetime | None = None
    outcome_reason: str | None = None
    outcome_by: str | None = None
    crm_logged: bool = False
    cards: list[CardRef] = field(default_factory=list)
    version: int = 0  # bumped by every change a card shows
    sent_via: str | None = None  # "email" | "inbox"
    heard_back: str | None = None  # the latest reply, auto-reply or bounce to what was sent
    touch: int | None = None  # which touch of its sequence
    touches: int | None = None  # of how many (None: not in a sequence)
    nurture: bool = False  # a nurture check-in after a sequence that completed
    send_at: datetime | None = None  # approved, waiting for the recipient's hours: when it leaves
    recipient_tz: str | None = None
    approved_by: str | None = None
    auto_confidence: float | None = None  # approved by the app itself (auto-send), this sure
    sequence: SequenceView | None = None  # where its sequence stands, on a sent touch
    arrived_at: datetime | None = None  # when the silence (or the inbound lead) began
    answer_by: datetime | None = None  # a hot lead's response clock: when its SLA runs out
    # the zone times are written in where Slack cannot localise them (notifications, the terminal demo):
    # the reader's Slack zone when known, else the team's
    viewer_tz: str | None = None

    @property
    def touch_label(self) -> str | None:
        if self.nurture:
            return "Nurture check-in"
        if not self.touch or not self.touches or self.touches < 2:
            return None
        last = " (break-up)" if self.touch == self.touches else ""
        return f"Touch {self.touch} of {self.touches}{last}"

    @property
    def original_card(self) -> CardRef | None:
        return next((c for c in reversed(self.cards) if c.kind == "card"), None)


def snapshot(fu: FollowUp) -> FollowUpView:
    d = fu.current_draft
    escalation = next((e for e in reversed(fu.events) if e.action == "escalate"), None)
    approval = next(
        (e for e in reversed(fu.events) if e.action in ("approve", "edit_and_send", "retry")), None
    )
    seq = fu.sequence if fu.sequence_id is not None else None  # no query for a follow-up outside one
    scheduled = (
        fu.send_at
        if fu.state == State.SENDING.value
        and fu.send_at is not None
        and fu.send_handover_at is None
        and approval is not None
        and fu.send_at - approval.at > SCHEDULED_AFTER
        else None
    )
    return FollowUpView(
        touch=fu.touch,
        touches=seq.touches if seq else None,
        nurture=bool(seq and seq.origin == "nurture"),
        send_at=scheduled,
        recipient_tz=fu.recipient_tz,
        approved_by=approval.actor if approval else None,
        auto_confidence=(
            approval.detail.get("confidence") if approval and approval.detail.get("auto") else None
        ),
        sequence=sequence_view(fu),
        arrived_at=fu.since_at,
        id=fu.id,
        version=fu.version,
        sent_via=fu.sent_via,
        rule=fu.rule,
        reason=fu.reason,
        state=State(fu.state),
        contact_name=fu.contact_name,
        contact_email=fu.contact_email,
        company_name=fu.company_name,
        owner_name=fu.owner_name,
        owner_slack_id=fu.owner_slack_id,
        draft=DraftView(
            id=d.id,
            origin=d.origin,
            author=d.author,
            summary=fu.ai_draft.summary,
            classification=d.classification,
            urgency=d.urgency,
            missing_information=list(d.missing_information),
            review_flags=list(d.review_flags),
            sources=list(d.sources),
            subject=d.subject,
            body=d.body,
            confidence=(fu.ai_draft.analysis or {}).get("confidence"),
        ),
        edited=fu.edited,
        snoozed_until=fu.snoozed_until,
        escalated_to=fu.escalated_to,
        escalated_by=escalation.actor if escalation else None,
        escalation_reason=(escalation.detail.get("reason") if escalation else None),
        sent_at=fu.sent_at,
        sent_by=fu.sent_by,
        last_error=fu.last_error,
        due_at=fu.due_at,
        outcome_reason=fu.outcome_reason,
        outcome_by=fu.outcome_by,
        crm_logged=fu.crm_engagement_id is not None,
        cards=[CardRef(c.channel, c.ts, c.permalink, c.kind) for c in fu.cards],
        heard_back=heard_back(fu) if fu.state in (State.SENT.value, State.UNKNOWN.value) else None,
    )


SCHEDULED_AFTER = timedelta(minutes=1)  # a send due later than this after its approval was scheduled


def sequence_view(fu: FollowUp) -> SequenceView | None:
    """The sequence a sent touch belongs to, when the card should say where it stands."""
    seq = fu.sequence if fu.sequence_id is not None else None
    if seq is None or fu.state not in (State.SENT.value, State.UNKNOWN.value) or seq.touches < 2:
        return None
    return SequenceView(
        state=seq.state,
        touch=seq.touch,
        touches=seq.touches,
        outcome=seq.outcome,
        next_touch_at=seq.next_touch_at,
        completes_at=seq.completes_at,
        hold_until=seq.hold_until,
    )


def heard_back(fu: FollowUp) -> str | None:
    """One line about the latest thing that came back for a sent follow-up (raw text: the card escapes it)."""
    if not fu.inbound:
        return None
    last = fu.inbound[-1]
    who = last.sender
    when = f"{last.received_at:%a %d %b %H:%M}" if last.received_at else "recently"
    if last.kind == "reply":
        return f"{fu.contact_name or who} replied {when}: “{last.snippet}”"
    if last.kind == "auto_reply":
        back = f", away until {last.return_date:%a %d %b}" if last.return_date else ""
        return f"Auto-reply from {fu.contact_name or who}{back}"
    if last.kind == "bounce":
        return f"The email bounced ({last.bounce or 'soft'}): {fu.contact_email}"
    return f"{fu.contact_name or who} asked to get no more emails"


@dataclass(frozen=True)
class QueueView:
    """A person's queue: a few follow-ups per group, and how many each group holds in all."""

    groups: dict[str, list[FollowUpView]]
    counts: dict[str, int]
    filtered: dict[str, int] = field(default_factory=dict)  # new leads filtered out today, by class
