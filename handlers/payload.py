"""Small readers for Slack payload fields the listeners share."""

from __future__ import annotations

from typing import Any


def actor(body: dict[str, Any]) -> str:
    return body["user"]["id"]


def clicked_in(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(channel, message ts) of the card a button was clicked on."""
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    ts = (body.get("message") or {}).get("ts") or container.get("message_ts")
    return channel, ts


def value_of(state: dict[str, Any], block_id: str, action_id: str) -> Any:
    element = state.get("values", {}).get(block_id, {}).get(action_id, {})
    for key in ("value", "selected_user", "selected_option"):
        if element.get(key) is not None:
            return element[key]
    return None
