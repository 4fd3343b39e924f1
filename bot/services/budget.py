"""A rep's daily budget: at most `[budget] cards_per_rep_per_day` new cards a working day (the team's
calendar), the most valuable first. The rest wait as `queued` — in `/followup status` and App Home, never
dropped — and are shown on a later day (or the same day, when the limit is raised).

Value: urgency (high 30, medium 20, low 10) + the rule's weight + up to 20 for the deal's amount (10 at
`[drafting] high_value_amount`, capped at twice that)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from bot.models import FollowUp
from bot.records import DraftOutput, LeadContext
from bot.services.common import load, transition
from bot.services.deps import Deps
from bot.states import Action, State
from bot.work import leases
from bot.work.queue import Kind, enqueue

log = logging.getLogger(__name__)
URGENCY_POINTS = {"high": 30.0, "medium": 20.0, "low": 10.0}


def value_of(deps: Deps, rule: str, output: DraftOutput, ctx: LeadContext) -> float:
    urgency = URGENCY_POINTS.get(str(getattr(output.urgency, "value", output.urgency)), 10.0)
    cfg = getattr(deps.config.triggers, rule, None)
    weight = float(cfg.weight) if cfg is not None else 0.0
    amount = float(ctx.deal.amount) if ctx.deal and ctx.deal.amount else 0.0
    high = max(deps.config.drafting.high_value_amount, 1.0)
    return round(urgency + weight + 10 * min(amount / high, 2.0), 2)


def limited(deps: Deps) -> bool:
    return deps.config.budget.cards_per_rep_per_day > 0


def room(deps: Deps, owner_crm_id: str | None) -> int | None:
    """How many more new cards the owner may get today (None: no limit; 0 on a day off)."""
    limit = deps.config.budget.cards_per_rep_per_day
    if not limit:
        return None
    now = deps.clock.now()
    cal = deps.calendar
    if not cal.is_workday(now.astimezone(cal.zone).date()):
        return 0
    with deps.db.session() as s:
        shown = s.scalar(
            select(func.count()).where(
                _owner(FollowUp.owner_crm_id, owner_crm_id), FollowUp.shown_at >= cal.start_of_day(now)
            )
        )
    return max(0, limit - (shown or 0))


def _owner(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


def release(deps: Deps) -> list[int]:
    """Show each rep's queued cards while today's budget has room, most valuable first. On a day off
    (weekend, holiday) nothing is released: Monday morning starts with the best of what waited.

    One replica at a time (a lease), so two can't both fill the same rep's last places."""
    now = deps.clock.now()
    cal = deps.calendar
    limit = deps.config.budget.cards_per_rep_per_day
    if limit and not cal.is_workday(now.astimezone(cal.zone).date()):
        return []
    released: list[int] = []
    holder = leases.this_thread()
    if not leases.try_acquire(deps.db, "budget", holder=holder, now=now, ttl=timedelta(seconds=120)):
        return []
    try:
        start = cal.start_of_day(now)
        with deps.db.session() as s:
            owners = list(
                s.scalars(
                    select(FollowUp.owner_crm_id).where(FollowUp.state == State.QUEUED.value).distinct()
                )
            )
        for owner in owners:
            with deps.db.session() as s:
                room = None
                if limit:
                    shown = s.scalar(
                        select(func.count()).where(
                            _owner(FollowUp.owner_crm_id, owner), FollowUp.shown_at >= start
                        )
                    )
                    room = max(0, limit - (shown or 0))
                    if room == 0:
                        continue
                picked = list(
                    s.scalars(
                        select(FollowUp.id)
                        .where(_owner(FollowUp.owner_crm_id, owner), FollowUp.state == State.QUEUED.value)
                        .order_by(FollowUp.value.desc(), FollowUp.triggered_at, FollowUp.id)
                        .limit(room)
                    )
                )
                for fid in picked:
                    fu = load(s, fid)
                    transition(s, fu, Action.RELEASE, actor="budget", now=now, values={"shown_at": now})
                    enqueue(s, Kind.POST_CARD, followup_id=fid, now=now)
                    released.append(fid)
    finally:
        leases.release(deps.db, "budget", holder=holder)
    if released:
        log.info("daily budget: %d cards shown", len(released))
    return released
