"""Slack delivers at least once: an Events API event is retried when Slack saw no acknowledgement in 3 s
(over HTTP, or over a socket that dropped before the ack reached it). What was handled is remembered for a
day, so a redelivery is acknowledged and not handled twice."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from bot.db import Database
from bot.models import SlackDelivery
from bot.ports import Clock

log = logging.getLogger(__name__)

KEPT = timedelta(days=1)  # Slack's last retry of an event comes about 5 minutes after the first delivery
PRUNE_EVERY = 500  # records


def delivery_key(body: dict[str, Any]) -> str | None:
    """An event's own id, the same on every retry whichever connection carries it. Interactions and
    commands have none and need none: Slack does not send them twice (a person whose click was not
    acknowledged in time sees an error and clicks again)."""
    event_id = body.get("event_id") if body.get("type") == "event_callback" else None
    return f"event:{event_id}"[:120] if isinstance(event_id, str) and event_id else None


class Deliveries:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock
        self._recorded = 0

    def seen(self, key: str) -> bool:
        with self.db.session() as s:
            return s.scalar(select(SlackDelivery.key).where(SlackDelivery.key == key)) is not None

    def record(self, key: str) -> None:
        """Remember a handled delivery (a second record of the same key, from a racing retry, is a no-op)."""
        now = self.clock.now()
        try:
            with self.db.session() as s:
                s.add(SlackDelivery(key=key, handled_at=now))
        except IntegrityError:
            log.info("Slack's %s was handled twice: a retry arrived while the first was in hand", key)
        self._recorded += 1
        if self._recorded % PRUNE_EVERY == 1:
            with self.db.session() as s:
                s.execute(delete(SlackDelivery).where(SlackDelivery.handled_at < now - KEPT))
