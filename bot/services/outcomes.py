"""What came of the follow-ups, read from the CRM at each scan and kept (`outcomes`): a reply, a meeting
booked, a deal won. Each is recorded once and credited to the follow-up it came after:

- a reply: the contact's newest follow-up *sent* before it, within 30 days;
- a meeting: the contact's newest follow-up *triggered* before it, within 30 days (the meeting rate is of
  triggered contacts, sent or not);
- a won deal: the newest follow-up sent for the deal or its contact before it closed, within 90 days, with how
  many other touches by people (emails, calls, meetings this app did not write) it had in the 14 days before.

The scan has read the last 45 days of engagements anyway; the won deals are one more CRM read."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, tuple_
from sqlalchemy.exc import IntegrityError

from bot.models import CrmWrite, FollowUp, Outcome
from bot.records import Deal, Engagement, EngagementType
from bot.services.deps import Deps
from bot.triggers.base import RECENT, RuleContext, is_reply, is_response

log = logging.getLogger(__name__)

ATTRIBUTION = timedelta(days=30)
WON_ATTRIBUTION = timedelta(days=90)
OTHER_TOUCH_WINDOW = timedelta(days=14)


@dataclass(frozen=True)
class _Sent:
    id: int
    contact_id: str
    deal_id: str | None
    triggered_at: datetime
    sent_at: datetime | None


def record(deps: Deps, ctx: RuleContext) -> int:
    """Record the outcomes the CRM shows that are not recorded yet. Returns how many were new."""
    now = ctx.now
    seen = [
        e
        for e in ctx.recent
        if e.contact_id and e.occurred_at <= now and (is_reply(e) or e.type is EngagementType.MEETING)
    ]
    won = [
        d
        for d in (deps.crm.deals_in_stages(ctx.pipeline.won_stages) if ctx.pipeline.won_stages else [])
        if now - RECENT <= _closed_at(d) <= now
    ]
    if not seen and not won:
        return 0
    contacts = {e.contact_id for e in seen if e.contact_id} | {d.contact_id for d in won if d.contact_id}
    deals = {d.id for d in won}
    with deps.db.session() as s:
        rows = s.execute(
            select(
                FollowUp.id, FollowUp.contact_id, FollowUp.deal_id, FollowUp.triggered_at, FollowUp.sent_at
            )
            .where(or_(FollowUp.contact_id.in_(contacts), FollowUp.deal_id.in_(deals)))
            .where(FollowUp.triggered_at >= now - RECENT - WON_ATTRIBUTION)
        ).all()
        followups = [_Sent(*row) for row in rows]
        candidates = [(_kind(e), e.id) for e in seen] + [("deal_won", d.id) for d in won]
        known = set(
            s.execute(
                select(Outcome.kind, Outcome.source_id).where(
                    tuple_(Outcome.kind, Outcome.source_id).in_(candidates)
                )
            ).all()
        )
        ours = set(
            s.scalars(
                select(CrmWrite.crm_id).where(
                    CrmWrite.crm_id.in_([e.id for e in ctx.recent if is_response(e)])
                )
            )
        )
    new: list[Outcome] = []
    for e in seen:
        kind = _kind(e)
        if (kind, e.id) in known:
            continue
        credited = _credit(
            followups, e.occurred_at, ATTRIBUTION, contact_id=e.contact_id, sent=kind == "reply"
        )
        if credited is not None:
            new.append(
                Outcome(
                    kind=kind,
                    source_id=e.id,
                    followup_id=credited.id,
                    contact_id=e.contact_id,
                    deal_id=e.deal_id,
                    at=e.occurred_at,
                    created_at=now,
                )
            )
    for d in won:
        if ("deal_won", d.id) in known:
            continue
        closed = _closed_at(d)
        credited = _credit(
            followups, closed, WON_ATTRIBUTION, contact_id=d.contact_id, deal_id=d.id, sent=True
        )
        if credited is None:
            continue
        others = sum(
            1
            for e in ctx.recent
            if is_response(e)
            and e.id not in ours
            and closed - OTHER_TOUCH_WINDOW <= e.occurred_at <= closed
            and (e.deal_id == d.id or (d.contact_id and e.contact_id == d.contact_id))
        )
        new.append(
            Outcome(
                kind="deal_won",
                source_id=d.id,
                followup_id=credited.id,
                contact_id=d.contact_id,
                deal_id=d.id,
                at=closed,
                amount=d.amount,
                other_touches=others,
                created_at=now,
            )
        )
    stored = 0
    for outcome in new:  # one at a time: another replica's scan may record the same one this instant
        try:
            with deps.db.session() as s:
                s.add(outcome)
            stored += 1
        except IntegrityError:
            continue
    if stored:
        log.info("outcomes: %d recorded", stored)
    return stored


def _kind(e: Engagement) -> str:
    return "meeting" if e.type is EngagementType.MEETING else "reply"


def _closed_at(deal: Deal) -> datetime:
    return deal.close_date or deal.stage_changed_at


def _credit(
    followups: list[_Sent],
    at: datetime,
    window: timedelta,
    *,
    contact_id: str | None,
    deal_id: str | None = None,
    sent: bool,
) -> _Sent | None:
    """The newest follow-up of the contact (or the deal) that came before `at` within `window`: sent before it
    when `sent`, else triggered before it."""
    best: _Sent | None = None
    for f in followups:
        if not ((contact_id and f.contact_id == contact_id) or (deal_id and f.deal_id == deal_id)):
            continue
        start = f.sent_at if sent else f.triggered_at
        if start is None or not (at - window <= start <= at):
            continue
        if best is None or start > (best.sent_at if sent else best.triggered_at):  # type: ignore[operator]
            best = f
    return best
