"""Times a person sees, in their zone: a card in a rep's DM writes the times Slack cannot localise (the
fallback text of notifications and clients without date tokens) in the rep's Slack zone, with the weekday of
that zone's date; a card in a channel uses the team's zone."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from blocks.format import local_time, slack_date
from bot.adapters.slack import SlackChat, web_client
from bot.states import State
from tests.blockkit import assert_valid_blocks
from tests.blocks.test_builders import make
from tests.conftest import DANA

DUE = datetime(2027, 1, 4, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York, 15:00 in Berlin


def _fallbacks(blocks: list[dict]) -> str:
    import json

    return json.dumps(blocks, ensure_ascii=False)


def test_the_rep_sees_their_own_zone_in_a_dm_and_the_team_zone_in_a_channel(slack):
    chat = SlackChat(web_client(slack.token, base_url=slack.api_url, timeout=5))
    fu = replace(make(State.SCHEDULED), due_at=DUE, viewer_tz="America/New_York")
    chat.show(fu, DANA)  # Dana's Slack zone is Europe/Berlin
    chat.show(fu, "C0REVIEW01")
    dm, channel = slack.of("chat.postMessage")
    assert_valid_blocks(dm.args["blocks"])
    assert "|Mon 04 Jan 15:00 CET>" in _fallbacks(dm.args["blocks"])
    assert "|Mon 04 Jan 09:00 EST>" in _fallbacks(channel.args["blocks"])
    assert "UTC>" not in _fallbacks(dm.args["blocks"]) + _fallbacks(channel.args["blocks"])


def test_the_weekday_is_that_of_the_zones_date():
    late = datetime(2026, 12, 5, 3, 30, tzinfo=UTC)  # Saturday in UTC, still Friday evening in New York
    assert local_time(late, "America/New_York") == "Fri 04 Dec 22:30 EST"
    assert local_time(late, "Asia/Tokyo") == "Sat 05 Dec 12:30 JST"
    assert local_time(late, "Not/AZone") == "Sat 05 Dec 03:30 UTC"  # an unknown zone falls back, never fails
    assert slack_date(late, "Europe/Berlin").endswith("|Sat 05 Dec 04:30 CET>")
