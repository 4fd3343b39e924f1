"""Listeners whose work runs after the ack, on the work queue: the ack stores the request and answers Slack
at once; a worker (in this process or another) later calls the listener with the stored request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot.services import interactions
from bot.services.deps import Deps
from bot.work.queue import Job
from handlers.errors import guarded

Listener = Callable[..., None]


class Deferred:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.listeners: dict[str, Listener] = {}

    def after_ack(self, name: str, work: Listener) -> dict[str, Any]:
        """Bolt listener arguments: store, then ack; `work` runs from the queue."""
        if name in self.listeners:
            raise ValueError(f"two deferred listeners are called {name!r}")
        self.listeners[name] = guarded(work)

        def store_then_ack(ack: Ack, body: dict) -> None:
            interactions.store(self.deps, name, body)
            ack()

        store_then_ack.__name__ = f"ack_{name}"
        # if the request can't be stored, the person is told (politely, with an error id) instead of Slack
        # showing a bare failure
        return {"ack": guarded(store_then_ack), "lazy": []}

    def run(self, client: WebClient, job: Job) -> None:
        """The work queue's handler for stored Slack requests: the arguments Bolt would have given."""
        listener = self.listeners[job.payload["listener"]]
        body: dict[str, Any] = job.payload["body"]
        response_url = body.get("response_url") or next(
            (u.get("response_url") for u in body.get("response_urls") or [] if u.get("response_url")), None
        )
        listener(
            ack=Ack(),  # already acknowledged; `guarded` may call it, to no effect
            body=body,
            client=client,
            action=(body.get("actions") or [None])[0],
            view=body.get("view"),
            command=body if "command" in body else None,
            respond=Respond(response_url=response_url) if response_url else None,
            event=body.get("event"),
        )
