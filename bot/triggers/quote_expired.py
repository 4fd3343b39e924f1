"""A quote's expiry date passed and the deal is not closed won (no signed agreement)."""

from __future__ import annotations

from bot.records import LeadContext
from bot.triggers.base import RuleConfig, RuleContext, Trigger, Watch, deal_closed, rule_weight

NAME = "quote_expired"
LABEL = "Quote expired"
ORDER = 5


class Config(RuleConfig):
    weight: float = rule_weight(6)


def detect(cfg: Config, ctx: RuleContext) -> list[Trigger]:
    triggers = []
    for deal in ctx.open_deals:
        expires = deal.quote_expires_at
        if expires is None or expires > ctx.now or deal.contact_id is None:
            continue
        triggers.append(
            Trigger(
                rule=NAME,
                dedupe_key=f"{NAME}:{deal.id}:{expires.date().isoformat()}",
                contact_id=deal.contact_id,
                deal_id=deal.id,
                reason=(
                    f"The quote for '{deal.name}' expired on {ctx.day(expires)} "
                    f"and the deal is still in {deal.stage}, not signed"
                ),
                triggered_at=ctx.now,
                since=expires,
            )
        )
    return triggers


def still_applies(cfg: Config, watch: Watch, ctx: RuleContext) -> str | None:
    closed = deal_closed(ctx, watch.deal_id)
    if closed or not watch.deal_id:
        return closed
    deal = ctx.deal(watch.deal_id)
    if deal is not None and (deal.quote_expires_at is None or deal.quote_expires_at > ctx.now):
        return "The quote was renewed" + (
            f" until {ctx.day(deal.quote_expires_at)}" if deal.quote_expires_at else ""
        )
    return None


def offline_ask(lead: LeadContext) -> tuple[str, str]:
    """The subject names the lead's company, never the CRM's internal deal name."""
    subject = f"Your quote for {lead.company.name}" if lead.company else "Your quote"
    return subject, "check whether the quote still fits, so I can refresh it for you"
