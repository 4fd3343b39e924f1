"""Shared steps for the end-to-end tests."""

from __future__ import annotations

from sqlalchemy import select

from bot.models import FollowUp
from bot.services import scan
from tests.builders import small_book
from tests.harness import AppHarness


def seed_and_scan(h: AppHarness) -> dict[str, tuple[int, tuple[str, str]]]:
    """Seed the small book, scan, and return {contact_id: (followup id, (channel, ts) of its card)}."""
    small_book(h.deps.db, h.clock.now())
    result = scan.scan(h.deps)
    assert result.post_failures == []
    out = {}
    with h.deps.db.session() as s:
        for fu in s.scalars(select(FollowUp).order_by(FollowUp.id)):
            card = fu.cards[0]
            out[fu.contact_id] = (fu.id, (card.channel, card.ts))
    return out


def followup(h: AppHarness, fid: int) -> FollowUp:
    with h.deps.db.session() as s:
        fu = s.get(FollowUp, fid)
        assert fu is not None
        _ = (fu.drafts, fu.events, fu.cards)  # load while the session is open
        return fu


def last_update_for(h: AppHarness, card: tuple[str, str]) -> list[dict]:
    updates = [c for c in h.slack.of("chat.update") if (c.args["channel"], c.args["ts"]) == card]
    assert updates, f"card {card} was never updated"
    return updates[-1].args["blocks"]
