"""A discovery call was completed and no meeting was booked within N hours after it."""

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
    marked,
    rule_weight,
)

NAME = "call_no_next_step"
LABEL = "Call without a next step"
ORDER = 3


class Config(RuleConfig):
    weight: float = rule_weight(7)
    hours: Annotated[float, Field(gt=0, le=720)] = Field(
        default=24, description="Hours after the call by which a next meeting should be booked."
    )
    markers: list[str] = Field(
        default_factory=lambda: ["discovery"],
        description="A call whose title or notes contain one of these is a discovery call.",
    )


def _booked(e: Engagement, after: Engagement) -> bool:
    return e.type is EngagementType.MEETING and e.occurred_at > after.occurred_at


def detect(cfg: Config, ctx: RuleContext) -> list[Trigger]:
    latest_call: dict[str, Engagement] = {}
    for e in ctx.recent:  # oldest first
        if (
            e.contact_id
            and e.type is EngagementType.CALL
            and e.occurred_at <= ctx.now
            and marked(e, cfg.markers)
        ):
            latest_call[e.contact_id] = e
    # meetings anywhere after the call count, including ones on the calendar for next week
    meetings = [e for e in ctx.recent if e.type is EngagementType.MEETING]
    triggers = []
    for contact_id, call in latest_call.items():
        waited = ctx.now - call.occurred_at
        if waited.total_seconds() < cfg.hours * 3600:
            continue
        if any(m.contact_id == contact_id and _booked(m, call) for m in meetings):
            continue
        triggers.append(
            Trigger(
                rule=NAME,
                dedupe_key=f"{NAME}:{call.id}",
                contact_id=contact_id,
                deal_id=call.deal_id,
                reason=(
                    f"Discovery call on {ctx.day(call.occurred_at)}, no next meeting booked "
                    f"{int(waited.total_seconds() // 3600)} hours later (limit {cfg.hours:g})"
                ),
                triggered_at=ctx.now,
                since=call.occurred_at,
            )
        )
    return triggers


def still_applies(cfg: Config, watch: Watch, ctx: RuleContext) -> str | None:
    meeting = next((e for e in ctx.history_after(watch) if e.type is EngagementType.MEETING), None)
    if meeting:
        return f"A next meeting was booked: {describe(meeting, ctx)}"
    return deal_closed(ctx, watch.deal_id)


def offline_ask(lead: LeadContext) -> tuple[str, str]:
    return "Next step after our call", "book the next conversation with the people who need to be in it"
