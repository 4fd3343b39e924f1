"""Outbox rows: enqueued in the caller's transaction, claimed under a lease, retried with backoff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from bot.db import Database
from bot.models import WorkItem


class Kind(StrEnum):
    SLACK = "slack"  # a Slack request already acknowledged, whose work is still to do
    POST_CARD = "post_card"
    REFRESH_CARDS = "refresh_cards"
    SEND = "send"
    CRM_LOG = "crm_log"
    CRM_OPTOUT = "crm_optout"  # tell the CRM an address unsubscribed or bounced
    NOTIFY = "notify"  # a DM to a person (the owner, when their lead replied)
    CRM_SEQUENCE = "crm_sequence"  # mark a contact whose sequence completed without a reply
    INBOUND = "inbound"  # a new lead, stored on arrival: dedupe, match, route, alert
    DIGEST = "digest"  # the weekly digest, once a week


# Two lanes, each with threads of its own, so sends hung on a mail server never delay what a person waits for
INTERACTIVE = frozenset({Kind.SLACK, Kind.POST_CARD, Kind.REFRESH_CARDS, Kind.NOTIFY, Kind.INBOUND})
SLOW = frozenset({Kind.SEND, Kind.CRM_LOG, Kind.CRM_OPTOUT, Kind.CRM_SEQUENCE, Kind.DIGEST})


QUEUED, CLAIMED, DONE, DEAD = "queued", "claimed", "done", "dead"


@dataclass(frozen=True)
class Job:
    """A claimed work item, detached from the session that claimed it."""

    id: int
    kind: Kind
    followup_id: int | None
    payload: dict[str, Any]
    attempts: int
    holder: str


def enqueue(
    session: Session,
    kind: Kind,
    *,
    followup_id: int | None,
    now: datetime,
    payload: dict[str, Any] | None = None,
    coalesce: bool = False,
    due: datetime | None = None,
) -> None:
    """Add work to the caller's transaction; it exists exactly when the transaction commits.

    With coalesce, a queued (not yet claimed) item of the same kind for the same follow-up is enough.
    `due` (default: now) is when it may run: a send waiting for the recipient's morning."""
    if coalesce and followup_id is not None:
        waiting = session.scalar(
            select(WorkItem.id).where(
                WorkItem.kind == kind.value, WorkItem.followup_id == followup_id, WorkItem.state == QUEUED
            )
        )
        if waiting is not None:
            return
    session.add(
        WorkItem(
            kind=kind.value,
            followup_id=followup_id,
            payload=payload or {},
            state=QUEUED,
            due_at=max(due or now, now),
            attempts=0,
            created_at=now,
            updated_at=now,
        )
    )
    session.info["queued_work"] = True


def _claimable(now: datetime) -> Any:
    return or_(
        and_(WorkItem.state == QUEUED, WorkItem.due_at <= now),
        and_(WorkItem.state == CLAIMED, WorkItem.lease_until < now),  # its worker died or hung
    )


def claim(
    db: Database, *, holder: str, now: datetime, lease: timedelta, kinds: frozenset[Kind] | None = None
) -> Job | None:
    """Take the next due item (of `kinds`, if given), or None. Exactly one caller wins each item, across
    processes."""
    with db.session() as s:
        query = select(WorkItem.id).where(_claimable(now)).order_by(WorkItem.due_at, WorkItem.id).limit(1)
        if kinds is not None:
            query = query.where(WorkItem.kind.in_(sorted(k.value for k in kinds)))
        if db.engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        item_id = s.scalar(query)
        if item_id is None:
            return None
        won = s.execute(
            update(WorkItem)
            .where(WorkItem.id == item_id, _claimable(now))
            .values(
                state=CLAIMED,
                claimed_by=holder,
                lease_until=now + lease,
                attempts=WorkItem.attempts + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if won.rowcount != 1:  # type: ignore[attr-defined]
            return None
        row = s.get(WorkItem, item_id)
        assert row is not None
        s.refresh(row)
        return Job(row.id, Kind(row.kind), row.followup_id, dict(row.payload), row.attempts, holder)


def _finish(db: Database, job: Job, now: datetime, **values: Any) -> bool:
    """Update the item only while this worker still holds it."""
    with db.session() as s:
        result = s.execute(
            update(WorkItem)
            .where(WorkItem.id == job.id, WorkItem.state == CLAIMED, WorkItem.claimed_by == job.holder)
            .values(updated_at=now, **values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def complete(db: Database, job: Job, now: datetime) -> None:
    _finish(db, job, now, state=DONE, lease_until=None)


def retry_later(db: Database, job: Job, now: datetime, *, delay: timedelta, error: str) -> None:
    _finish(db, job, now, state=QUEUED, due_at=now + delay, lease_until=None, last_error=error[:2000])


def give_up(db: Database, job: Job, now: datetime, *, error: str) -> None:
    _finish(db, job, now, state=DEAD, lease_until=None, last_error=error[:2000])
