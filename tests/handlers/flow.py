"""Shared steps for the end-to-end tests."""

from __future__ import annotations

import time

from pydantic import SecretStr
from sqlalchemy import func, or_, select

from bot.models import FollowUp, WorkItem
from bot.services import scan
from tests.builders import small_book
from tests.conftest import SIGNING_SECRET
from tests.harness import AppHarness


def start_on_hubspot(settings, clock, slack, mailbox, hubspot) -> AppHarness:  # type: ignore[no-untyped-def]
    """The app with the fake HubSpot as its CRM (what `HUBSPOT_ACCESS_TOKEN` selects)."""
    hs_settings = settings.model_copy(
        update={"hubspot_access_token": SecretStr(hubspot.token), "hubspot_api_url": hubspot.base_url}
    )
    return AppHarness.start(
        hs_settings, clock=clock, slack=slack, mailbox=mailbox[1], signing_secret=SIGNING_SECRET
    )


def settle(h: AppHarness, timeout: float = 10.0) -> None:
    """Wait until the app's workers have done all work that is due (retries scheduled later stay queued)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with h.deps.db.session() as s:
            busy = s.scalar(
                select(func.count()).where(
                    or_(
                        (WorkItem.state == "queued") & (WorkItem.due_at <= h.clock.now()),
                        WorkItem.state == "claimed",
                    )
                )
            )
        if not busy:
            return
        time.sleep(0.02)
    raise AssertionError("the app's work queue did not settle")


def seed_and_scan(h: AppHarness) -> dict[str, tuple[int, tuple[str, str]]]:
    """Seed the small book, scan, and return {contact_id: (followup id, (channel, ts) of its card)}."""
    small_book(h.deps.db, h.clock.now())
    result = scan.scan(h.deps)
    assert result.post_failures == []
    settle(h)
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
    settle(h)
    updates = [c for c in h.slack.of("chat.update") if (c.args["channel"], c.args["ts"]) == card]
    assert updates, f"card {card} was never updated"
    return updates[-1].args["blocks"]
