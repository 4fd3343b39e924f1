"""Snooze a follow-up in the rep's own time zone, and bring due ones back as fresh cards."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from blocks.ids import SnoozeChoice
from bot.models import FollowUp
from bot.services import cards
from bot.services.common import authorize, load, transition
from bot.services.deps import Deps
from bot.snapshot import FollowUpView
from bot.states import Action, State

log = logging.getLogger(__name__)
MORNING = time(9, 0)


def snooze_until(choice: SnoozeChoice, now: datetime, tz_name: str | None) -> datetime:
    """When a snooze ends, computed in the rep's zone (9:00 means their 9:00)."""
    try:
        zone = ZoneInfo(tz_name) if tz_name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    if choice is SnoozeChoice.ONE_HOUR:
        return now + timedelta(hours=1)
    if choice is SnoozeChoice.THREE_DAYS:
        return now + timedelta(days=3)
    if choice is SnoozeChoice.TOMORROW_9:
        day = local.date() + timedelta(days=1)
    else:  # next week: the coming Monday morning
        day = local.date() + timedelta(days=7 - local.weekday())
    return datetime.combine(day, MORNING, zone)


def snooze(
    deps: Deps, followup_id: int, *, actor: str, choice: SnoozeChoice, where: str | None = None
) -> FollowUpView:
    tz_name = deps.chat.user_timezone(actor) if deps.chat else None
    now = deps.clock.now()
    until = snooze_until(choice, now, tz_name)
    with deps.db.session() as s:
        fu = load(s, followup_id)
        authorize(deps, fu, actor, where=where)
        transition(
            s,
            fu,
            Action.SNOOZE,
            actor=actor,
            now=now,
            values={"snoozed_until": until},
            detail={"choice": choice.value, "until": until.isoformat(), "tz": tz_name},
        )
    cards.refresh(deps, followup_id)
    return cards.view(deps, followup_id)


def resurface_due(deps: Deps) -> list[int]:
    """Every snooze that has ended goes back to pending with a fresh card (survives restarts: due times
    are rows, not timers)."""
    now = deps.clock.now()
    with deps.db.session() as s:
        due = list(
            s.scalars(
                select(FollowUp.id)
                .where(FollowUp.state == State.SNOOZED.value, FollowUp.snoozed_until <= now)
                .order_by(FollowUp.id)
            )
        )
    back = []
    for fid in due:
        with deps.db.session() as s:
            fu = load(s, fid)
            transition(
                s,
                fu,
                Action.RESURFACE,
                actor="scheduler",
                now=now,
                values={"snoozed_until": None},
                detail={"was_due": fu.snoozed_until.isoformat() if fu.snoozed_until else None},
            )
        back.append(fid)
        fu_view = cards.view(deps, fid)
        channel = cards.owner_destination(deps, fu_view)
        if channel:
            try:
                cards.post(deps, fid, channel=channel)
            except Exception:
                log.exception("could not post resurfaced follow-up %s", fid)
    return back
