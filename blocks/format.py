"""Small text helpers for Slack mrkdwn."""

from __future__ import annotations

import re
from datetime import datetime


def escape(text: str) -> str:
    """Escape the three characters Slack treats as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_date(at: datetime, fallback_fmt: str = "%a %d %b %H:%M UTC") -> str:
    """A timestamp every reader sees in their own time zone."""
    epoch = int(at.timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|{at.strftime(fallback_fmt)}>"


def person(slack_id: str | None, fallback: str | None = None) -> str:
    if slack_id and slack_id.startswith(("U", "W")):
        return f"<@{slack_id}>"
    if slack_id and slack_id.startswith(("C", "G")):
        return f"<#{slack_id}>"
    return escape(fallback or slack_id or "someone")


def clip(text: str, limit: int) -> str:
    """Shorten to `limit` characters, never cutting an escape like `&amp;` in half."""
    if len(text) <= limit:
        return text
    return re.sub(r"&[a-z]{0,3}$", "", text[: limit - 1]) + "…"


def quote(text: str) -> str:
    return "\n".join(f">{line}" if line else ">" for line in text.splitlines())
