"""Snooze a follow-up in the rep's own time zone, and bring due ones back as fresh cards."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from blocks.ids import SnoozeChoice
from bot.models import FollowUp
from bot.services import lifecycle
from bot.services.common import authorize, load, transition
from bot.services.deps import Deps
from bot.states import Action, State
from bot.triggers.base import RuleContext
from bot.work.queue import Kind, enqueue

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
        return _weekday(now + timedelta(days=3), zone)
    if choice is SnoozeChoice.TOMORROW_9:
        day = local.date() + timedelta(days=1)
    else:  # next week: the coming Monday morning
        day = local.date() + timedelta(days=7 - local.weekday())
    return _weekday(datetime.combine(day, MORNING, zone), zone)


def _weekday(at: datetime, zone: ZoneInfo) -> datetime:
    """A snooze never ends on a weekend in the rep's zone: "tomorrow" on a Friday is Monday, same time."""
    local = at.astimezone(zone)
    while local.weekday() >= 5:
        local = datetime.combine(local.date() + timedelta(days=1), local.timetz().replace(tzinfo=None), zone)
    return local.astimezone(at.tzinfo)


def snooze(
    deps: Deps, followup_id: int, *, actor: str, choice: SnoozeChoice, where: str | None = None
) -> None:
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


def _due(deps: Deps, state: State, column: Any) -> list[int]:
    with deps.db.session() as s:
        return list(
            s.scalars(
                select(FollowUp.id)
                .where(FollowUp.state == state.value, column <= deps.clock.now())
                .order_by(FollowUp.id)
            )
        )


def bring_back(deps: Deps, followup_id: int, *, ctx: RuleContext | None = None) -> str:
    """A snooze that ended, or a scheduled follow-up that came due: check it is still needed, then queue a
    fresh card to whoever has it now (an escalated one goes back to the person it was escalated to)."""
    with deps.db.session() as s:
        watch = lifecycle.watch_of(load(s, followup_id))
    reason = lifecycle.no_longer_needed(deps, watch, ctx)
    now = deps.clock.now()
    with deps.db.session() as s:
        fu = load(s, followup_id)
        if fu.state not in (State.SNOOZED.value, State.SCHEDULED.value):
            return "moved"
        if reason:
            lifecycle.resolve(s, fu, reason=reason, now=now, actor="scheduler")
            return "resolved"
        if fu.state == State.SCHEDULED.value:
            action, detail = Action.COME_DUE, {"was_due": _iso(fu.due_at)}
        elif fu.escalated_to:
            action, detail = Action.RESURFACE_ESCALATED, {"was_due": _iso(fu.snoozed_until)}
        else:
            action, detail = Action.RESURFACE, {"was_due": _iso(fu.snoozed_until)}
        transition(s, fu, action, actor="scheduler", now=now, values={"snoozed_until": None}, detail=detail)
        payload = {"channel": fu.escalated_to, "kind": "escalation"} if fu.escalated_to else {}
        enqueue(s, Kind.POST_CARD, followup_id=fu.id, now=now, payload=payload)
    return "back"


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def resurface_due(deps: Deps) -> list[int]:
    """Every snooze that ended and every scheduled follow-up that came due (due times are rows, not timers,
    so this survives restarts). Returns those that came back."""
    back = []
    ctx = lifecycle.rule_context(deps)
    for fid in _due(deps, State.SNOOZED, FollowUp.snoozed_until) + _due(
        deps, State.SCHEDULED, FollowUp.due_at
    ):
        try:
            if bring_back(deps, fid, ctx=ctx) == "back":
                back.append(fid)
        except Exception:  # the CRM check failed: try again on the next tick
            log.exception("could not bring back follow-up %s", fid)
    return back
