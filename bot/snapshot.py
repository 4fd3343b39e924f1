"""Read-only snapshots of follow-ups, handed from services to the Block Kit builders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

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

    @property
    def original_card(self) -> CardRef | None:
        return next((c for c in reversed(self.cards) if c.kind == "card"), None)


def snapshot(fu: FollowUp) -> FollowUpView:
    d = fu.current_draft
    escalation = next((e for e in reversed(fu.events) if e.action == "escalate"), None)
    return FollowUpView(
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
