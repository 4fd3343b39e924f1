"""Sequences, the low level: starting one with its first touch, scheduling the next touch when one is sent,
the rules that stop one, and ending one. (Drafting the touches that come due is bot/services/touches.py.)

Stop rules: the contact replies (on any thread: the replies mailbox, or an incoming email, form or call
logged in the CRM); someone else at the same company replies; a meeting is booked; the contact unsubscribes or
mail to them bounces for good; the deal moves stage or closes. An out-of-office reply stops nothing: the next
touch waits until after the return date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from blocks.format import line
from bot.models import FollowUp, Sequence, Suppression
from bot.records import Engagement, EngagementType, LeadContext
from bot.services.deps import Deps
from bot.states import OPEN_STATES
from bot.triggers.base import RuleContext, SequenceConfig, Watch, describe, is_reply
from bot.work.queue import Job, Kind, enqueue

ACTIVE, STOPPED, COMPLETED = "active", "stopped", "completed"
TOUCH_KEY = "seq:"  # the dedupe key of a touch a sequence drafted (its first touch has the rule's own key)


def config_for(deps: Deps, rule: str) -> SequenceConfig:
    cfg = getattr(deps.config.triggers, rule, None)
    return cfg.sequence if cfg is not None else SequenceConfig(touches=1)


def touch_key(sequence_id: int, touch: int) -> str:
    return f"{TOUCH_KEY}{sequence_id}:{touch}"


def start_in(s: Session, deps: Deps, fu: FollowUp, ctx: LeadContext) -> Sequence | None:
    """Make `fu` touch 1 of a new sequence when its rule runs one (in the transaction that stores it)."""
    cfg = config_for(deps, fu.rule)
    if cfg.touches < 2:
        return None
    seq = add_in(
        s,
        deps,
        of=fu,
        rule=fu.rule,
        origin="rule",
        deal_stage=ctx.deal.stage if ctx.deal else None,
        touches=cfg.touches,
        touch=1,
        # replies and meetings from now on stop it (the rule already checked everything before)
        since=deps.clock.now(),
    )
    fu.sequence_id, fu.touch = seq.id, 1
    return seq


def add_in(
    s: Session,
    deps: Deps,
    *,
    of: FollowUp | Sequence,
    rule: str,
    origin: str,
    deal_stage: str | None,
    touches: int,
    touch: int,
    since: datetime,
    next_touch_at: datetime | None = None,
    parent_id: int | None = None,
) -> Sequence:
    """A running sequence for the contact (and company and deal) of `of`."""
    now = deps.clock.now()
    seq = Sequence(
        rule=rule,
        origin=origin,
        parent_id=parent_id,
        contact_id=of.contact_id,
        contact_email=of.contact_email,
        contact_name=of.contact_name,
        company_id=of.company_id,
        deal_id=of.deal_id,
        deal_stage=deal_stage,
        touches=touches,
        touch=touch,
        state=ACTIVE,
        since_at=since,
        next_touch_at=next_touch_at,
        created_at=now,
        updated_at=now,
    )
    s.add(seq)
    s.flush()
    return seq


def on_sent(s: Session, deps: Deps, fu: FollowUp, sent_at: datetime) -> None:
    """A touch went out: schedule the next one, or (after the break-up) the day it completes."""
    if fu.sequence_id is None:
        return
    seq = s.get(Sequence, fu.sequence_id)
    if seq is None or seq.state != ACTIVE or fu.touch != seq.touch:
        return
    cal = deps.calendar
    if seq.touch < seq.touches:
        due = cal.add_workdays(sent_at, config_for(deps, seq.rule).delay_after(seq.touch))
        seq.next_touch_at = max(due, seq.hold_until or due)
    else:
        done = cal.add_workdays(sent_at, deps.config.sequences.completed_after_business_days)
        seq.completes_at = max(done, seq.hold_until or done)
    seq.updated_at = deps.clock.now()


def end_in(s: Session, sequence_id: int | None, *, state: str, outcome: str, now: datetime) -> bool:
    """End an active sequence (only once: an ended one keeps its first outcome)."""
    if sequence_id is None:
        return False
    ended = s.execute(
        update(Sequence)
        .where(Sequence.id == sequence_id, Sequence.state == ACTIVE)
        .values(state=state, outcome=outcome[:2000], ended_at=now, updated_at=now, next_touch_at=None)
        .execution_options(synchronize_session=False)
    )
    return ended.rowcount == 1  # type: ignore[attr-defined]


def active_for(
    s: Session, *, contact_id: str | None = None, company_id: str | None = None, email: str | None = None
) -> list[Sequence]:
    """Running sequences of a contact (by CRM id or address), or of anyone at a company."""
    conditions: list[Any] = [Sequence.state == ACTIVE]
    if contact_id is not None:
        conditions.append(Sequence.contact_id == contact_id)
    if email is not None:
        conditions.append(func.lower(Sequence.contact_email) == email.strip().lower())
    if company_id is not None:
        conditions.append(Sequence.company_id == company_id)
    return list(s.scalars(select(Sequence).where(*conditions).order_by(Sequence.id)))


def hold_in(s: Session, deps: Deps, contact_id: str, back_on: date) -> list[Sequence]:
    """An out-of-office until `back_on`: nothing more goes out before the working day after it."""
    cal = deps.calendar
    day = back_on
    while not cal.is_workday(day := day + timedelta(days=1)):
        pass
    until = datetime.combine(day, cal.hours.start, cal.zone)
    now = deps.clock.now()
    held = []
    for seq in active_for(s, contact_id=contact_id):
        seq.hold_until = max(until, seq.hold_until or until)
        if seq.next_touch_at is not None:
            seq.next_touch_at = max(seq.next_touch_at, seq.hold_until)
        if seq.completes_at is not None:
            seq.completes_at = max(seq.completes_at, seq.hold_until)
        seq.updated_at = now
        held.append(seq)
    return held


@dataclass(frozen=True)
class Stop:
    reason: str  # for the card: "Sarah Chen replied: an email on Tue 24 Nov"
    reply: Engagement | None = None  # when a reply stopped it: its first lines go to the owner


@dataclass(frozen=True)
class SequenceWatch:
    """What the stop rules need to know about a sequence (read inside a session, checked outside it)."""

    id: int
    rule: str
    contact_id: str
    contact_email: str
    contact_name: str
    company_id: str | None
    deal_id: str | None
    deal_stage: str | None
    since: datetime

    @classmethod
    def of(cls, seq: Sequence) -> SequenceWatch:
        return cls(
            seq.id,
            seq.rule,
            seq.contact_id,
            seq.contact_email,
            seq.contact_name,
            seq.company_id,
            seq.deal_id,
            seq.deal_stage,
            seq.since_at,
        )


def stop_reason(deps: Deps, watch: SequenceWatch, ctx: RuleContext) -> Stop | None:
    """Why the sequence must stop now, or None while it may go on."""
    with deps.db.session() as s:
        opted = s.scalar(select(Suppression).where(Suppression.email == watch.contact_email.strip().lower()))
        if opted is not None:
            return Stop(opted.detail)
    history = ctx.history_after(Watch(watch.rule, watch.contact_id, watch.deal_id, watch.since, ""))
    reply = next((e for e in history if is_reply(e) and e.contact_id == watch.contact_id), None)
    if reply:
        return Stop(f"{watch.contact_name} replied: {describe(reply, ctx)}", reply)
    meeting = next((e for e in history if e.type is EngagementType.MEETING), None)
    if meeting:
        return Stop(f"A meeting was booked: {describe(meeting, ctx)}")
    colleague = _colleague_reply(watch, ctx)
    if colleague is not None:
        return colleague
    if watch.deal_id:
        deal = ctx.deal(watch.deal_id)
        if deal is None:
            return Stop("The deal no longer exists in the CRM")
        if deal.stage in ctx.pipeline.won_stages:
            return Stop(f"Deal '{deal.name}' was closed won")
        if deal.stage in ctx.pipeline.lost_stages:
            return Stop(f"Deal '{deal.name}' was closed lost")
        if watch.deal_stage and deal.stage != watch.deal_stage:
            return Stop(f"Deal '{deal.name}' moved from {watch.deal_stage} to {deal.stage}")
    return None


def _colleague_reply(watch: SequenceWatch, ctx: RuleContext) -> Stop | None:
    """Someone else at the contact's company wrote in (email, form or call) since the sequence began."""
    if not watch.company_id:
        return None
    for e in ctx.recent_replies(watch.since):
        if (
            e.contact_id
            and e.contact_id != watch.contact_id
            and ctx.company_of(e.contact_id) == watch.company_id
        ):
            name = ctx.contact_name(e.contact_id)
            return Stop(f"{name}, at the same company, got in touch: {describe(e, ctx)}", e)
    return None


def check_idle(deps: Deps, ctx: RuleContext) -> list[int]:
    """Stop the running sequences that have no touch open (between two touches, or after the break-up) and
    that a stop rule now ends. (A sequence with an open touch stops when that touch is resolved.)"""
    with deps.db.session() as s:
        busy = select(FollowUp.sequence_id).where(
            FollowUp.sequence_id.is_not(None), FollowUp.state.in_([st.value for st in OPEN_STATES])
        )
        # a nurture hand-off waiting for its day is checked when it comes due, not on every scan
        idle = [
            SequenceWatch.of(seq)
            for seq in s.scalars(
                select(Sequence).where(
                    Sequence.state == ACTIVE, Sequence.origin == "rule", Sequence.id.not_in(busy)
                )
            )
        ]
    stopped = []
    for watch in idle:
        stop = stop_reason(deps, watch, ctx)
        if stop is None:
            continue
        with deps.db.session() as s:
            if stop_in(s, deps, watch.id, stop):
                stopped.append(watch.id)
    return stopped


def stop_in(s: Session, deps: Deps, sequence_id: int, stop: Stop) -> bool:
    """End a sequence with no open touch: the card of its latest touch says why, and when a reply stopped it,
    the owner gets its first lines."""
    now = deps.clock.now()
    if not end_in(s, sequence_id, state=STOPPED, outcome=stop.reason, now=now):
        return False
    last = s.scalar(select(FollowUp).where(FollowUp.sequence_id == sequence_id).order_by(FollowUp.id.desc()))
    if last is None:
        return True
    enqueue(s, Kind.REFRESH_CARDS, followup_id=last.id, now=now, coalesce=True)
    tell_owner(s, last, stop, now)
    return True


def tell_owner(s: Session, fu: FollowUp, stop: Stop, now: datetime) -> None:
    """When a reply stopped the sequence, the owner gets a DM with its first lines."""
    if stop.reply is None or not fu.owner_slack_id:
        return
    lines = " ".join((stop.reply.body or stop.reply.subject or "").split())[:300]
    text = f"*{line(fu.contact_name, 80)}*: {line(stop.reason, 200)} — sequence stopped."
    if lines:
        text += f"\n>{line(lines, 300)}"
    enqueue(s, Kind.NOTIFY, followup_id=fu.id, now=now, payload={"user": fu.owner_slack_id, "text": text})


def crm_job(deps: Deps, job: Job) -> None:
    """Set the CRM's "sequence completed" marker on the contact (retried while the CRM is down)."""
    p = job.payload
    deps.crm.mark_sequence_completed(contact_id=p["contact_id"], prop=p["property"], value=p["value"])
