"""What came of a follow-up, as the CRM shows it at the next scans: the lead's reply, a meeting and the deal
won are each recorded once and credited to the follow-up they came after; what came before it, or to
someone nobody followed up, is not."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from blocks.ids import ActionId
from bot.models import Outcome
from bot.services import metrics, scan
from bot.services.metrics import Rate, Scope
from crm.tables import CrmDeal, CrmEngagement
from tests.builders import DEAL, OMAR, SARAH
from tests.conftest import DANA
from tests.handlers.flow import seed_and_scan, settle


def engagement(
    h, eid: str, kind: str, direction: str | None, contact: str, at, deal: str | None = None
) -> None:  # type: ignore[no-untyped-def]
    with h.deps.db.session() as s:
        s.add(
            CrmEngagement(
                id=eid,
                type=kind,
                direction=direction,
                occurred_at=at,
                subject="s",
                body="b",
                contact_id=contact,
                deal_id=deal,
                owner_id="501",
            )
        )


def test_a_reply_a_meeting_and_a_won_deal_are_recorded_once_each_and_credited(harness):
    h = harness
    cards = seed_and_scan(h)
    omar_fid, omar_card = cards[OMAR]
    assert h.click(ActionId.CARD_APPROVE, user=DANA, card=omar_card, value=str(omar_fid)).status == 200
    h.mailbox.wait_for(1)
    settle(h)
    before = h.clock.now() - timedelta(days=2)
    engagement(h, "old-reply", "email", "inbound", OMAR, before)  # before the send: not an answer to it
    h.clock.advance(timedelta(hours=3))
    engagement(h, "e-reply", "email", "inbound", OMAR, h.clock.now() - timedelta(hours=1))
    engagement(h, "e-meet", "meeting", None, OMAR, h.clock.now() - timedelta(minutes=30), deal=DEAL)
    with h.deps.db.session() as s:
        deal = s.get(CrmDeal, DEAL)
        deal.stage, deal.close_date = "closedwon", h.clock.now() - timedelta(minutes=10)
    # Sarah's follow-up was triggered but not sent: her meeting counts (triggered contacts), a reply would not
    engagement(h, "s-meet", "meeting", None, SARAH, h.clock.now() - timedelta(minutes=20))
    scan.scan(h.deps)
    scan.scan(h.deps)  # the next scan sees the same records: nothing twice
    with h.deps.db.session() as s:
        rows = {(o.kind, o.source_id): o for o in s.scalars(select(Outcome))}
    assert set(rows) == {
        ("reply", "e-reply"),
        ("meeting", "e-meet"),
        ("deal_won", DEAL),
        ("meeting", "s-meet"),
    }
    assert rows[("reply", "e-reply")].followup_id == omar_fid
    won = rows[("deal_won", DEAL)]
    assert (won.followup_id, won.amount) == (omar_fid, 48_000.0)
    # people's touches in the 14 days before the close: the meeting (the app's own logged email is not one)
    assert won.other_touches == 1
    assert rows[("meeting", "s-meet")].followup_id == cards[SARAH][0]

    report = metrics.compute(h.deps, Scope.last("week", h.clock.now()))
    assert report.reply_rate == Rate(1, 1) and report.meeting_rate == Rate(2, 2)
    assert (report.won_deals, report.won_revenue, report.won_without_other_touch) == (1, 48_000.0, 0)
