"""Whether a follow-up is still needed, and ending it: resolved (no longer needed) or dismissed (a person
said no). Both keep who and why, and every card of the follow-up says so."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.orm import Session

from bot.errors import FollowupError
from bot.models import FollowUp, Sequence
from bot.services import sending, sequences
from bot.services.common import authorize, class_review, load, transition
from bot.services.deps import Deps
from bot.states import Action, State
from bot.triggers import registry
from bot.triggers.base import Pipeline, RuleContext, Watch
from bot.work.queue import Kind, enqueue


class DismissReason(StrEnum):
    ALREADY_HANDLED = "already_handled"
    NOT_A_LEAD = "not_a_lead"
    WRONG_CONTACT = "wrong_contact"
    OTHER = "other"


DISMISS_LABELS = {
    DismissReason.ALREADY_HANDLED: "Already handled",
    DismissReason.NOT_A_LEAD: "Not a real lead",
    DismissReason.WRONG_CONTACT: "Wrong contact",
    DismissReason.OTHER: "Other",
}


def rule_context(deps: Deps) -> RuleContext:
    return RuleContext(crm=deps.crm, calendar=deps.calendar, now=deps.clock.now(), pipeline=pipeline(deps))


def pipeline(deps: Deps) -> Pipeline:
    """Closed stages: where the CRM has pipelines, every pipeline's closed stages from their own metadata,
    plus any the config names (by id or label); otherwise the configured stage ids."""
    configured = deps.config.pipeline
    stages = deps.crm.stages()
    if stages is None:
        return Pipeline(won_stages=configured.won_stages, lost_stages=configured.lost_stages)
    named_won = {s.lower() for s in configured.won_stages}
    named_lost = {s.lower() for s in configured.lost_stages}
    won = [s.id for s in stages if s.won or {s.id.lower(), s.label.lower()} & named_won]
    lost = [
        s.id
        for s in stages
        if s.id not in won and ((s.closed and not s.won) or {s.id.lower(), s.label.lower()} & named_lost)
    ]
    return Pipeline(won_stages=won, lost_stages=lost)


def watch_of(fu: FollowUp) -> Watch:
    return Watch(
        rule=fu.rule,
        contact_id=fu.contact_id,
        deal_id=fu.deal_id,
        since=fu.since_at or fu.triggered_at,
        dedupe_key=fu.dedupe_key,
        sequence_id=fu.sequence_id,
        by_sequence=fu.sequence_id is not None and fu.dedupe_key.startswith(sequences.TOUCH_KEY),
    )


def no_longer_needed(deps: Deps, watch: Watch, ctx: RuleContext | None = None) -> str | None:
    """Why this follow-up is no longer needed, or None while it still is: the rule's own answer for a first
    touch, the sequence's stop rules for a later one."""
    ctx = ctx or rule_context(deps)
    if watch.by_sequence:
        stop = sequence_stop(deps, watch, ctx)
        return stop.reason if stop else None
    return registry.still_applies(deps.config.triggers, watch, ctx)


def sequence_stop(deps: Deps, watch: Watch, ctx: RuleContext) -> sequences.Stop | None:
    """For a later touch: what stops its sequence now (with the reply, when one did), or None."""
    with deps.db.session() as s:
        seq = s.get(Sequence, watch.sequence_id) if watch.sequence_id is not None else None
        if seq is None:
            return sequences.Stop("Its sequence no longer exists")
        if seq.state != sequences.ACTIVE:
            return sequences.Stop(seq.outcome or "Its sequence has ended")
        seq_watch = sequences.SequenceWatch.of(seq)
    return sequences.stop_reason(deps, seq_watch, ctx)


def resolve(session: Session, fu: FollowUp, *, reason: str, now, actor: str = "scan") -> None:  # type: ignore[no-untyped-def]
    """No longer needed; a sequence it belongs to stops with it (its card says so)."""
    if fu.sequence_id is not None and sequences.end_in(
        session, fu.sequence_id, state=sequences.STOPPED, outcome=reason, now=now
    ):
        reason = f"{reason} — sequence stopped"
    if fu.state == State.SENDING.value:  # an approved send waiting for its time gives its slot back
        sending.free(session, fu.id)
    transition(
        session,
        fu,
        Action.RESOLVE,
        actor=actor,
        now=now,
        values={"outcome_reason": reason, "outcome_by": actor, "snoozed_until": None},
        detail={"reason": reason},
    )


def dismiss(
    deps: Deps,
    followup_id: int,
    *,
    actor: str,
    reason: DismissReason,
    note: str | None,
    where: str | None = None,
    reviewed_class: str | None = None,
) -> None:
    note = (note or "").strip() or None
    if reason is DismissReason.OTHER and not note:
        raise FollowupError("Say why in a few words when you choose “Other”.")
    text = DISMISS_LABELS[reason] + (f": {note}" if note else "")
    with deps.db.session() as s:
        fu = load(s, followup_id)
        authorize(deps, fu, actor, where=where)
        transition(
            s,
            fu,
            Action.DISMISS,
            actor=actor,
            now=deps.clock.now(),
            values={
                "outcome_reason": text,
                "outcome_by": actor,
                "dismiss_reason": reason.value,
                "snoozed_until": None,
            },
            detail={"reason": reason.value, "note": note} | class_review(fu, reviewed_class),
        )
        sequences.end_in(
            s,
            fu.sequence_id,
            state=sequences.STOPPED,
            outcome=f"{text} (touch {fu.touch})",
            now=deps.clock.now(),
        )
        enqueue(s, Kind.CRM_LOG, followup_id=fu.id, now=deps.clock.now())  # the review trail, in the CRM
