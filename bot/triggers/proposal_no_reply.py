"""A proposal or quote went out (a marked email, or the deal entering a proposal stage) and no reply came
within N business days."""

from __future__ import annotations

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
    marked,
    rule_weight,
)

NAME = "proposal_no_reply"
LABEL = "Proposal unanswered"
ORDER = 2


class Config(RuleConfig):
    weight: float = rule_weight(8)
    sequence: SequenceConfig = Field(
        default_factory=lambda: SequenceConfig(touches=4, delays_business_days=[3, 4, 5])
    )
    business_days: Annotated[float, Field(gt=0, le=60)] = Field(
        default=3, description="Business days a proposal may wait for a reply."
    )
    markers: list[str] = Field(
        default_factory=lambda: ["proposal", "quote", "order form"],
        description="An outbound email whose subject or text contains one of these is a proposal.",
    )
    stages: list[str] = Field(
        default_factory=lambda: ["contractsent"],
        description="Deal stages that mean a proposal was sent (when no marked email is found).",
    )


def detect(cfg: Config, ctx: RuleContext) -> list[Trigger]:
    proposals: dict[str, Engagement] = {}  # contact -> their latest proposal email not yet replied to
    replied: set[str] = set()
    for e in ctx.recent:  # oldest first
        if e.contact_id is None or e.occurred_at > ctx.now:
            continue
        if e.type is EngagementType.EMAIL and e.direction == "outbound" and marked(e, cfg.markers):
            proposals[e.contact_id] = e
            replied.discard(e.contact_id)
        elif is_reply(e) and e.contact_id in proposals:
            replied.add(e.contact_id)
    # (contact, deal, sent at, key, subject)
    candidates: list[tuple[str, str | None, datetime, str, str | None]] = [
        (cid, e.deal_id, e.occurred_at, f"email:{e.id}", e.subject)
        for cid, e in proposals.items()
        if cid not in replied
    ]
    for deal in ctx.open_deals:
        if deal.stage not in cfg.stages or not deal.contact_id or deal.contact_id in proposals:
            continue
        since = deal.stage_changed_at
        history = ctx.history_after(Watch(NAME, deal.contact_id, deal.id, since, dedupe_key=""))
        if not any(is_reply(e) for e in history):
            candidates.append((deal.contact_id, deal.id, since, f"deal:{deal.id}:{since.date()}", None))
    triggers = []
    for contact_id, deal_id, since, key, subject in candidates:
        days = ctx.business_days(since)
        if days < cfg.business_days or _quote_expired(ctx, deal_id):
            continue
        what = f"Proposal “{subject}”" if subject else "Proposal"
        triggers.append(
            Trigger(
                rule=NAME,
                dedupe_key=f"{NAME}:{key}",
                contact_id=contact_id,
                deal_id=deal_id,
                reason=(
                    f"{what} sent {ctx.day(since)}, no reply in {int(days)} business days "
                    f"(limit {cfg.business_days:g})"
                ),
                triggered_at=ctx.now,
                since=since,
            )
        )
    return triggers


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
    name = lead.deal.name if lead.deal else "the proposal"
    return f"Questions on the proposal for {name}?", "go through the proposal and any open questions"
