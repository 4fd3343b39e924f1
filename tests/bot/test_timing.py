"""Timing a person would choose, on the running app with a pinned clock across the weekend of the US
daylight-saving change (Sun 1 Nov 2026, 2:00 EDT → 1:00 EST): sends wait for the recipient's working hours
in their own zone, one mailbox's sends are spaced and capped per day, and a rep's daily card budget shows
the most valuable cards first and keeps the rest."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from blocks.ids import ActionId
from bot import jobs
from bot.models import FollowUp
from bot.services import review, scan
from crm.tables import CrmContact, CrmDeal
from tests.blockkit import assert_valid_blocks, texts
from tests.builders import OMAR, SARAH, small_book, stale_book
from tests.conftest import DANA
from tests.handlers.flow import followup, last_update_for, settle

NY, BERLIN = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")


def ny(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NY).astimezone(UTC)


def move_to(h, when: datetime) -> None:  # type: ignore[no-untyped-def]
    h.clock.advance(when - h.clock.now())


def card_of(h, fid: int) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    fu = followup(h, fid)
    return fu.cards[0].channel, fu.cards[0].ts


def approve(h, fid: int) -> None:  # type: ignore[no-untyped-def]
    assert h.click(ActionId.CARD_APPROVE, user=DANA, card=card_of(h, fid), value=str(fid)).status == 200
    settle(h)


def wait_mails(h, count: int) -> None:  # type: ignore[no-untyped-def]
    """Exactly `count` emails have gone out once the due work is done."""
    settle(h)
    assert len(h.mailbox.messages) == count, [m["To"] for m in h.mailbox.messages]


@pytest.fixture
def config_file(config_file: Path) -> Path:
    config_file.write_text(
        config_file.read_text().replace("spacing_minutes = 0", "spacing_minutes = 4\nmailbox_daily_cap = 3")
    )
    return config_file


def test_a_send_waits_for_the_recipients_morning_in_their_own_zone_across_the_dst_change(harness):
    h = harness
    move_to(h, ny("2026-10-30 16:58"))  # Friday, two minutes before the team's day ends
    small_book(h.deps.db, h.clock.now())
    with h.deps.db.session() as s:
        s.get(CrmContact, SARAH).timezone = "Europe/Berlin"  # 21:58 there: her day is over
    scan.scan(h.deps)
    settle(h)
    with h.deps.db.session() as s:
        ids = {fu.contact_id: fu.id for fu in s.scalars(select(FollowUp))}

    approve(h, ids[OMAR])  # his zone is unknown: the team's (New York), 16:58, inside the window
    wait_mails(h, 1)
    approve(h, ids[SARAH])
    wait_mails(h, 1)  # nothing leaves for Berlin at ten at night
    sarah = followup(h, ids[SARAH])
    assert sarah.state == "sending"
    assert sarah.send_at == datetime(2026, 11, 2, 9, 0, tzinfo=BERLIN)  # Monday 9:00 her time (CET)
    assert sarah.recipient_tz == "Europe/Berlin"
    blocks = last_update_for(h, card_of(h, ids[SARAH]))
    assert_valid_blocks(blocks)
    assert f"Scheduled: Mon 2 Nov 09:00 their time (<!date^{int(sarah.send_at.timestamp())}^" in texts(blocks)
    assert "approved by <@UDANA>" in texts(blocks)

    move_to(h, ny("2026-10-31 10:00"))  # Saturday
    wait_mails(h, 1)
    move_to(h, datetime(2026, 11, 2, 7, 59, tzinfo=UTC))  # Monday 8:59 in Berlin
    wait_mails(h, 1)
    move_to(h, datetime(2026, 11, 2, 8, 0, tzinfo=UTC))  # 9:00 in Berlin
    h.mailbox.wait_for(2)
    wait_mails(h, 2)
    assert h.mailbox.messages[1]["To"] == "sarah.chen@northwind.example"
    assert followup(h, ids[SARAH]).state == "sent"


def test_an_approved_send_can_be_pulled_back_before_its_time(harness):
    h = harness
    move_to(h, ny("2026-10-30 18:30"))  # Friday evening in New York
    small_book(h.deps.db, h.clock.now())
    scan.scan(h.deps)
    settle(h)
    with h.deps.db.session() as s:
        fid = s.scalar(select(FollowUp.id).where(FollowUp.contact_id == SARAH))
    approve(h, fid)
    assert followup(h, fid).send_at == ny("2026-11-02 09:00")  # Monday 9:00 EST: 14:00 UTC, not 13:00
    assert ny("2026-11-02 09:00") == datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    card = card_of(h, fid)
    blocks = last_update_for(h, card)
    assert [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]] == [
        ActionId.CARD_CANCEL_SEND,
        ActionId.CARD_HISTORY,
    ]
    assert h.click(ActionId.CARD_CANCEL_SEND, user=DANA, card=card, value=str(fid)).status == 200
    settle(h)
    back = followup(h, fid)
    assert back.state == "pending" and back.send_at is None
    assert "Approve & send" in texts(last_update_for(h, card))
    move_to(h, ny("2026-11-02 10:00"))
    wait_mails(h, 0)  # the pulled-back send never leaves


def test_one_mailbox_is_spaced_and_capped_per_day_across_the_weekend(harness):
    h = harness
    move_to(h, ny("2026-10-30 16:40"))
    stale_book(h.deps.db, h.clock.now(), 5)
    scan.scan(h.deps)
    settle(h)
    with h.deps.db.session() as s:
        ids = list(s.scalars(select(FollowUp.id).order_by(FollowUp.id)))
    assert len(ids) == 5
    for fid in ids:
        approve(h, fid)
    times = [followup(h, fid).send_at for fid in ids]
    assert times == [
        ny("2026-10-30 16:40"),  # at once
        ny("2026-10-30 16:44"),  # 4 minutes apart
        ny("2026-10-30 16:48"),
        ny("2026-11-02 09:00"),  # Friday's cap of 3 is used: Monday morning, after the clocks went back
        ny("2026-11-02 09:04"),
    ]
    wait_mails(h, 1)
    move_to(h, ny("2026-10-30 16:44"))
    wait_mails(h, 2)
    move_to(h, ny("2026-10-30 16:48"))
    wait_mails(h, 3)
    move_to(h, ny("2026-11-01 12:00"))  # Sunday
    wait_mails(h, 3)
    move_to(h, ny("2026-11-02 09:00"))
    wait_mails(h, 4)
    move_to(h, ny("2026-11-02 09:04"))
    wait_mails(h, 5)


def test_a_send_whose_moment_passed_while_workers_were_down_waits_for_the_next_window(harness):
    h = harness
    move_to(h, ny("2026-10-30 16:59"))
    small_book(h.deps.db, h.clock.now())
    scan.scan(h.deps)
    settle(h)
    with h.deps.db.session() as s:
        fid = s.scalar(select(FollowUp.id).where(FollowUp.contact_id == OMAR))
    h.runtime.workers.stop()  # the workers are down
    review.approve(h.deps, fid, actor=DANA)
    assert followup(h, fid).send_at == ny("2026-10-30 16:59")
    move_to(h, ny("2026-10-30 19:00"))  # they come back after the recipient's day ended
    h.runtime.workers.start()
    settle(h)
    wait_mails(h, 0)
    moved = followup(h, fid)
    assert (moved.state, moved.send_at) == ("sending", ny("2026-11-02 09:00"))
    assert "Scheduled: Mon 2 Nov 09:00 their time" in texts(last_update_for(h, card_of(h, fid)))
    move_to(h, ny("2026-11-02 09:00"))
    h.mailbox.wait_for(1)
    settle(h)
    assert followup(h, fid).state == "sent"


def test_the_daily_budget_shows_the_most_valuable_first_and_keeps_the_rest(harness):
    h = harness
    h.deps.config.budget.cards_per_rep_per_day = 2
    move_to(h, ny("2026-10-30 15:00"))  # Friday
    leads = stale_book(h.deps.db, h.clock.now(), 5)
    amounts = [1_000, 80_000, 20_000, 5_000, 120_000]
    with h.deps.db.session() as s:
        for n, amount in enumerate(amounts):
            s.get(CrmDeal, str(2000 + n)).amount = amount
    result = scan.scan(h.deps)
    settle(h)
    by_contact = {followup(h, f).contact_id: f for f in result.created + result.queued}
    order = [by_contact[leads[n]] for n in (4, 1, 2, 3, 0)]  # by amount, the largest first
    assert sorted(result.created) == sorted(order[:2]) and sorted(result.queued) == sorted(order[2:])
    posted = [c for c in h.slack.of("chat.postMessage") if c.args["channel"] == DANA]
    assert len(posted) == 2

    h.command("status", user=DANA)
    [answer] = h.slack.wait_for_response(1)
    assert_valid_blocks(answer["blocks"])
    shown = texts(answer["blocks"])
    assert "Up next: 3" in shown and "waits for room in your daily card budget" in shown
    assert shown.index("Lead2 Stuck") < shown.index("Lead3 Stuck") < shown.index("Lead0 Stuck")

    def due_work() -> list[int]:
        jobs.run_due_work(h.deps, holder=f"t{h.clock.now().timestamp()}")
        settle(h)
        return [f for f in order if followup(h, f).state == "pending"]

    assert due_work() == order[:2]  # Friday's two are used
    move_to(h, ny("2026-10-31 09:00"))
    assert due_work() == order[:2]  # Saturday: no new cards
    move_to(h, datetime(2026, 11, 2, 4, 59, tzinfo=UTC))  # Sunday 23:59 EST (the clocks went back)
    assert due_work() == order[:2]
    move_to(h, datetime(2026, 11, 2, 5, 0, tzinfo=UTC))  # Monday 00:00 EST
    assert due_work() == order[:4]  # Monday: the next two by value
    move_to(h, ny("2026-11-02 16:00"))
    assert due_work() == order[:4]
    move_to(h, ny("2026-11-03 08:00"))
    assert due_work() == order  # Tuesday: the last one; none was dropped


@pytest.mark.parametrize(
    ("crm_value", "zone"),
    [
        ("america_slash_new_york", "America/New_York"),
        ("europe_slash_berlin", "Europe/Berlin"),
        ("america_slash_argentina_slash_buenos_aires", "America/Argentina/Buenos_Aires"),
        ("Asia/Tokyo", "Asia/Tokyo"),
        ("not a zone", "America/Chicago"),
        (None, "America/Chicago"),
    ],
)
def test_the_recipients_zone_is_read_as_the_crm_spells_it(crm_value, zone):
    from bot.services.sending import zone_named

    assert zone_named(crm_value, ZoneInfo("America/Chicago")).key == zone
