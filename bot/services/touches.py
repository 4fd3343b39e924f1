"""The touches a sequence drafts when they come due, and the end of a sequence that ran its course.

Run by the due-work job: each running sequence whose next touch is due (and that no stop rule has ended)
gets that touch drafted from the contact's current context — the last one is the pipeline's break-up
message — and stored for review like any follow-up ("Touch 2 of 4" on the card). With `auto_send` on for
the rule, a touch after the first whose classification is confident enough and whose draft no guardrail
flagged is approved by the app itself; everything else waits for a person.

A sequence whose break-up went out and that nothing stopped for `[sequences] completed_after_business_days`
is completed: the contact is marked in the CRM, never re-enters that rule's sequence, and, when
`[sequences] nurture_after_days` is set, a nurture check-in is stored for that many days later."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.drafting import draft_with_fallback
from bot.drafting.pipeline import Pipeline
from bot.models import FollowUp, Sequence
from bot.records import DraftOutput, EngagementType, LeadContext
from bot.services import budget, lifecycle, review, scan, sequences
from bot.services.deps import Deps
from bot.states import OPEN_STATES, State
from bot.triggers.base import RuleContext, Trigger
from bot.triggers.registry import label
from bot.work.queue import Kind, enqueue

log = logging.getLogger(__name__)
AUTO_SENDER = "auto-send"
BUSY_RETRY = timedelta(hours=1)  # the contact has another follow-up open: look again in an hour


@dataclass
class TickResult:
    drafted: list[int] = field(default_factory=list)
    auto_sent: list[int] = field(default_factory=list)
    stopped: list[int] = field(default_factory=list)
    completed: list[int] = field(default_factory=list)
    waiting: int = 0  # due, but the contact has another follow-up open or was emailed too recently
    failures: list[str] = field(default_factory=list)


def tick(deps: Deps, ctx: RuleContext | None = None) -> TickResult:
    """Draft every touch that came due, and complete every sequence whose wait after the break-up ended."""
    result = TickResult()
    now = deps.clock.now()
    with deps.db.session() as s:
        due = list(
            s.scalars(
                select(Sequence.id)
                .where(Sequence.state == sequences.ACTIVE, Sequence.next_touch_at <= now)
                .order_by(Sequence.next_touch_at, Sequence.id)
            )
        )
        ending = list(
            s.scalars(
                select(Sequence.id)
                .where(Sequence.state == sequences.ACTIVE, Sequence.completes_at <= now)
                .order_by(Sequence.id)
            )
        )
    if not due and not ending:
        return result
    ctx = ctx or lifecycle.rule_context(deps)
    for sid in due:
        try:
            _advance(deps, sid, ctx, result)
        except Exception as exc:  # the next tick tries again
            log.exception("could not draft the next touch of sequence %s", sid)
            result.failures.append(f"sequence {sid}: {exc}")
    for sid in ending:
        try:
            _complete(deps, sid, ctx, result)
        except Exception as exc:
            log.exception("could not complete sequence %s", sid)
            result.failures.append(f"sequence {sid}: {exc}")
    if result.drafted:
        budget.release(deps)
    return result


def _open_touch(s, sequence_id: int) -> bool:  # type: ignore[no-untyped-def]
    return (
        s.scalar(
            select(FollowUp.id).where(
                FollowUp.sequence_id == sequence_id, FollowUp.state.in_([st.value for st in OPEN_STATES])
            )
        )
        is not None
    )


def _advance(deps: Deps, sequence_id: int, ctx: RuleContext, result: TickResult) -> None:
    now = deps.clock.now()
    with deps.db.session() as s:
        seq = s.get(Sequence, sequence_id)
        if (
            seq is None
            or seq.state != sequences.ACTIVE
            or seq.next_touch_at is None
            or seq.next_touch_at > now
        ):
            return
        if _open_touch(s, seq.id):
            return  # the touch before is still with a person; the next one follows its send
        watch = sequences.SequenceWatch.of(seq)
        number, touches, rule, origin = seq.touch + 1, seq.touches, seq.rule, seq.origin
        last_sent = s.scalar(
            select(FollowUp.sent_at)
            .where(FollowUp.sequence_id == seq.id, FollowUp.sent_at.is_not(None))
            .order_by(FollowUp.sent_at.desc())
        )
        other_open = s.scalar(
            select(FollowUp.id).where(
                FollowUp.contact_id == seq.contact_id,
                FollowUp.state.in_([st.value for st in OPEN_STATES if st is not State.SCHEDULED]),
            )
        )
    stop = sequences.stop_reason(deps, watch, ctx)
    if stop is not None:
        with deps.db.session() as s:
            if sequences.stop_in(s, deps, sequence_id, stop):
                result.stopped.append(sequence_id)
        return
    if other_open is not None:
        _later(deps, sequence_id, now + BUSY_RETRY)
        result.waiting += 1
        return
    if origin == "nurture":
        why = f"Nurture check-in: the {label(rule)} sequence ended without a reply"
    else:
        after = f", sent {ctx.day(last_sent)}" if last_sent else ""
        why = f"Touch {number} of {touches}: no reply to touch {number - 1}{after}"
        if number == touches:
            why += " — the break-up message"
    trigger = Trigger(
        rule=rule,
        dedupe_key=sequences.touch_key(sequence_id, number),
        contact_id=watch.contact_id,
        deal_id=watch.deal_id,
        reason=why,
        triggered_at=now,
        since=watch.since,
    )
    lead = scan.assemble_context(deps, trigger)
    if _rep_emailed_recently(deps, lead, last_sent):
        _later(deps, sequence_id, now + BUSY_RETRY)  # their rep wrote to them since our touch: not yet
        result.waiting += 1
        return
    drafted = _draft(deps, lead, breakup=origin != "nurture" and number == touches and touches > 1)
    output, _ = drafted
    auto = _auto_send_ok(deps, rule, number, origin, output)
    left = budget.room(deps, lead.owner.id if lead.owner else None)
    show = auto or left is None or left > 0  # an auto-sent touch takes nobody's time
    fu = scan._store(deps, trigger, lead, drafted, touch=(sequence_id, number), show_now=show)
    with deps.db.session() as s:
        seq = s.get(Sequence, sequence_id)
        assert seq is not None
        seq.touch, seq.next_touch_at, seq.updated_at = number, None, now
    if fu is None:
        return  # stored a moment ago by another replica
    result.drafted.append(fu.id)
    if auto and fu.state == State.PENDING.value:  # its card was queued with it, and shows who sent it
        confidence = (output.analysis or {}).get("confidence")
        review.auto_approve(deps, fu.id, actor=AUTO_SENDER, confidence=confidence)
        result.auto_sent.append(fu.id)


def _rep_emailed_recently(deps: Deps, lead: LeadContext, last_sent: datetime | None) -> bool:
    """Overlap suppression for a touch: the rep emailed the contact after our last touch, within the last
    `[pacing] quiet_business_days` (our own touches are paced by the sequence's delays)."""
    days = deps.config.pacing.quiet_business_days
    if not days or last_sent is None:
        return False
    theirs = [
        e.occurred_at
        for e in lead.engagements
        if e.type is EngagementType.EMAIL
        and e.direction == "outbound"
        and e.occurred_at > last_sent + timedelta(minutes=5)
    ]
    latest = max(theirs, default=None)
    return latest is not None and (
        deps.calendar.elapsed(latest, deps.clock.now()) < deps.calendar.workday * days
    )


def _later(deps: Deps, sequence_id: int, at) -> None:  # type: ignore[no-untyped-def]
    with deps.db.session() as s:
        seq = s.get(Sequence, sequence_id)
        if seq is not None and seq.state == sequences.ACTIVE:
            seq.next_touch_at, seq.updated_at = at, deps.clock.now()


def _draft(deps: Deps, lead: LeadContext, *, breakup: bool):  # type: ignore[no-untyped-def]
    if not breakup:
        return draft_with_fallback(deps.drafter, deps.fallback_drafter, lead)
    for drafter in (deps.drafter, deps.fallback_drafter):
        if isinstance(drafter, Pipeline):
            try:
                return drafter.breakup(lead), drafter
            except Exception as exc:
                log.warning("break-up drafting failed (%s)", type(exc).__name__)
    raise RuntimeError("no drafter can write a break-up message")


def _auto_send_ok(deps: Deps, rule: str, number: int, origin: str, output: DraftOutput) -> bool:
    cfg = sequences.config_for(deps, rule)
    if not cfg.auto_send or number < 2 or origin != "rule" or output.review_flags:
        return False
    confidence = (output.analysis or {}).get("confidence")
    return isinstance(confidence, int | float) and confidence >= cfg.auto_send_min_confidence


def _complete(deps: Deps, sequence_id: int, ctx: RuleContext, result: TickResult) -> None:
    now = deps.clock.now()
    with deps.db.session() as s:
        seq = s.get(Sequence, sequence_id)
        if seq is None or seq.state != sequences.ACTIVE or seq.completes_at is None or seq.completes_at > now:
            return
        if _open_touch(s, seq.id):
            return
        watch = sequences.SequenceWatch.of(seq)
    stop = sequences.stop_reason(deps, watch, ctx)
    with deps.db.session() as s:
        if stop is not None:
            if sequences.stop_in(s, deps, sequence_id, stop):
                result.stopped.append(sequence_id)
            return
        seq = s.get(Sequence, sequence_id)
        assert seq is not None
        outcome = f"Sequence completed: no reply after {seq.touches} touches"
        if not sequences.end_in(s, sequence_id, state=sequences.COMPLETED, outcome=outcome, now=now):
            return
        result.completed.append(sequence_id)
        day = now.astimezone(deps.calendar.zone).date().isoformat()
        enqueue(
            s,
            Kind.CRM_SEQUENCE,
            followup_id=None,
            now=now,
            payload={
                "contact_id": seq.contact_id,
                "property": deps.config.sequences.crm_property,
                "value": f"completed: {seq.rule} {day}",
            },
        )
        nurture = deps.config.sequences.nurture_after_days
        nurture_rule = getattr(deps.config.triggers, "closed_lost_nurture")  # noqa: B009 (a built model)
        if nurture and nurture_rule.enabled and seq.origin == "rule":
            sequences.add_in(  # kept in the database until it comes due: never silently dropped
                s,
                deps,
                of=seq,
                rule="closed_lost_nurture",
                origin="nurture",
                parent_id=seq.id,
                deal_stage=None,  # the deal may move in the meantime; a reply or meeting still stops it
                touches=max(1, nurture_rule.sequence.touches),
                touch=0,
                since=now,
                next_touch_at=now + timedelta(days=nurture),
            )
        last = s.scalar(
            select(FollowUp).where(FollowUp.sequence_id == sequence_id).order_by(FollowUp.id.desc())
        )
        if last is not None:
            enqueue(s, Kind.REFRESH_CARDS, followup_id=last.id, now=now, coalesce=True)
