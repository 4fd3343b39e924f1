"""manifest.yml agrees with what the app actually handles."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from blocks.ids import COMMAND, ActionId
from bot.doctor import BOT_SCOPES
from tests.blockkit import assert_valid_blocks
from tests.conftest import DANA

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_declares_what_the_app_uses(manifest):
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == [COMMAND]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    # least privilege: exactly what the app's Web API calls need (and what `followup doctor` checks for)
    assert (
        sorted(manifest["oauth_config"]["scopes"]["bot"])
        == sorted(BOT_SCOPES)
        == [
            "channels:read",
            "chat:write",
            "commands",
            "files:write",
            "groups:read",
            "users:read",
            "users:read.email",
        ]
    )


CLICKABLE = [
    ActionId.CARD_APPROVE,
    ActionId.CARD_DISMISS,
    ActionId.CARD_MARK_SENT,
    ActionId.CARD_RESEND,
    ActionId.CARD_RETRY_LOG,
    ActionId.CARD_CANCEL_SEND,
    ActionId.CARD_EDIT,
    ActionId.CARD_SNOOZE,
    ActionId.CARD_ESCALATE,
    ActionId.CARD_RETRY,
    ActionId.CARD_OPEN_ORIGINAL,
    ActionId.STATUS_OPEN_CARD,
]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_clickable_id_has_a_listener(harness):
    """Bolt answers 404 to an action nobody listens for; every id the builders emit must get a 200."""
    for action_id in CLICKABLE:
        selected = "999:1h" if action_id == ActionId.CARD_SNOOZE else None
        reply = harness.click(action_id, user=DANA, card=("DDANA", "1.1"), value="999", selected=selected)
        assert reply.status == 200, action_id


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_home_tab_shows_the_queue(harness):
    from tests.handlers.flow import seed_and_scan

    seed_and_scan(harness)
    assert (
        harness.event({"type": "app_home_opened", "user": DANA, "channel": "DDANA", "tab": "home"}).status
        == 200
    )
    [published] = harness.slack.wait_for("views.publish")
    assert published.args["user_id"] == DANA
    assert_valid_blocks(published.args["view"]["blocks"])
    assert published.args["view"]["type"] == "home"
