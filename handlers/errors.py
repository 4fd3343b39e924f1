"""One error boundary: typed errors become a polite ephemeral message; anything else gets an id to quote."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.errors import FollowupError

log = logging.getLogger(__name__)


def tell_user(client: WebClient, body: dict[str, Any], text: str) -> None:
    """Reach the user privately: the response_url where Slack gave one, else an ephemeral or a DM."""
    user = (body.get("user") or {}).get("id") or body.get("user_id")
    response_url = body.get("response_url") or next(
        (u.get("response_url") for u in body.get("response_urls", []) if u.get("response_url")), None
    )
    if response_url:
        from slack_sdk.webhook import WebhookClient

        WebhookClient(response_url).send(text=text, response_type="ephemeral", replace_original=False)
        return
    channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
    if channel and user:
        client.chat_postEphemeral(channel=channel, user=user, text=text)
    elif user:
        client.chat_postMessage(channel=user, text=text)


def register(app: App) -> None:
    @app.error
    def boundary(error: Exception, body: dict[str, Any], client: WebClient) -> None:
        if isinstance(error, FollowupError):
            text = f":no_entry: {error}"
        else:
            ref = uuid.uuid4().hex[:8]
            log.error("unexpected error %s", ref, exc_info=error)
            text = f":warning: Something went wrong on our side (error id `{ref}`). Nothing was sent."
        try:
            tell_user(client, body, text)
        except Exception:
            log.exception("could not tell the user about an error")
