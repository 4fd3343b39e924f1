"""App Home and the weekly digest through the running app: the queue with the cards' own buttons (which work
from the Home tab), the team's week with a chart that is a real PNG uploaded through Slack's upload flow, and
a digest posted once a week."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from blocks.ids import ActionId, BlockId
from bot import jobs
from tests.blockkit import assert_valid_blocks, assert_valid_view, texts
from tests.builders import OMAR, SARAH
from tests.conftest import DANA
from tests.handlers.flow import followup, seed_and_scan, settle

REPORTS, DIGEST = "CREPORTS", "CDIGEST"


@pytest.fixture
def config_file(config_file: Path) -> Path:
    config_file.write_text(
        config_file.read_text()
        + f"""
[teams.east]
members = ["dana.whitfield@followup-demo.com"]

[reports]
digest_channel = "{DIGEST}"
chart_channel = "{REPORTS}"
"""
    )
    return config_file


def open_home(h, user: str = DANA) -> dict:  # type: ignore[no-untyped-def]
    before = len(h.slack.of("views.publish"))
    assert (
        h.event({"type": "app_home_opened", "user": user, "tab": "home", "channel": "DHOME1"}).status == 200
    )
    return h.slack.wait_for("views.publish", before + 1)[-1].args


def png_of(slack, file_id: str) -> Image.Image:
    image = Image.open(io.BytesIO(slack.uploads[file_id]))
    image.load()  # a real PNG that opens, not bytes that start like one
    return image


def test_app_home_shows_the_queue_with_working_buttons_and_the_teams_week_with_its_chart(harness):
    cards = seed_and_scan(harness)
    published = open_home(harness)
    view = published["view"]
    assert published["user_id"] == DANA and view["type"] == "home"
    assert_valid_view(view)
    shown = texts(view["blocks"])
    assert "Sarah Chen" in shown and "Omar Haddad" in shown and "Team east's week" in shown
    rows = [b for b in view["blocks"] if b["type"] == "actions"]
    sarah = cards[SARAH][0]
    assert {b["block_id"] for b in rows} >= {
        f"{BlockId.CARD_ACTIONS}-{sarah}",
        f"{BlockId.CARD_ACTIONS}-{cards[OMAR][0]}",
    }
    [image] = [b for b in view["blocks"] if b["type"] == "image"]
    file_id = image["slack_file"]["id"]
    assert harness.slack.files[file_id]["channel"] == REPORTS  # shared where the team can see it
    assert png_of(harness.slack, file_id).size == (900, 340)
    assert [c.method for c in harness.slack.calls if c.method.startswith("files.")] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]

    # Approve from the Home tab: the same button as on the card, and the Home shows it moved on
    click = {
        "type": "block_actions",
        "user": {"id": DANA, "username": "dana", "team_id": "T0001"},
        "container": {"type": "view", "view_id": "VHOME"},
        "view": {"id": "VHOME", "type": "home"},
        "actions": [
            {
                "action_id": ActionId.CARD_APPROVE,
                "block_id": f"{BlockId.CARD_ACTIONS}-{sarah}",
                "type": "button",
                "value": str(sarah),
                "action_ts": "1.0",
            }
        ],
    }
    assert harness.interact(click).status == 200
    harness.mailbox.wait_for(1)
    settle(harness)
    assert followup(harness, sarah).state == "sent"
    again = harness.slack.wait_for("views.publish", 2)[-1].args["view"]
    assert_valid_view(again)
    [row] = [b for b in again["blocks"] if b.get("block_id") == f"{BlockId.CARD_ACTIONS}-{sarah}"]
    assert [e["action_id"] for e in row["elements"]] == [ActionId.CARD_HISTORY]  # sent: only its History
    assert "Sent today" in texts(again["blocks"])
    assert len(harness.slack.of("files.completeUploadExternal")) == 1  # the hour's chart, reused


def test_the_weekly_digest_is_posted_once_with_the_numbers_and_the_chart(harness):
    seed_and_scan(harness)
    ny = ZoneInfo("America/New_York")
    monday = datetime(2026, 11, 23, 9, 5, tzinfo=ny)
    harness.clock.advance(monday - harness.clock.now() - timedelta(minutes=10))  # 8:55: not yet
    jobs.run_due_work(harness.deps, holder="a")
    settle(harness)
    assert [c for c in harness.slack.of("chat.postMessage") if c.args["channel"] == DIGEST] == []
    harness.clock.advance(timedelta(minutes=10))
    jobs.run_due_work(harness.deps, holder="b")
    jobs.run_due_work(harness.deps, holder="c")  # another replica's tick: still one digest
    settle(harness)
    [digest] = [c for c in harness.slack.of("chat.postMessage") if c.args["channel"] == DIGEST]
    assert_valid_blocks(digest.args["blocks"])
    assert "The week to Mon 23 Nov" in texts(digest.args["blocks"])
    [image] = [b for b in digest.args["blocks"] if b["type"] == "image"]
    assert harness.slack.files[image["slack_file"]["id"]]["channel"] == DIGEST
    png_of(harness.slack, image["slack_file"]["id"])
    harness.clock.advance(timedelta(days=1))
    jobs.run_due_work(harness.deps, holder="d")
    settle(harness)
    assert len([c for c in harness.slack.of("chat.postMessage") if c.args["channel"] == DIGEST]) == 1


def test_app_home_still_shows_the_queue_and_numbers_when_the_chart_upload_fails(harness):
    seed_and_scan(harness)
    harness.slack.fail_methods["files.getUploadURLExternal"] = "missing_scope"  # files:write not granted
    view = open_home(harness)["view"]
    assert_valid_view(view)
    assert "Sarah Chen" in texts(view["blocks"]) and "Team east's week" in texts(view["blocks"])
    assert [b for b in view["blocks"] if b["type"] == "image"] == []


def test_the_digest_goes_out_without_the_chart_when_the_upload_fails(harness):
    seed_and_scan(harness)
    harness.slack.fail_methods["files.completeUploadExternal"] = "internal_error"
    monday = datetime(2026, 11, 23, 9, 5, tzinfo=ZoneInfo("America/New_York"))
    harness.clock.advance(monday - harness.clock.now())
    jobs.run_due_work(harness.deps, holder="a")
    settle(harness)
    [digest] = [c for c in harness.slack.of("chat.postMessage") if c.args["channel"] == DIGEST]
    assert_valid_blocks(digest.args["blocks"])
    assert "The week to Mon 23 Nov" in texts(digest.args["blocks"])
    assert [b for b in digest.args["blocks"] if b["type"] == "image"] == []


def test_an_event_slack_retries_over_http_is_acknowledged_and_handled_once(harness):
    """Slack sends an event again (X-Slack-Retry-Num) when it saw no 200 in 3 s: the same event_id is
    answered 200 and not handled a second time."""
    import json
    import time

    from tests.handlers.flow import settle

    envelope = {
        "token": "legacy",
        "team_id": "T0001",
        "api_app_id": "A0001",
        "type": "event_callback",
        "event_id": "EvRETRY0001",
        "event_time": int(time.time()),
        "event": {"type": "app_home_opened", "user": DANA, "tab": "home", "channel": "DHOME1"},
    }
    assert harness.signed_post(json.dumps(envelope), "application/json").status == 200
    harness.slack.wait_for("views.publish", 1)
    settle(harness)
    for _ in range(2):  # Slack's retries
        assert harness.signed_post(json.dumps(envelope), "application/json").status == 200
    settle(harness)
    time.sleep(0.3)
    assert len(harness.slack.of("views.publish")) == 1
    other = {**envelope, "event_id": "EvRETRY0002"}  # another event is handled as usual
    assert harness.signed_post(json.dumps(other), "application/json").status == 200
    harness.slack.wait_for("views.publish", 2)
