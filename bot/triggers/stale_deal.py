"""An open deal whose stage has not moved for more than N days (N set per stage)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from bot.records import EngagementType, LeadContext
from bot.triggers.base import RuleConfig, RuleContext, Trigger, Watch, deal_closed, describe, rule_weight

NAME = "stale_deal"
LABEL = "Deal gone quiet"
ORDER = 4

PositiveDays = Annotated[int, Field(gt=0, le=365)]
DEFAULT_DAYS = {
    "appointmentscheduled": 7,
    "qualifiedtobuy": 10,
    "presentationscheduled": 14,
    "decisionmakerboughtin": 21,
    "contractsent": 10,
}
STAGE_ASKS = {
    "appointmentscheduled": "confirm the agenda for our first meeting",
    "qualifiedtobuy": "map out how {company} would roll this out",
    "presentationscheduled": "put the demo for your team on the calendar",
    "decisionmakerboughtin": "agree on the next step with your decision makers",
    "contractsent": "walk through any open questions on the agreement",
}


class Config(RuleConfig):
    weight: float = rule_weight(4)
    default_days: PositiveDays = Field(default=14, description="For stages not listed in days_by_stage.")
    days_by_stage: dict[str, PositiveDays] = Field(
        default_factory=lambda: dict(DEFAULT_DAYS),
        description="Days a deal may sit in a stage; earlier stages get shorter limits.",
    )

    def threshold(self, stage: str) -> int:
        return self.days_by_stage.get(stage, self.default_days)


def detect(cfg: Config, ctx: RuleContext) -> list[Trigger]:
    triggers = []
    for deal in ctx.open_deals:
        if deal.contact_id is None:
            continue  # nobody to write to; the deal needs a contact first
        idle_days = (ctx.now - deal.stage_changed_at).days
        limit = cfg.threshold(deal.stage)
        if idle_days <= limit:
            continue
        triggers.append(
            Trigger(
                rule=NAME,
                # a deal that moves stage and stalls again is a new episode
                dedupe_key=f"{NAME}:{deal.id}:{deal.stage}:{deal.stage_changed_at.date().isoformat()}",
                contact_id=deal.contact_id,
                deal_id=deal.id,
                reason=(
                    f"Deal '{deal.name}' has sat in {deal.stage} since {ctx.day(deal.stage_changed_at)}: "
                    f"{idle_days} days (limit {limit})"
                ),
                triggered_at=ctx.now,
                since=deal.stage_changed_at,
            )
        )
    return triggers


def still_applies(cfg: Config, watch: Watch, ctx: RuleContext) -> str | None:
    closed = deal_closed(ctx, watch.deal_id)
    if closed or not watch.deal_id:
        return closed
    deal = ctx.deal(watch.deal_id)
    if deal is not None and deal.stage_changed_at > watch.since:
        return f"Deal moved to {deal.stage} on {ctx.day(deal.stage_changed_at)}"
    # a meeting on the calendar is a next step, whatever the stage says
    booked = next(
        (e for e in ctx.history_after(watch) if e.type is EngagementType.MEETING and e.occurred_at > ctx.now),
        None,
    )
    if booked:
        return f"A meeting is booked: {describe(booked, ctx)}"
    return None


def offline_ask(lead: LeadContext) -> tuple[str, str]:
    """The subject names the lead's company, never the CRM's internal deal name."""
    company = lead.company.name if lead.company else "your team"
    subject = f"Next step for {company}" if lead.company else "Our next step"
    if lead.deal is None:
        return subject, "agree on the next step"
    goal = STAGE_ASKS.get(lead.deal.stage, "agree on the next step").format(company=company)
    return subject, goal
