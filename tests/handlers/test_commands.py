"""`/followup status | help | <unknown>` and the HTTP surface: signatures, healthz."""

from __future__ import annotations

import time

from blocks.ids import ActionId
from tests.blockkit import assert_valid_blocks, texts
from tests.builders import OMAR, SARAH
from tests.conftest import DANA, MANAGER
from tests.handlers.flow import seed_and_scan, settle


def test_status_lists_the_callers_queue_with_links(harness):
    cards = seed_and_scan(harness)
    fid, card = cards[OMAR]
    harness.click(ActionId.CARD_SNOOZE, user=DANA, card=card, selected=f"{fid}:3d")
    settle(harness)

    reply = harness.command("status", user=DANA)
    assert reply.status == 200
    [answer] = harness.slack.wait_for_response(1)
    assert answer["response_type"] == "ephemeral"
    assert_valid_blocks(answer["blocks"])
    shown = texts(answer["blocks"])
    counts = "Overdue: 0 · Pending: 1 · Escalated: 0 · Up next: 0 · Snoozed: 1 · Failed: 0 · Sent today: 0"
    assert counts in shown
    assert "Sarah Chen" in shown and "Omar Haddad" in shown and ":zzz: until" in shown
    links = [b["accessory"]["url"] for b in answer["blocks"] if b.get("accessory")]
    assert (
        f"https://acme.slack.com/archives/{cards[SARAH][1][0]}/p{cards[SARAH][1][1].replace('.', '')}"
        in links
    )


def test_status_for_someone_with_nothing_queued(harness):
    seed_and_scan(harness)
    harness.command("status", user=MANAGER)
    [answer] = harness.slack.wait_for_response(1)
    assert_valid_blocks(answer["blocks"])
    assert "Nothing waiting for you" in texts(answer["blocks"])


def test_help_and_unknown_subcommand(harness):
    harness.command("help", user=DANA, response="help")
    harness.command("frobnicate now", user=DANA, response="unknown")
    answers = harness.slack.wait_for_response(2)
    for a in answers:
        assert_valid_blocks(a["blocks"])
        assert "/followup status" in texts(a["blocks"])
    assert any("I don't know `frobnicate`" in texts(a["blocks"]) for a in answers)


def test_unsigned_and_badly_signed_requests_get_401(harness):
    body = "command=%2Ffollowup&text=status&user_id=UDANA"
    assert harness.signed_post(body, "application/x-www-form-urlencoded", sign=False).status == 401
    assert (
        harness.signed_post(body, "application/x-www-form-urlencoded", signature="v0=" + "0" * 64).status
        == 401
    )
    stale = int(time.time()) - 60 * 10  # a replayed request
    assert harness.signed_post(body, "application/x-www-form-urlencoded", timestamp=stale).status == 401
    assert harness.slack.responses == []


def test_healthz(harness):
    reply = harness.request("GET", "/healthz")
    assert (reply.status, reply.json()) == (200, {"ok": True})
    assert harness.request("GET", "/nope").status == 404
