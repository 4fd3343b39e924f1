"""A deal lost for "not right now": a check-in comes due 60–90 days after close. Stored as soon as the deal
is seen, so it is never silently dropped; it waits in our database until it fires or a person ends it.

A loss seen only after its window (a first install on a portal with years of losses) is checked in on up to
`max_days_late` days past it, and older ones are counted ("not nurtured: lost too long ago"), never turned
into a day-one flood of cards about conversations long over."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field, model_validator

from bot.records import LeadContext
from bot.triggers.base import (
    RuleConfig,
    RuleContext,
    SequenceConfig,
    Trigger,
    Watch,
    describe,
    is_reply,
    rule_weight,
)

NAME = "closed_lost_nurture"
LABEL = "Nurture after “not right now”"
ORDER = 6


class Config(RuleConfig):
    weight: float = rule_weight(2)
    sequence: SequenceConfig = Field(default_factory=lambda: SequenceConfig(touches=1))
    after_days: Annotated[int, Field(ge=1, le=365)] = Field(
        default=60, description="Days after close when the check-in comes due."
    )
    window_days: Annotated[int, Field(ge=1, le=365)] = Field(
        default=90, description="The latest day after close it should go out; later ones say they are late."
    )
    reasons: list[str] = Field(
        default_factory=lambda: ["not right now", "timing", "no budget this year", "revisit"],
        description="Lost reasons (matched as words in the deal's lost reason) that mean 'ask again later'.",
    )
    max_days_late: Annotated[int, Field(ge=0, le=365)] = Field(
        default=14,
        description="Days past window_days a loss may still be checked in on (one seen late, as on a first "
        "install); older losses are counted in the scan summary, not followed up.",
    )
    lookback_days: Annotated[int | None, Field(ge=1, le=3650)] = Field(
        default=None,
        description="No longer used (max_days_late decides how old a loss may be); accepted so older "
        "config files still load.",
    )

    @model_validator(mode="after")
    def _window(self) -> Config:
        if self.window_days < self.after_days:
            raise ValueError("window_days must be at least after_days")
        return self


def detect(cfg: Config, ctx: RuleContext) -> list[Trigger]:
    triggers = []
    wanted = [r.lower() for r in cfg.reasons]
    for deal in ctx.crm.deals_in_stages(ctx.pipeline.lost_stages):
        closed = deal.close_date or deal.stage_changed_at
        reason = (deal.lost_reason or "").lower()
        if deal.contact_id is None or not any(w in reason for w in wanted):
            continue
        age = (ctx.now - closed).days
        if age > cfg.window_days + cfg.max_days_late:
            ctx.skip(
                f"{NAME}: not nurtured: lost too long ago (over {cfg.window_days + cfg.max_days_late} days)"
            )
            continue
        # due on a working morning in the team's calendar, never a Sunday at the hour the deal was closed
        due = ctx.calendar.next_opening(closed + timedelta(days=cfg.after_days))
        late = f"; {age} days on, past the {cfg.window_days}-day window" if age > cfg.window_days else ""
        triggers.append(
            Trigger(
                rule=NAME,
                dedupe_key=f"{NAME}:{deal.id}:{closed.date().isoformat()}",
                contact_id=deal.contact_id,
                deal_id=deal.id,
                reason=(
                    f"'{deal.name}' was lost on {ctx.day(closed)} as “{deal.lost_reason}”: "
                    f"check in {cfg.after_days}–{cfg.window_days} days later{late}"
                ),
                triggered_at=ctx.now,
                since=closed,
                due_at=due if due > ctx.now else None,
            )
        )
    return triggers


def still_applies(cfg: Config, watch: Watch, ctx: RuleContext) -> str | None:
    if watch.deal_id:
        deal = ctx.deal(watch.deal_id)
        if deal is None:
            return "The deal no longer exists in the CRM"
        if deal.stage not in ctx.pipeline.lost_stages:
            return f"The deal was reopened (now in {deal.stage})"
    reply = next((e for e in ctx.history_after(watch) if is_reply(e)), None)
    if reply:
        return f"They got in touch themselves: {describe(reply, ctx)}"
    return None


def offline_ask(lead: LeadContext) -> tuple[str, str]:
    return "Checking back in", "hear whether the timing looks different now"
