"""A new inbound inquiry with no internal response within N business hours."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import BusinessCalendar
from bot.config import FollowupConfig
from bot.ports import CRM
from bot.records import Engagement, EngagementType
from bot.triggers import Trigger

RULE = "inbound_no_response"
LOOKBACK = timedelta(days=14)  # older silence belongs to the stale-deal and nurture rules
INBOUND_TYPES = {EngagementType.FORM, EngagementType.EMAIL}
RESPONSE_TYPES = {EngagementType.EMAIL, EngagementType.CALL, EngagementType.MEETING}


def _is_inquiry(e: Engagement) -> bool:
    return e.type in INBOUND_TYPES and e.is_inbound


def _is_response(e: Engagement) -> bool:
    return e.type in RESPONSE_TYPES and e.direction == "outbound"


def detect(crm: CRM, config: FollowupConfig, calendar: BusinessCalendar, now: datetime) -> list[Trigger]:
    threshold = timedelta(hours=config.triggers.inbound_no_response.business_hours)
    unanswered: dict[str, Engagement] = {}
    for e in crm.engagements_since(now - LOOKBACK):  # oldest first
        if e.contact_id is None:
            continue
        if _is_inquiry(e):
            unanswered.setdefault(e.contact_id, e)  # the first unanswered inquiry starts the clock
        elif _is_response(e):
            unanswered.pop(e.contact_id, None)

    triggers = []
    for contact_id, inquiry in unanswered.items():
        waited = calendar.elapsed(inquiry.occurred_at, now)
        if waited < threshold:
            continue
        hours = waited.total_seconds() / 3600
        what = "form submission" if inquiry.type is EngagementType.FORM else "email"
        triggers.append(
            Trigger(
                rule=RULE,
                dedupe_key=f"{RULE}:{inquiry.id}",
                contact_id=contact_id,
                deal_id=inquiry.deal_id,
                reason=(
                    f"Inbound {what} unanswered for {hours:.1f} business hours "
                    f"(limit {config.triggers.inbound_no_response.business_hours:g})"
                ),
                triggered_at=now,
            )
        )
    return triggers
