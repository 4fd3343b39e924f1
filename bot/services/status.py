"""`/followup status`: the caller's queue, grouped."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from bot.models import FollowUp
from bot.services.deps import Deps
from bot.snapshot import FollowUpView, snapshot
from bot.states import OPEN_STATES, State

OVERDUE_AFTER = timedelta(hours=8)  # one business day waiting on the rep
SHOWN = OPEN_STATES - {State.SCHEDULED}


def _start_of_day(now: datetime, tz_name: str | None) -> datetime:
    try:
        zone = ZoneInfo(tz_name) if tz_name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def queue(deps: Deps, user_id: str) -> dict[str, list[FollowUpView]]:
    now = deps.clock.now()
    tz = deps.chat.user_timezone(user_id) if deps.chat else None
    today = _start_of_day(now, tz)
    with deps.db.session() as s:
        rows = s.scalars(
            select(FollowUp)
            .where(or_(FollowUp.owner_slack_id == user_id, FollowUp.escalated_to == user_id))
            .where(
                or_(
                    FollowUp.state.in_([st.value for st in SHOWN]),
                    (FollowUp.state == State.SENT.value) & (FollowUp.sent_at >= today),
                )
            )
            .options(
                selectinload(FollowUp.drafts), selectinload(FollowUp.cards), selectinload(FollowUp.events)
            )
            .order_by(FollowUp.triggered_at)
        ).all()
        views = [snapshot(r) for r in rows]
    groups: dict[str, list[FollowUpView]] = {
        "Overdue": [],
        "Pending": [],
        "Escalated": [],
        "Snoozed": [],
        "Failed": [],
        "Sent today": [],
    }
    triggered = {r.id: r.triggered_at for r in rows}
    by_state = {
        State.ESCALATED: "Escalated",
        State.SNOOZED: "Snoozed",
        State.FAILED: "Failed",
        State.UNKNOWN: "Failed",
        State.SENT: "Sent today",
        State.SENDING: "Pending",
    }
    for v in views:
        if v.state is State.PENDING:
            waited = deps.calendar.elapsed(triggered[v.id], now)
            groups["Overdue" if waited >= OVERDUE_AFTER else "Pending"].append(v)
        else:
            groups[by_state[v.state]].append(v)
    return groups
