"""`/followup status | help`."""

from __future__ import annotations

from slack_bolt import App, Respond

from blocks.card import to_dicts
from blocks.ids import COMMAND
from blocks.status import help_blocks, status_blocks
from bot.services import status
from handlers.deferred import Deferred


def register(app: App, deferred: Deferred) -> None:
    deps = deferred.deps

    def followup_command(command: dict, respond: Respond) -> None:
        words = (command.get("text") or "").split()
        sub = words[0].lower() if words else "help"
        if sub == "status":
            queue = status.queue(deps, command["user_id"])
            respond(blocks=to_dicts(status_blocks(queue)), text="Your follow-ups", response_type="ephemeral")
        elif sub == "help":
            respond(blocks=to_dicts(help_blocks()), text="followup help", response_type="ephemeral")
        else:
            respond(
                blocks=to_dicts(help_blocks(unknown=sub)),
                text=f"Unknown command {sub!r}",
                response_type="ephemeral",
            )

    app.command(COMMAND)(**deferred.after_ack("command", followup_command))
