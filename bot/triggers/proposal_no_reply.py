"""A proposal or quote went out and no reply came within N business days.

A proposal is the team's configured signal, never a reply in a thread: an outbound email (not a "Re:") whose
subject names a proposal marker, or whose text says one is attached; else the deal entering a proposal stage.
When the lead did reply and the rep answered, the silence after that answer is its own situation, with its
own wording: the lead has the proposal and an answer to their questions, and went quiet again."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import Field

from bot.records import Engagement, EngagementType, LeadContext
from bot.triggers.base import (
    RuleConfig,
    RuleContext,
    SequenceConfig,
    Trigger,
    Watch,
    deal_closed,
    describe,
    is_reply,
    is_thread_reply,
    rule_weight,
)

NAME = "proposal_no_reply"
LABEL = "Proposal unanswered"
ORDER = 2


# subject words that name a proposal or quote, in the languages the drafts are written in
MARKERS = (
    "proposal", "quote", "quotation", "order form", "angebot", "offerte", "devis", "propuesta", "cotización",
    "proposta", "orçamento", "preventivo", "見積", "提案",
)  # fmt: skip
ATTACHED = (
    "attached proposal", "proposal attached", "attached quote", "quote attached", "attached is the proposal",
    "attached is our proposal", "attached the proposal", "attached our proposal", "enclosed proposal",
    "please find the proposal", "please find our proposal", "please find attached our proposal",
    "please find attached the proposal", "please find attached the quote", "please find attached our quote",
    "the proposal is attached", "the quote is attached", "order form attached", "attached order form",
)  # fmt: skip


class Config(RuleConfig):
    weight: float = rule_weight(8)
    sequence: SequenceConfig = Field(
        default_factory=lambda: SequenceConfig(touches=4, delays_business_days=[3, 4, 5])
    )
    business_days: Annotated[float, Field(gt=0, le=60)] = Field(
        default=3, description="Business days a proposal may wait for a reply."
    )
    markers: list[str] = Field(
        default_factory=lambda: list(MARKERS),
        description="An outbound email (not a reply in a thread) whose subject contains one of these as a "
        "word is a proposal.",
    )
    attached_markers: list[str] = Field(
        default_factory=lambda: list(ATTACHED),
        description="Phrases in an outbound email's text that say a proposal or quote is attached (the "
        "email is a proposal whatever its subject, unless it is a reply in a thread).",
    )
    stages: list[str] = Field(
        default_factory=lambda: ["contractsent"],
        description="Deal stages that mean a proposal was sent (when no marked email is found).",
    )


def _marked(cfg: Config, e: Engagement) -> bool:
    subject = (e.subject or "").casefold()
    text = " ".join(e.body.casefold().split())
    in_subject = any(_word(m.casefold()).search(subject) for m in cfg.markers)
    return in_subject or any(m.casefold() in text for m in cfg.attached_markers)


def _word(marker: str) -> re.Pattern[str]:
    # "quote" is a word in "Your quote", not in "unquoted"; scripts without spaces match as written
    return re.compile(rf"(?<!\w){re.escape(marker)}(?!\w)" if marker.isascii() else re.escape(marker))


def _is_proposal(cfg: Config, e: Engagement) -> bool:
    return (
        e.type is EngagementType.EMAIL
        and e.direction == "outbound"
        and not is_thread_reply(e)
        and _marked(cfg, e)
    )


@dataclass
class _Thread:
    """One contact's latest proposal and what happened after it."""

    proposal: Engagement
    reply: Engagement | None = None  # the lead's first answer to it
    answer: Engagement | None = None  # the rep's latest email after that answer
    since_answer: bool = False  # the lead wrote again after the rep's answer


def detect(cfg: Config, ctx: RuleContext) -> list[Trigger]:
    threads: dict[str, _Thread] = {}
    for e in ctx.recent:  # oldest first
        if e.contact_id is None or e.occurred_at > ctx.now:
            continue
        if _is_proposal(cfg, e):
            threads[e.contact_id] = _Thread(e)  # a new (or revised) proposal starts over
            continue
        thread = threads.get(e.contact_id)
        if thread is None:
            continue
        if is_reply(e):
            if thread.reply is None:
                thread.reply = e
            elif thread.answer is not None:
                thread.since_answer = True
        elif thread.reply is not None and e.type is EngagementType.EMAIL and e.direction == "outbound":
            thread.answer, thread.since_answer = e, False
    # (contact, deal, since, key, reason's first part)
    candidates: list[tuple[str, str | None, datetime, str, str]] = []
    for cid, t in threads.items():
        what = _what(t.proposal)
        if t.reply is None:
            sent = t.proposal.occurred_at
            first = f"{what} sent {ctx.day(sent)}, no reply"
            candidates.append((cid, t.proposal.deal_id, sent, f"email:{t.proposal.id}", first))
        elif t.answer is not None and not t.since_answer:
            # they replied (questions, a counter) and the rep answered: waiting on them again
            first = (
                f"{ctx.contact_name(cid)} replied to {what[0].lower()}{what[1:]} on "
                f"{ctx.day(t.reply.occurred_at)} and got your answer on {ctx.day(t.answer.occurred_at)}; "
                "no word since"
            )
            deal_id = t.proposal.deal_id or t.answer.deal_id
            candidates.append((cid, deal_id, t.answer.occurred_at, f"answer:{t.answer.id}", first))
        # a reply the rep has not answered yet is an unanswered inquiry: inbound_no_response has it
    for deal in ctx.open_deals:
        if deal.stage not in cfg.stages or not deal.contact_id or deal.contact_id in threads:
            continue
        since = deal.stage_changed_at
        history = ctx.history_after(Watch(NAME, deal.contact_id, deal.id, since, dedupe_key=""))
        if not any(is_reply(e) for e in history):
            first = f"Proposal sent {ctx.day(since)} (the deal entered its proposal stage), no reply"
            candidates.append((deal.contact_id, deal.id, since, f"deal:{deal.id}:{since.date()}", first))
    triggers = []
    for contact_id, deal_id, since, key, first in candidates:
        days = ctx.business_days(since)
        if days < cfg.business_days or _quote_expired(ctx, deal_id):
            continue
        triggers.append(
            Trigger(
                rule=NAME,
                dedupe_key=f"{NAME}:{key}",
                contact_id=contact_id,
                deal_id=deal_id,
                reason=f"{first} in {int(days)} business days (limit {cfg.business_days:g})",
                triggered_at=ctx.now,
                since=since,
            )
        )
    return triggers


def sent_proposal(e: Engagement) -> bool:
    """An email of ours that names a proposal or quote in its subject (the default markers), not a reply."""
    subject = (e.subject or "").casefold()
    return (
        e.direction == "outbound"
        and e.type is EngagementType.EMAIL
        and not is_thread_reply(e)
        and any(_word(m).search(subject) for m in MARKERS)
    )


def _what(e: Engagement) -> str:
    subject = " ".join((e.subject or "").split())
    return f"Proposal “{subject[:80]}”" if subject else "A proposal email"


def _quote_expired(ctx: RuleContext, deal_id: str | None) -> bool:
    """The deal's quote ran out: "quote expired" is the more specific moment (the ask is to renew it), so
    this rule leaves the deal to it rather than taking the contact first."""
    deal = ctx.deal(deal_id) if deal_id else None
    return bool(deal and deal.quote_expires_at and deal.quote_expires_at <= ctx.now)


def still_applies(cfg: Config, watch: Watch, ctx: RuleContext) -> str | None:
    reply = next((e for e in ctx.history_after(watch) if is_reply(e)), None)
    if reply:
        return f"They replied: {describe(reply, ctx)}"
    meeting = next((e for e in ctx.history_after(watch) if e.type is EngagementType.MEETING), None)
    if meeting:
        return f"A meeting was booked: {describe(meeting, ctx)}"
    return deal_closed(ctx, watch.deal_id)


def offline_ask(lead: LeadContext) -> tuple[str, str]:
    """The subject threads onto the proposal the lead received (never the CRM's internal deal name)."""
    sent = next((e for e in lead.engagements if sent_proposal(e)), None)
    if sent and sent.subject:
        return f"Re: {' '.join(sent.subject.split())}", "go through the proposal"
    company = lead.company.name if lead.company else ""
    return (f"The proposal for {company}" if company else "Your proposal"), "go through the proposal"
