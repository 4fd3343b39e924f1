"""Putting follow-ups in front of people: where a card goes, posting it, and keeping every copy current."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from blocks.card import card_blocks, card_text, to_dicts
from bot.models import CardMessage, FollowUp
from bot.services.common import load
from bot.services.deps import Deps
from bot.snapshot import FollowUpView, snapshot
from bot.states import State

log = logging.getLogger(__name__)


def resolve_owner(deps: Deps, owner_email: str | None) -> str | None:
    """The owner's Slack id: from the config map first, then Slack's directory by email."""
    if not owner_email:
        return None
    mapped = deps.config.slack.users.get(owner_email.lower())
    if mapped:
        return mapped
    if deps.chat is None:
        return None
    return deps.chat.find_user_by_email(owner_email)


def view(deps: Deps, followup_id: int) -> FollowUpView:
    with deps.db.session() as s:
        return snapshot(load(s, followup_id))


def post(deps: Deps, followup_id: int, *, channel: str, kind: str = "card") -> CardMessage | None:
    """Post a card for the follow-up to `channel` and remember where it is."""
    if deps.chat is None:
        return None
    fu = view(deps, followup_id)
    posted = deps.chat.post_card(
        channel, to_dicts(card_blocks(fu, escalation=kind == "escalation")), card_text(fu)
    )
    with deps.db.session() as s:
        card = CardMessage(
            followup_id=followup_id,
            kind=kind,
            channel=posted.channel,
            ts=posted.ts,
            permalink=posted.permalink,
            created_at=deps.clock.now(),
        )
        s.add(card)
    return card


def owner_destination(deps: Deps, fu: FollowUpView) -> str | None:
    return fu.owner_slack_id or deps.config.slack.review_channel


def refresh(deps: Deps, followup_id: int) -> None:
    """Re-render every Slack message showing this follow-up. A failed update is logged, not raised:
    the state change it reflects is already stored."""
    if deps.chat is None:
        return
    fu = view(deps, followup_id)
    for card in fu.cards:
        try:
            deps.chat.update_card(
                card.channel,
                card.ts,
                to_dicts(card_blocks(fu, escalation=card.kind == "escalation")),
                card_text(fu),
            )
        except Exception:
            log.exception("could not update card %s/%s for follow-up %s", card.channel, card.ts, fu.id)


def unposted(session: Session) -> list[int]:
    """Open follow-ups that never reached Slack (e.g. Slack was down during the scan)."""
    has_card = select(CardMessage.followup_id)
    return list(
        session.scalars(
            select(FollowUp.id)
            .where(FollowUp.state == State.PENDING.value, FollowUp.id.not_in(has_card))
            .order_by(FollowUp.id)
        )
    )
