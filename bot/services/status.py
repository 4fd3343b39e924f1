"""`/followup status` and the Home tab: the caller's queue, grouped. Every read goes through an index that
starts with the person: (owner, state, triggered_at), (escalatee, state, triggered_at), (sender, sent_at).
One counting query, one query for the ids shown (at most 8 a group), then those rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    bindparam,
    false,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import selectinload

from bot.models import FollowUp, InboundLead, UTCDateTime
from bot.services.deps import Deps
from bot.snapshot import QueueView, snapshot
from bot.states import State

OVERDUE_AFTER = timedelta(hours=8)  # one business day waiting on the rep
PER_GROUP = 8
UP_NEXT = "Up next"  # waiting for room in the rep's daily budget, most valuable first
GROUPS = ("Overdue", "Pending", "Escalated", UP_NEXT, "Snoozed", "Failed", "Sent today")
_OPEN = {
    "Pending": (State.PENDING, State.SENDING),
    "Escalated": (State.ESCALATED,),
    UP_NEXT: (State.QUEUED,),
    "Snoozed": (State.SNOOZED,),
    "Failed": (State.FAILED, State.UNKNOWN),
}
_GROUP_OF = {st.value: title for title, states in _OPEN.items() for st in states}


def _start_of_day(now: datetime, tz_name: str | None) -> datetime:
    try:
        zone = ZoneInfo(tz_name) if tz_name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _whose(user_id: Any) -> list[ColumnElement[bool]]:
    """Owned by the person, or escalated to them (and not also owned, so nothing counts twice)."""
    return [
        FollowUp.owner_slack_id == user_id,
        and_(
            FollowUp.escalated_to == user_id,
            or_(FollowUp.owner_slack_id.is_(None), FollowUp.owner_slack_id != user_id),
        ),
    ]


def _group_filter(title: str, overdue_before: Any) -> ColumnElement[bool]:
    overdue = and_(FollowUp.state == State.PENDING.value, FollowUp.triggered_at <= overdue_before)
    if title == "Overdue":
        return overdue
    states = FollowUp.state.in_([st.value for st in _OPEN[title]])
    return and_(states, ~overdue) if title == "Pending" else states


@cache
def statements() -> tuple[Any, Any]:
    """(counting query, shown-ids query), built once: both are UNION ALLs of index range scans, with the
    parameters `user`, `overdue_before` and `today`."""
    user_id: Any = bindparam("user", type_=String)
    overdue_before: Any = bindparam("overdue_before", type_=UTCDateTime())
    today: Any = bindparam("today", type_=UTCDateTime())
    open_states = sorted(_GROUP_OF)
    counts = [
        select(
            FollowUp.state.label("state"),
            (FollowUp.triggered_at <= overdue_before).label("overdue"),
            func.count().label("n"),
        )
        .where(who, FollowUp.state.in_(open_states))
        .group_by(text("1"), text("2"))
        for who in _whose(user_id)
    ]
    sent_today = and_(
        FollowUp.sent_by == user_id, FollowUp.sent_at >= today, FollowUp.state == State.SENT.value
    )
    counts.append(
        select(literal("sent").label("state"), false().label("overdue"), func.count().label("n")).where(
            sent_today
        )
    )
    shown = [
        select(
            FollowUp.id,
            literal(title).label("grp"),
            FollowUp.triggered_at.label("at"),
            (-FollowUp.value).label("rank"),
        )
        .where(who, _group_filter(title, overdue_before))
        .order_by(*([-FollowUp.value] if title == UP_NEXT else []), FollowUp.triggered_at, FollowUp.id)
        .limit(PER_GROUP)
        .subquery()
        for title in _OPEN.keys() | {"Overdue"}
        for who in _whose(user_id)
    ]
    shown.append(
        select(
            FollowUp.id,
            literal("Sent today").label("grp"),
            FollowUp.sent_at.label("at"),
            (-FollowUp.value).label("rank"),
        )
        .where(sent_today)
        .order_by(FollowUp.sent_at.desc())
        .limit(PER_GROUP)
        .subquery()
    )
    return union_all(*counts), union_all(*(select(q.c.id, q.c.grp, q.c.at, q.c.rank) for q in shown))


def queue(deps: Deps, user_id: str) -> QueueView:
    now = deps.clock.now()
    tz = deps.chat.user_timezone(user_id) if deps.chat else None
    counting, shown = statements()
    params = {
        "user": user_id,
        "overdue_before": deps.calendar.before(now, OVERDUE_AFTER),
        "today": _start_of_day(now, tz),
    }
    counts = dict.fromkeys(GROUPS, 0)
    picked: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    with deps.db.session() as s:
        for state, overdue, n in s.execute(counting, params):
            if state == "sent":
                counts["Sent today"] += n
            else:
                counts["Overdue" if overdue and state == State.PENDING.value else _GROUP_OF[state]] += n
        for fid, title, at, rank in s.execute(shown, params):
            picked[title].append((rank, at, fid) if title == UP_NEXT else (at, fid))
        for title, rows in picked.items():  # the owner's and the escalatee's scans, merged
            rows.sort(reverse=title == "Sent today")
            picked[title] = rows[:PER_GROUP]
        ids = {row[-1] for rows in picked.values() for row in rows}
        loaded = {
            fu.id: snapshot(fu)
            for fu in s.scalars(
                select(FollowUp)
                .where(FollowUp.id.in_(ids))
                .options(
                    selectinload(FollowUp.drafts),
                    selectinload(FollowUp.cards),
                    selectinload(FollowUp.events),
                    selectinload(FollowUp.sequence),
                )
            )
        }
        filtered = dict(
            s.execute(  # type: ignore[arg-type]
                select(InboundLead.classification, func.count())
                .where(InboundLead.route == "filtered", InboundLead.received_at >= params["today"])
                .group_by(InboundLead.classification)
            ).all()
        )
    groups = {title: [loaded[row[-1]] for row in picked.get(title, [])] for title in GROUPS}
    return QueueView(groups=groups, counts=counts, filtered={str(k): int(v) for k, v in filtered.items()})
