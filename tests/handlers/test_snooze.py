"""Snooze: in the rep's own zone; the card collapses; it comes back as a fresh card, even after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from blocks.ids import ActionId
from bot.services.snooze import resurface_due
from tests.blockkit import action_ids, assert_valid_blocks, texts
from tests.builders import SARAH
from tests.conftest import DANA
from tests.handlers.flow import followup, last_update_for, seed_and_scan, settle


def test_snooze_until_tomorrow_nine_in_the_reps_zone(harness):
    fid, card = seed_and_scan(harness)[SARAH]
    harness.click(ActionId.CARD_SNOOZE, user=DANA, card=card, selected=f"{fid}:tomorrow")
    settle(harness)
    fu = followup(harness, fid)
    # Dana is in Berlin (fake users.info); it is 21:00 there on Wed 18 Nov
    assert fu.state == "snoozed"
    assert fu.snoozed_until == datetime(2026, 11, 19, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    blocks = last_update_for(harness, card)
    assert_valid_blocks(blocks)
    assert "Snoozed until" in texts(blocks)
    assert (
        action_ids(blocks) == [ActionId.CARD_HISTORY] and len(blocks) == 3
    )  # collapsed: header, status, History


def test_snoozed_followup_resurfaces_as_a_fresh_card_after_a_restart(harness):
    fid, card = seed_and_scan(harness)[SARAH]
    harness.click(ActionId.CARD_SNOOZE, user=DANA, card=card, selected=f"{fid}:1h")
    settle(harness)
    posted_before = len(harness.slack.of("chat.postMessage"))

    resurface_due(harness.deps)  # not due yet
    assert followup(harness, fid).state == "snoozed"

    restarted = harness.restart()
    try:
        restarted.clock.advance(timedelta(hours=1, minutes=1))
        resurface_due(restarted.deps)
        settle(restarted)
        posts = restarted.slack.wait_for("chat.postMessage", posted_before + 1)
        fresh = posts[-1].args["blocks"]
        assert_valid_blocks(fresh)
        assert "Sarah Chen" in texts(fresh) and ActionId.CARD_APPROVE in action_ids(fresh)
        fu = followup(restarted, fid)
        assert fu.state == "pending" and fu.snoozed_until is None and len(fu.cards) == 2
        assert [e.action for e in fu.events] == ["create", "snooze", "resurface"]
        # the fresh card works: approve from it
        new_card = (fu.cards[-1].channel, fu.cards[-1].ts)
        restarted.click(ActionId.CARD_APPROVE, user=DANA, card=new_card, value=str(fid))
        restarted.mailbox.wait_for(1)
    finally:
        restarted.stop()


def test_next_week_means_monday_morning_for_the_rep():
    from blocks.ids import SnoozeChoice
    from bot.services.snooze import snooze_until

    now = datetime(2026, 11, 18, 20, 0, tzinfo=ZoneInfo("UTC"))  # Wednesday
    until = snooze_until(SnoozeChoice.NEXT_WEEK, now, "America/Los_Angeles")
    assert until == datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
    # three days from Wednesday evening is Saturday: the card comes back on Monday at the same time
    assert snooze_until(SnoozeChoice.THREE_DAYS, now, None) == now + timedelta(days=5)
    # an unknown zone from Slack falls back to UTC rather than failing the click
    assert snooze_until(SnoozeChoice.TOMORROW_9, now, "Mars/Olympus") == datetime(
        2026, 11, 19, 9, tzinfo=ZoneInfo("UTC")
    )


def test_a_snooze_never_ends_on_a_weekend_in_the_reps_zone():
    from blocks.ids import SnoozeChoice
    from bot.services.snooze import snooze_until

    berlin = ZoneInfo("Europe/Berlin")
    friday_evening = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)  # 18:00 on Friday in Berlin
    assert snooze_until(SnoozeChoice.TOMORROW_9, friday_evening, "Europe/Berlin") == datetime(
        2026, 11, 23, 9, 0, tzinfo=berlin
    )
    thursday = datetime(2026, 11, 19, 14, 0, tzinfo=UTC)  # 3 days on is Sunday 15:00 in Berlin
    assert snooze_until(SnoozeChoice.THREE_DAYS, thursday, "Europe/Berlin") == datetime(
        2026, 11, 23, 15, 0, tzinfo=berlin
    )
