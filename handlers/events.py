"""Events: the App Home tab shows the rep's queue."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.models.views import View

from blocks.card import to_dicts
from blocks.status import status_blocks
from bot.services import status
from handlers.deferred import Deferred


def register(app: App, deferred: Deferred) -> None:
    deps = deferred.deps

    def home_opened(event: dict, client: WebClient) -> None:
        if event.get("tab") != "home":
            return
        queue = status.queue(deps, event["user"])
        client.views_publish(
            user_id=event["user"], view=View(type="home", blocks=to_dicts(status_blocks(queue)))
        )

    app.event("app_home_opened")(**deferred.after_ack("home", home_opened))
