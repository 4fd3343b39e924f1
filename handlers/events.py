"""Events: the App Home tab shows the rep's queue."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.models.views import View

from blocks.card import to_dicts
from blocks.status import status_blocks
from bot.services import status
from handlers.deferred import Deferred
from handlers.payload import EventCallback


def register(app: App, deferred: Deferred) -> None:
    deps = deferred.deps

    def home_opened(req: EventCallback, client: WebClient) -> None:
        if req.event.tab != "home":
            return
        queue = status.queue(deps, req.actor)
        client.views_publish(user_id=req.actor, view=View(type="home", blocks=to_dicts(status_blocks(queue))))

    app.event("app_home_opened")(**deferred.after_ack("home", home_opened))
