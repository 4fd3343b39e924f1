"""The message shortcut "Follow up on this": a forwarded intro or a pasted email in Slack becomes a lead.

It opens a modal with the message's text (and the first address in it, when there is one); the person
confirms whose it is. The submission is stored before the modal closes, then worked like any new lead."""

from __future__ import annotations

import re

from slack_bolt import App
from slack_sdk import WebClient

from blocks.ids import SHORTCUT_LEAD
from blocks.modals import ModalContext, lead_modal
from handlers.deferred import Deferred
from handlers.payload import MessageShortcut

ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
LINK = re.compile(r"<(?:mailto:)?[^<>|]*\|([^<>]*)>|<(?:mailto:)?([^<>|]*)>")


def plain(text: str) -> str:
    """Slack's message markup as the words a person saw: a link shows its label, a mailto its address."""
    return LINK.sub(lambda m: m.group(1) or m.group(2) or "", text)


def register(app: App, deferred: Deferred) -> None:
    def open_lead(req: MessageShortcut, client: WebClient) -> None:
        text = plain(req.message.text)
        found = ADDRESS.search(text)
        ctx = ModalContext(followup_id=0, channel=req.channel.id, ts=req.message.ts)
        view = lead_modal(text, ctx, email=found.group() if found else "")
        client.views_open(trigger_id=req.trigger_id, view=view)

    app.shortcut(SHORTCUT_LEAD)(**deferred.after_ack("lead-shortcut", open_lead))
