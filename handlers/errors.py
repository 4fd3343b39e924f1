"""One error boundary: typed errors become a polite ephemeral message; anything else gets an id to quote."""

from __future__ import annotations

import inspect
import logging
import uuid
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
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


def report(error: Exception, body: dict[str, Any], client: WebClient) -> None:
    """The one place errors become messages: typed ones as they are, others with an id to quote."""
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


Listener = Callable[..., Any]


def guarded(func: Listener) -> Listener:
    """Run a listener and report its errors ourselves instead of raising them into Bolt.

    A listener that raises in Bolt's ack path is answered with HTTP 500 and Slack shows a bare failure;
    catching here acks (if nothing has) and tells the person through `report`, with an error id."""
    wanted = list(inspect.signature(func).parameters)

    def listener(  # Bolt injects arguments by these names
        ack: Ack,
        body: dict,
        client: WebClient,
        action: dict | None = None,
        view: dict | None = None,
        command: dict | None = None,
        respond: Respond | None = None,
        event: dict | None = None,
    ) -> None:
        given = {
            "ack": ack,
            "body": body,
            "client": client,
            "action": action,
            "view": view,
            "command": command,
            "respond": respond,
            "event": event,
        }
        try:
            func(**{name: given[name] for name in wanted})
        except Exception as exc:
            if ack.response is None:
                ack()
            report(exc, body, client)

    listener.__name__ = listener.__qualname__ = func.__name__
    return listener


def register(app: App) -> None:
    @app.error
    def boundary(error: Exception, body: dict[str, Any], client: WebClient) -> None:
        report(error, body, client)  # errors raised outside listeners, e.g. in middleware
