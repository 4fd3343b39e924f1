"""Block Kit validation with slack_sdk's own models: parse every block/view and check Slack's limits."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View


def assert_valid_blocks(blocks: list[dict[str, Any]]) -> None:
    assert blocks, "a message with no blocks"
    assert len(blocks) <= 50, f"{len(blocks)} blocks; Slack allows 50 in a message"
    for raw in blocks:
        block = Block.parse(raw)
        assert block is not None, f"slack_sdk does not know block {raw.get('type')}"
        block.validate_json()  # raises SlackObjectFormationError on any limit breach
        assert block.to_dict() == raw, "the block changed on a round trip through slack_sdk"


def assert_valid_view(view: dict[str, Any]) -> None:
    model = View(**view)
    model.validate_json()
    assert len(view["blocks"]) <= 100
    assert_valid_blocks(view["blocks"])


def texts(blocks: list[dict[str, Any]], kinds: tuple[str, ...] = ("mrkdwn", "plain_text")) -> str:
    """All the human-readable text in a list of blocks, for assertions."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in kinds and "text" in node:
                out.append(node["text"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(blocks)
    return "\n".join(out)


def action_ids(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
