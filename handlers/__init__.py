"""Bolt listeners: ack, parse, call one service, render with blocks/, respond."""

from __future__ import annotations

from slack_bolt import App

from bot.services.deps import Deps
from handlers.deferred import Deferred


def register_all(app: App, deps: Deps) -> Deferred:
    """Bind every listener; returns the deferred listeners, whose work the work queue runs."""
    from handlers import actions, commands, errors, events, shortcuts, views

    deferred = Deferred(deps)
    errors.register(app)
    commands.register(app, deferred)
    actions.register(app, deps, deferred)
    views.register(app, deps)
    events.register(app, deferred)
    shortcuts.register(app, deferred)
    return deferred
