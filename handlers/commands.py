"""`/followup status | stats | help`."""

from __future__ import annotations

from slack_bolt import App, Respond

from blocks.card import to_dicts
from blocks.format import clip, escape
from blocks.ids import COMMAND
from blocks.stats import stats_blocks, stats_text
from blocks.status import help_blocks, status_blocks
from bot.errors import FollowupError
from bot.services import metrics, status
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
        elif sub == "stats":
            try:
                scope, title = metrics.asked(deps, req.actor, words[1:])
            except FollowupError as exc:
                respond(text=str(exc), response_type="ephemeral")
                return
            report = metrics.compute(deps, scope)
            respond(
                blocks=to_dicts(stats_blocks(report, title)),
                text=stats_text(report, title),
                response_type="ephemeral",
            )
        elif sub == "help":
            respond(blocks=to_dicts(help_blocks()), text="followup help", response_type="ephemeral")
        else:
            respond(
                blocks=to_dicts(help_blocks(unknown=sub)),
                text=f"Unknown command {escape(clip(sub, 100))}",
                response_type="ephemeral",
            )

    app.command(COMMAND)(**deferred.after_ack("command", followup_command))
