"""One error boundary: typed errors become a polite ephemeral message; anything else gets an id to quote."""

from __future__ import annotations

import inspect
import logging
import uuid
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from blocks.format import escape
from bot.errors import FollowupError
from handlers.payload import (
    BlockActions,
    EventCallback,
    Incoming,
    Invalid,
    SlashCommand,
    ViewSubmission,
    parse,
)

log = logging.getLogger(__name__)


def tell_user(client: WebClient, req: Incoming, text: str) -> None:
    """Reach the user privately: the response_url where Slack gave one, else an ephemeral or a DM."""
    urls: list[str] = []
    if isinstance(req, BlockActions | SlashCommand):
        urls = req.response_urls
    elif isinstance(req, ViewSubmission):
        urls = [u.response_url for u in req.response_urls]
    if urls:
        from slack_sdk.webhook import WebhookClient

        WebhookClient(urls[0], timeout=10).send(text=text, response_type="ephemeral", replace_original=False)
        return
    if not isinstance(req, BlockActions | ViewSubmission | SlashCommand | EventCallback):
        return
    channel = (
        req.card[0]
        if isinstance(req, BlockActions)
        else req.channel_id
        if isinstance(req, SlashCommand)
        else None
    )
    if channel:
        client.chat_postEphemeral(channel=channel, user=req.actor, text=text)
    else:
        client.chat_postMessage(channel=req.actor, text=text)


def unexpected(error: Exception) -> str:
    """Log an unexpected error under a fresh id and return the sentence that gives the person that id."""
    ref = uuid.uuid4().hex[:8]
    log.error("unexpected error", exc_info=error, extra={"error_id": ref})
    return (
        f":warning: Something went wrong on our side (error id `{ref}`). "
        "The card shows where the follow-up stands; quote the id if you ask for help."
    )


def report(error: Exception, body: dict[str, Any] | Incoming, client: WebClient) -> None:
    """The one place errors become messages: typed ones as they are (escaped: they may quote CRM text),
    others with an id to quote. It never claims nothing was sent: where an error struck is not known here."""
    text = f":no_entry: {escape(str(error))}" if isinstance(error, FollowupError) else unexpected(error)
    try:
        req = body if not isinstance(body, dict) else parse(body)
        tell_user(client, req, text)
    except Invalid:
        log.warning("could not tell the user about an error: the request does not fit")
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
        try:
            req = parse(body)
        except Invalid as exc:  # the gate lets none through over HTTP; a stored one from an older version
            log.warning("dropped a Slack request that does not fit: %s", exc)
            if ack.response is None:
                ack()
            return
        given = {
            "req": req,
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
            if ack.response is None and isinstance(req, ViewSubmission) and req.view.state.values:
                # keep the modal open, with what the person typed, and the error id on its first input
                said = (
                    str(exc) if isinstance(exc, FollowupError) else unexpected(exc).removeprefix(":warning: ")
                )
                block = next(iter(req.view.state.values))
                ack(response_action="errors", errors={block: said[:150].replace("`", "")})
                return
            if ack.response is None:
                ack()
            report(exc, req, client)

    listener.__name__ = listener.__qualname__ = func.__name__
    return listener


def register(app: App) -> None:
    @app.error
    def boundary(error: Exception, body: dict[str, Any], client: WebClient) -> None:
        report(error, body, client)  # errors raised outside listeners, e.g. in middleware
