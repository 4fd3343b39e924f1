"""Bolt listeners: ack, parse, call one service, render with blocks/, respond."""

from __future__ import annotations

from slack_bolt import App

from bot.services.deps import Deps


def register_all(app: App, deps: Deps) -> None:
    from handlers import actions, commands, errors, events, views

    errors.register(app)
    commands.register(app, deps)
    actions.register(app, deps)
    views.register(app, deps)
    events.register(app, deps)
