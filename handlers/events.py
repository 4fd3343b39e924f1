"""Events: the App Home tab shows the rep's queue, with the cards' buttons, and the team's week."""

from __future__ import annotations

from slack_bolt import App

from bot.services import reports
from handlers.deferred import Deferred
from handlers.payload import EventCallback


def register(app: App, deferred: Deferred) -> None:
    deps = deferred.deps

    def home_opened(req: EventCallback) -> None:
        if req.event.tab != "home":
            return
        reports.publish_home(deps, req.actor)

    app.event("app_home_opened")(**deferred.after_ack("home", home_opened))
