"""Small text helpers for Slack mrkdwn."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from blocks.ids import CONVERSATION_ID, USER_ID

# embedding and override controls: "\u202egnp.exe" shows as "exe.png", a name or a link shown back to front
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def escape(text: str) -> str:
    """Escape the three characters Slack treats as markup, so `<!channel>`, `<@U…>` and `<https://…|x>` in
    a lead's text stay text; direction overrides are dropped."""
    return plain(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str) -> str:
    """Text for a plain_text field (nothing in it is markup): without direction overrides."""
    return BIDI_CONTROLS.sub("", text)


def line(text: str | None, limit: int) -> str:
    """CRM text for one line of mrkdwn: escaped, whitespace (newlines included) collapsed, clipped."""
    return clip(escape(" ".join((text or "").split())), limit)


def slack_date(at: datetime, zone: str | None = None) -> str:
    """A timestamp every reader sees in their own time zone. Where Slack cannot localise it (a
    notification, a terminal), the fallback is written in `zone` (the reader's, else the team's), with the
    weekday of that zone's date."""
    epoch = int(at.timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|{local_time(at, zone)}>"


def local_time(at: datetime, zone: str | None) -> str:
    """'Mon 04 Jan 09:00 EST' in `zone`; UTC when no zone (or an unknown one) is given."""
    try:
        tz = ZoneInfo(zone) if zone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        tz = UTC
    local = at.astimezone(tz)
    return f"{local:%a %d %b %H:%M} {local.tzname() or 'UTC'}"


def person(slack_id: str | None, fallback: str | None = None) -> str:
    """The one way an id becomes a mention: only a well-formed user or channel id does; anything else is
    shown as the (escaped, clipped) fallback name, never as markup."""
    if slack_id and re.fullmatch(USER_ID, slack_id):
        return f"<@{slack_id}>"
    if slack_id and re.fullmatch(CONVERSATION_ID, slack_id):
        return f"<#{slack_id}>"
    return clip(escape(" ".join((fallback or "someone").split())), 100)


def clip(text: str, limit: int) -> str:
    """Shorten to `limit` characters, never cutting an escape like `&amp;` in half."""
    if len(text) <= limit:
        return text
    return re.sub(r"&[a-z]{0,3}$", "", text[: limit - 1]) + "…"


def quote(text: str) -> str:
    return "\n".join(f">{line}" if line else ">" for line in text.splitlines())
