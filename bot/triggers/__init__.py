"""Trigger rules: each looks at the CRM and names the leads that are going silent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.clock import BusinessCalendar
from bot.config import FollowupConfig
from bot.ports import CRM


@dataclass(frozen=True)
class Trigger:
    rule: str
    dedupe_key: str
    contact_id: str
    deal_id: str | None
    reason: str
    triggered_at: datetime


Rule = Callable[[CRM, FollowupConfig, BusinessCalendar, datetime], list[Trigger]]


def enabled_rules(config: FollowupConfig) -> list[Rule]:
    from bot.triggers import inbound_no_response, stale_deal

    rules: list[Rule] = []
    if config.triggers.inbound_no_response.enabled:
        rules.append(inbound_no_response.detect)
    if config.triggers.stale_deal.enabled:
        rules.append(stale_deal.detect)
    return rules


def run_rules(crm: CRM, config: FollowupConfig, calendar: BusinessCalendar, now: datetime) -> list[Trigger]:
    found: list[Trigger] = []
    for rule in enabled_rules(config):
        found.extend(rule(crm, config, calendar, now))
    return found
