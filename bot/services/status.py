"""`/followup status` and the Home tab: the caller's queue, grouped. One counting query, then at most a
few rows per group, each read through the (owner or escalatee, state, triggered_at) indexes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import selectinload

from bot.models import FollowUp
from bot.services.deps import Deps
from bot.snapshot import QueueView, snapshot
from bot.states import State

OVERDUE_AFTER = timedelta(hours=8)  # one business day waiting on the rep
PER_GROUP = 8
GROUPS = ("Overdue", "Pending", "Escalated", "Snoozed", "Failed", "Sent today")
_STATES: dict[str, tuple[State, ...]] = {
    "Overdue": (State.PENDING,),
    "Pending": (State.PENDING, State.SENDING),
    "Escalated": (State.ESCALATED,),
    "Snoozed": (State.SNOOZED,),
    "Failed": (State.FAILED, State.UNKNOWN),
    "Sent today": (State.SENT,),
}


def _start_of_day(now: datetime, tz_name: str | None) -> datetime:
    try:
        zone = ZoneInfo(tz_name) if tz_name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def statements(user_id: str, *, overdue_before: datetime, today: datetime) -> tuple[Any, dict[str, Any]]:
    """The counting query and one query per group (at most PER_GROUP rows each)."""
    mine = or_(FollowUp.owner_slack_id == user_id, FollowUp.escalated_to == user_id)
    overdue = (FollowUp.state == State.PENDING.value) & (FollowUp.triggered_at <= overdue_before)
    conditions: dict[str, Any] = {
        "Overdue": overdue,
        "Pending": FollowUp.state.in_([State.PENDING.value, State.SENDING.value]) & ~overdue,
        "Sent today": (FollowUp.state == State.SENT.value) & (FollowUp.sent_at >= today),
    }
    for title in ("Escalated", "Snoozed", "Failed"):
        conditions[title] = FollowUp.state.in_([st.value for st in _STATES[title]])
    every_state = sorted({st.value for states in _STATES.values() for st in states})
    counting = select(*(func.count(case((conditions[title], 1))).label(title) for title in GROUPS)).where(
        mine, FollowUp.state.in_(every_state)
    )
    groups = {
        title: select(FollowUp)
        .where(mine, conditions[title])
        .order_by(FollowUp.triggered_at, FollowUp.id)
        .limit(PER_GROUP)
        for title in GROUPS
    }
    return counting, groups


def queue(deps: Deps, user_id: str) -> QueueView:
    now = deps.clock.now()
    tz = deps.chat.user_timezone(user_id) if deps.chat else None
    counting, per_group = statements(
        user_id, overdue_before=deps.calendar.before(now, OVERDUE_AFTER), today=_start_of_day(now, tz)
    )
    with deps.db.session() as s:
        row = s.execute(counting).one()
        counts = {title: int(row[n] or 0) for n, title in enumerate(GROUPS)}
        groups = {}
        for title in GROUPS:
            rows = (
                s.scalars(
                    per_group[title].options(
                        selectinload(FollowUp.drafts),
                        selectinload(FollowUp.cards),
                        selectinload(FollowUp.events),
                    )
                ).all()
                if counts[title]
                else []
            )
            groups[title] = [snapshot(r) for r in rows]
    return QueueView(groups=groups, counts=counts)
