"""`/followup status | help`."""

from __future__ import annotations

from slack_bolt import App, Respond

from blocks.card import to_dicts
from blocks.format import clip, escape
from blocks.ids import COMMAND
from blocks.status import help_blocks, status_blocks
from bot.services import status
from handlers.deferred import Deferred
from handlers.payload import SlashCommand


def register(app: App, deferred: Deferred) -> None:
    deps = deferred.deps

    def followup_command(req: SlashCommand, respond: Respond) -> None:
        words = req.text.split()
        sub = words[0].lower() if words else "help"
        if sub == "status":
            queue = status.queue(deps, req.actor)
            respond(blocks=to_dicts(status_blocks(queue)), text="Your follow-ups", response_type="ephemeral")
        elif sub == "help":
            respond(blocks=to_dicts(help_blocks()), text="followup help", response_type="ephemeral")
        else:
            respond(
                blocks=to_dicts(help_blocks(unknown=sub)),
                text=f"Unknown command {escape(clip(sub, 100))}",
                response_type="ephemeral",
            )

    app.command(COMMAND)(**deferred.after_ack("command", followup_command))
