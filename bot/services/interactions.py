"""Slack requests stored before they are acknowledged: the work they ask for is done by the work queue, in
any worker process, and survives a crash between the ack and the work."""

from __future__ import annotations

from typing import Any

from bot.services.deps import Deps
from bot.work.queue import Kind, enqueue


def store(deps: Deps, listener: str, body: dict[str, Any]) -> None:
    with deps.db.session() as s:
        enqueue(
            s,
            Kind.SLACK,
            followup_id=None,
            now=deps.clock.now(),
            payload={"listener": listener, "body": body},
        )
