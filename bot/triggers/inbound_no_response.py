"""A form fill or inbound email with no internal response within N business hours."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from bot.records import Engagement, EngagementType, LeadContext
from bot.triggers.base import (
    RuleConfig,
    RuleContext,
    Trigger,
    Watch,
    deal_closed,
    describe,
    is_response,
    rule_weight,
)

NAME = "inbound_no_response"
LABEL = "Inbound inquiry unanswered"
ORDER = 1


class Config(RuleConfig):
    weight: float = rule_weight(10)
    business_hours: Annotated[float, Field(gt=0, le=80)] = Field(
        default=2.0, description="Business hours an inquiry may wait for an email, call or meeting."
    )


def _inquiry(e: Engagement) -> bool:
    return e.is_inbound and e.type in (EngagementType.FORM, EngagementType.EMAIL)


def detect(cfg: Config, ctx: RuleContext) -> list[Trigger]:
    unanswered: dict[str, Engagement] = {}
    for e in ctx.recent:  # oldest first
        if e.contact_id is None or e.occurred_at > ctx.now:
            continue
        if _inquiry(e):
            unanswered.setdefault(e.contact_id, e)  # the first unanswered inquiry starts the clock
        elif is_response(e):
            unanswered.pop(e.contact_id, None)
    triggers = []
    for contact_id, inquiry in unanswered.items():
        hours = ctx.calendar.elapsed(inquiry.occurred_at, ctx.now).total_seconds() / 3600
        if hours < cfg.business_hours:
            continue
        what = "form submission" if inquiry.type is EngagementType.FORM else "email"
        triggers.append(
            Trigger(
                rule=NAME,
                dedupe_key=f"{NAME}:{inquiry.id}",
                contact_id=contact_id,
                deal_id=inquiry.deal_id,
                reason=(
                    f"Inbound {what} on {ctx.day(inquiry.occurred_at)} unanswered for {hours:.1f} "
                    f"business hours (limit {cfg.business_hours:g})"
                ),
                triggered_at=ctx.now,
                since=inquiry.occurred_at,
            )
        )
    return triggers


def still_applies(cfg: Config, watch: Watch, ctx: RuleContext) -> str | None:
    answered = next((e for e in ctx.history_after(watch) if is_response(e)), None)
    if answered:
        return f"They got an answer another way: {describe(answered, ctx)}"
    # a deal closed before the inquiry (last year's loss, a signed customer) does not answer it
    return deal_closed(ctx, watch.deal_id, after=watch.since)


def offline_ask(lead: LeadContext) -> tuple[str, str]:
    inquiry = next((e for e in lead.engagements if e.is_inbound), None)
    subject = f"Re: {inquiry.subject}" if inquiry and inquiry.subject else "Your note to us"
    return subject, ""  # the inquiry's own topic decides the ask
