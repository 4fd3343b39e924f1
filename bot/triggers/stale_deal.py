"""An open deal whose stage has not moved for more than N days (N set per stage)."""

from __future__ import annotations

from datetime import datetime

from bot.clock import BusinessCalendar
from bot.config import FollowupConfig
from bot.ports import CRM
from bot.triggers import Trigger

RULE = "stale_deal"


def detect(crm: CRM, config: FollowupConfig, calendar: BusinessCalendar, now: datetime) -> list[Trigger]:
    rule_cfg = config.triggers.stale_deal
    triggers = []
    for deal in crm.open_deals(rule_cfg.closed_stages):
        if deal.contact_id is None:
            continue  # nobody to write to; the deal needs a contact first
        idle_days = (now - deal.stage_changed_at).days
        limit = rule_cfg.threshold(deal.stage)
        if idle_days <= limit:
            continue
        triggers.append(
            Trigger(
                rule=RULE,
                # a deal that moves stage and stalls again is a new episode
                dedupe_key=f"{RULE}:{deal.id}:{deal.stage}:{deal.stage_changed_at.date().isoformat()}",
                contact_id=deal.contact_id,
                deal_id=deal.id,
                reason=f"Deal '{deal.name}' has sat in {deal.stage} for {idle_days} days (limit {limit})",
                triggered_at=now,
            )
        )
    return triggers
