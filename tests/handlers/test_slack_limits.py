"""Slack's own limits: a 429 is retried after the Retry-After it names, a 5xx is retried, and the card
still ends up showing the follow-up as it is."""

from __future__ import annotations

from blocks.ids import ActionId
from tests.blockkit import texts
from tests.builders import SARAH
from tests.conftest import DANA
from tests.handlers.flow import followup, last_update_for, seed_and_scan, settle


def test_a_rate_limited_post_waits_for_retry_after_then_succeeds(harness):
    harness.slack.rate_limited["chat.postMessage"] = 1
    ids = seed_and_scan(harness)
    [refused] = harness.slack.refused
    posts = harness.slack.of("chat.postMessage")
    assert len(posts) == len(ids)  # every card posted, the refused one on its retry
    retry = next(p for p in posts if p.args["text"] == refused.args["text"])
    assert retry.at - refused.at >= 0.95  # Retry-After: 1 was honoured
    assert all(followup(harness, fid).cards for fid, _ in ids.values())


def test_a_server_error_on_a_card_update_is_retried_and_the_card_matches(harness):
    fid, card = seed_and_scan(harness)[SARAH]
    harness.slack.fail_once["chat.update"] = True
    harness.slack.rate_limited["chat.update"] = 1
    harness.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid))
    harness.mailbox.wait_for(1)
    settle(harness)
    blocks = last_update_for(harness, card)
    assert f"Sent by <@{DANA}>" in texts(blocks)
    assert [c.method for c in harness.slack.refused] == ["chat.update", "chat.update"]
