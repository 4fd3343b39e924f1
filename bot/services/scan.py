"""The trigger scan: detect, assemble context, draft, store (queueing the card in the same commit), and
re-check that every open follow-up is still needed."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot import telemetry
from bot.addresses import BadAddress, single_address
from bot.drafting import draft_with_fallback
from bot.drafting.pipeline import Pipeline
from bot.errors import FollowupError
from bot.models import AuditEvent, Draft, FollowUp, Sequence, Suppression
from bot.ports import Drafter
from bot.records import DraftOutput, EngagementType, LeadContext, one_line
from bot.services import budget, cards, lifecycle, outcomes, sequences
from bot.services.common import load
from bot.services.deps import Deps
from bot.states import OPEN_STATES, WATCHED_STATES, Action, State
from bot.triggers.base import RuleContext, Trigger
from bot.triggers.registry import run_rules
from bot.work.queue import Kind, enqueue

log = logging.getLogger(__name__)


@dataclass
class ScanResult:
    created: list[int] = field(default_factory=list)
    queued: list[int] = field(default_factory=list)  # stored; shown when the owner's daily budget has room
    scheduled: list[int] = field(default_factory=list)  # stored now, shown when due
    already_known: int = 0
    deferred: int = 0  # the contact already has an open follow-up: one at a time per contact
    suppressed: int = 0  # unsubscribed or bounced: never drafted for again
    paced: int = 0  # emailed by us or their rep in the last [pacing] quiet_business_days: not yet
    finished: int = 0  # this rule's sequence already ran its course with them (and they never wrote back)
    stopped: list[int] = field(default_factory=list)  # sequences between touches that a stop rule ended
    resolved: list[int] = field(default_factory=list)
    rule_failures: dict[str, str] = field(default_factory=dict)  # the other rules still ran
    skipped: dict[str, int] = field(default_factory=dict)  # seen and left alone on purpose, by why
    post_failures: list[str] = field(default_factory=list)  # nowhere to post (no Slack user, no channel)
    draft_failures: list[str] = field(default_factory=list)  # left for the next scan to try again
    check_failures: list[str] = field(default_factory=list)


def assemble_context(deps: Deps, trigger: Trigger) -> LeadContext:
    crm = deps.crm
    contact = crm.get_contact(trigger.contact_id)
    if contact is None:
        raise FollowupError(f"CRM contact {trigger.contact_id} was not found")
    deal = crm.get_deal(trigger.deal_id) if trigger.deal_id else None
    company_id = contact.company_id or (deal.company_id if deal else None)
    owner_id = (deal.owner_id if deal else None) or contact.owner_id
    return LeadContext(
        rule=trigger.rule,
        reason=trigger.reason,
        as_of=trigger.due_at or trigger.triggered_at,
        contact=contact,
        company=crm.get_company(company_id) if company_id else None,
        deal=deal,
        owner=crm.get_owner(owner_id) if owner_id else None,
        engagements=crm.engagements_for(contact_id=contact.id, deal_id=trigger.deal_id, limit=10),
        workdays_ahead=deps.calendar.workdays_after(trigger.due_at or trigger.triggered_at),
        zone=deps.calendar.zone.key,
    )


def _store(
    deps: Deps,
    trigger: Trigger,
    ctx: LeadContext,
    drafted: tuple[DraftOutput, Drafter],
    *,
    touch: tuple[int, int] | None = None,
    show_now: bool = False,
) -> FollowUp | None:
    """Store one drafted follow-up and queue its card; None if another scan stored it first.

    A first touch starts its rule's sequence; `touch` (sequence id, touch number) stores a later one. With a
    daily budget the card waits as `queued` until budget.release shows it (`show_now`: an auto-sent touch,
    which needs nobody's time)."""
    output, used = drafted
    try:
        single_address(ctx.contact.email)
    except BadAddress as exc:  # shown on the card before anyone approves; the send refuses it too
        output = output.model_copy(
            update={"review_flags": [f"{exc} Fix it in the CRM.", *output.review_flags]}
        )
    owner_email = ctx.owner.email if ctx.owner else None
    try:
        owner_slack = cards.resolve_owner(deps, owner_email)
    except Exception as exc:  # Slack is unreachable: store anyway; the card's post looks the owner up again
        log.warning("could not look up the owner in Slack (%s); will retry when posting", type(exc).__name__)
        owner_slack = None
    now = deps.clock.now()
    if trigger.due_at and trigger.due_at > now:
        state = State.SCHEDULED
    elif budget.limited(deps) and not show_now:
        state = State.QUEUED
    else:
        state = State.PENDING
    try:
        with deps.db.session() as s:
            fu = FollowUp(
                dedupe_key=trigger.dedupe_key,
                rule=trigger.rule,
                # CRM text as stored: single lines within the columns' sizes (a 3,000-character name is
                # clipped, not a failed insert on every scan)
                reason=one_line(trigger.reason, 1000),
                contact_id=ctx.contact.id,
                contact_email=one_line(ctx.contact.email, 320),
                contact_name=one_line(ctx.contact.name, 200) or "(no name)",
                company_name=one_line(ctx.company.name, 200) if ctx.company else None,
                company_id=ctx.company.id if ctx.company else None,
                deal_id=ctx.deal.id if ctx.deal else None,
                owner_crm_id=ctx.owner.id if ctx.owner else None,
                owner_email=one_line(owner_email, 320) if owner_email else None,
                owner_name=one_line(ctx.owner.name, 200) if ctx.owner else None,
                owner_slack_id=owner_slack,
                state=state.value,
                version=0,
                triggered_at=trigger.triggered_at,
                since_at=trigger.since,
                due_at=trigger.due_at,
                value=budget.value_of(deps, trigger.rule, output, ctx),
                recipient_tz=one_line(ctx.contact.timezone, 64) or None,
                shown_at=now if state is State.PENDING else None,
                sequence_id=touch[0] if touch else None,
                touch=touch[1] if touch else None,
                created_at=now,
                updated_at=now,
            )
            s.add(fu)
            s.flush()
            if touch is None:
                sequences.start_in(s, deps, fu, ctx)
            s.add(
                Draft(
                    followup_id=fu.id,
                    origin="ai",
                    author=used.name,
                    # the prompt and model that wrote this draft (an A/B arm's, or offline after a fallback)
                    model=(output.analysis or {}).get("model", used.model),
                    prompt_version=(output.analysis or {}).get("prompt", used.prompt_version),
                    created_at=now,
                    **output.model_dump(mode="json"),
                )
            )
            s.add(
                AuditEvent(
                    followup_id=fu.id,
                    at=now,
                    actor=f"drafter:{used.name}",
                    action=Action.CREATE.value,
                    from_state=None,
                    to_state=state.value,
                    detail={"trigger": trigger.dedupe_key, "owner_slack_id": owner_slack},
                )
            )
            if state is State.PENDING:
                enqueue(s, Kind.POST_CARD, followup_id=fu.id, now=now)
        telemetry.TRIGGERS.labels(trigger.rule).inc()
        return fu
    except IntegrityError:  # the same trigger stored a moment ago by another replica
        return None


def recheck(deps: Deps, ctx: RuleContext, result: ScanResult) -> None:
    """Resolve open follow-ups that are no longer needed: answered another way, meeting booked, deal moved."""
    with deps.db.session() as s:
        watched = list(
            s.scalars(select(FollowUp).where(FollowUp.state.in_([st.value for st in WATCHED_STATES])))
        )
        watches = [(fu.id, lifecycle.watch_of(fu)) for fu in watched]
    for fid, watch in watches:
        try:
            if watch.by_sequence:  # a later touch: its sequence's stop rules
                stop = lifecycle.sequence_stop(deps, watch, ctx)
                reason = stop.reason if stop else None
            else:
                stop, reason = None, lifecycle.no_longer_needed(deps, watch, ctx)
        except Exception as exc:
            log.exception("checking follow-up %s failed", fid)
            result.check_failures.append(f"#{fid}: {exc}")
            continue
        if not reason:
            continue
        with deps.db.session() as s:
            fu = load(s, fid)
            if State(fu.state) in WATCHED_STATES:
                lifecycle.resolve(s, fu, reason=reason, now=deps.clock.now())
                result.resolved.append(fid)
                if stop is not None:  # a later touch: a reply that stopped it goes to the owner too
                    sequences.tell_owner(s, fu, stop, deps.clock.now())
    try:
        result.stopped = sequences.check_idle(deps, ctx)
    except Exception as exc:
        log.exception("checking sequences failed")
        result.check_failures.append(f"sequences: {exc}")


def scan(deps: Deps, *, scheduled: bool = False) -> ScanResult:
    """Run every enabled rule once (a failing rule is reported; the others still run), store what is new,
    and resolve what is no longer needed. Cards are posted by the work queue. A scheduled scan may draft
    through the Message Batches API (`[drafting] use_batches`): nobody is waiting on it."""
    result = ScanResult()
    ctx = lifecycle.rule_context(deps)
    run = run_rules(deps.config.triggers, ctx)
    result.rule_failures = run.failures
    result.skipped = run.skipped
    triggers = run.triggers
    with deps.db.session() as s:
        known = set(
            s.scalars(
                select(FollowUp.dedupe_key).where(FollowUp.dedupe_key.in_([t.dedupe_key for t in triggers]))
            )
        )
    recheck(deps, ctx, result)
    try:  # what came of earlier follow-ups (replies, meetings, won deals), for the metrics
        outcomes.record(deps, ctx)
    except Exception as exc:
        log.exception("recording outcomes failed; the next scan tries again")
        result.check_failures.append(f"outcomes: {exc}")
    with deps.db.session() as s:
        # a nurture waiting for its day does not hold the contact: a new inquiry from them comes first
        waiting = [st.value for st in OPEN_STATES if st is not State.SCHEDULED]
        busy = set(s.scalars(select(FollowUp.contact_id).where(FollowUp.state.in_(waiting))))
        # one sequence at a time: a contact between two touches is not started on another rule's
        busy |= set(
            s.scalars(
                select(Sequence.contact_id).where(Sequence.state == sequences.ACTIVE, Sequence.touch > 0)
            )
        )
    fresh = [t for t in triggers if t.dedupe_key not in known]
    with _batched(deps, fresh):
        _store_new(deps, triggers, known, busy, result, batch=scheduled and deps.config.drafting.use_batches)
    shown = set(budget.release(deps))
    result.created += [fid for fid in result.queued if fid in shown]
    result.queued = [fid for fid in result.queued if fid not in shown]
    return result


def _draft_all(
    deps: Deps, contexts: list[LeadContext], *, batch: bool = False
) -> list[tuple[DraftOutput, Drafter] | BaseException]:
    if batch and contexts and isinstance(deps.drafter, Pipeline) and deps.drafter.engine is not None:
        try:
            return [(out, deps.drafter) for out in deps.drafter.draft_batch(contexts)]
        except Exception as exc:  # the batch path is an optimisation: fall back to calls one lead at a time
            log.warning("batch drafting failed (%s); drafting lead by lead", type(exc).__name__)

    def one(ctx: LeadContext) -> tuple[DraftOutput, Drafter] | BaseException:
        try:
            return draft_with_fallback(deps.drafter, deps.fallback_drafter, ctx)
        except Exception as exc:
            log.warning("could not draft (%s)", type(exc).__name__)
            return exc

    workers = max(1, min(deps.config.drafting.concurrency, len(contexts)))
    if workers == 1:
        return [one(ctx) for ctx in contexts]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="followup-draft") as pool:
        return list(pool.map(one, contexts))


@contextmanager
def _batched(deps: Deps, triggers: list[Trigger]) -> Iterator[None]:
    """The new leads' records and history in a few batched CRM reads; if that fails, each lead is read on
    its own (and reports its own failure)."""
    with ExitStack() as stack:
        try:
            contacts, deals = [t.contact_id for t in triggers], [t.deal_id for t in triggers if t.deal_id]
            stack.enter_context(deps.crm.batch(contacts, deals))
        except Exception as exc:
            log.warning("batched CRM read failed (%s); reading lead by lead", type(exc).__name__)
        yield


def recently_emailed(deps: Deps, ctx: LeadContext, ours: datetime | None) -> bool:
    """Overlap suppression: the contact got an email from us or from their rep within the last
    `[pacing] quiet_business_days` business days, and has not written since. Another touch now would be
    nagging; an answer to something they wrote never is."""
    days = deps.config.pacing.quiet_business_days
    if days == 0:
        return False
    sent = [
        e.occurred_at for e in ctx.engagements if e.type is EngagementType.EMAIL and e.direction == "outbound"
    ]
    last_out = max([*sent, *([ours] if ours else [])], default=None)
    if last_out is None:
        return False
    last_in = max((e.occurred_at for e in ctx.engagements if e.is_inbound), default=None)
    if last_in is not None and last_in > last_out:
        return False
    return deps.calendar.elapsed(last_out, deps.clock.now()) < deps.calendar.workday * days


def _store_new(
    deps: Deps, triggers: list[Trigger], known: set[str], busy: set[str], result: ScanResult, *, batch: bool
) -> None:
    """Pick the new triggers (in rule order, so the more urgent rule wins a contact), read their context,
    draft them `[drafting] concurrency` at a time (a model answers in seconds: drafting one after another
    would make a scan of a hundred leads take minutes), then store them in order."""
    with deps.db.session() as s:  # who asked for nothing more (by CRM id, and by address below)
        stopped = s.execute(select(Suppression.contact_id, Suppression.email)).all()
        finished = {  # (contact, rule) -> when that rule's sequence with them completed
            (row.contact_id, row.rule): row.ended_at
            for row in s.execute(
                select(Sequence.contact_id, Sequence.rule, Sequence.ended_at).where(
                    Sequence.state == sequences.COMPLETED
                )
            )
        }
        our_last = dict(  # when we last sent each contact something (the CRM may not have it logged yet)
            s.execute(
                select(FollowUp.contact_id, func.max(FollowUp.sent_at))
                .where(FollowUp.sent_at.is_not(None))
                .group_by(FollowUp.contact_id)
            ).all()
        )
    stopped_ids = {row.contact_id for row in stopped if row.contact_id}
    stopped_emails = {row.email for row in stopped}
    chosen: list[tuple[Trigger, bool]] = []
    for trigger in triggers:
        if trigger.contact_id in stopped_ids:
            result.suppressed += 1
            continue
        if trigger.dedupe_key in known:
            result.already_known += 1
            continue
        later = trigger.due_at is not None and trigger.due_at > deps.clock.now()
        if trigger.contact_id in busy and not later:
            result.deferred += 1  # comes back on a later scan if it still applies then
            continue
        chosen.append((trigger, later))
        if not later:
            busy.add(trigger.contact_id)
    contexts: list[tuple[Trigger, bool, LeadContext]] = []
    for trigger, later in chosen:  # in this thread: the CRM batch read serves these
        try:
            ctx = assemble_context(deps, trigger)
            if ctx.contact.email.strip().lower() in stopped_emails:
                result.suppressed += 1
                continue
            ended = finished.get((trigger.contact_id, trigger.rule))
            if ended is not None and not any(e.is_inbound and e.occurred_at > ended for e in ctx.engagements):
                result.finished += 1  # never re-enters that sequence, unless they got in touch since
                continue
            if not later and recently_emailed(deps, ctx, our_last.get(ctx.contact.id)):
                result.paced += 1  # comes back on a later scan if it still applies then
                continue
            contexts.append((trigger, later, ctx))
        except Exception as exc:  # one bad record must not stop the rest of the scan
            log.exception("could not prepare %s", trigger.dedupe_key)
            result.draft_failures.append(f"{trigger.dedupe_key}: {exc}")
    drafts = _draft_all(deps, [ctx for _, _, ctx in contexts], batch=batch)
    # a rep whose new cards all fit in today's budget gets them at once; otherwise they wait as queued and
    # budget.release shows the most valuable first
    new_by_owner = Counter(ctx.owner.id if ctx.owner else None for _, later, ctx in contexts if not later)
    fits = {}
    for owner, count in new_by_owner.items():
        left = budget.room(deps, owner)
        fits[owner] = left is None or count <= left
    for (trigger, later, ctx), drafted in zip(contexts, drafts, strict=True):
        if isinstance(drafted, BaseException):
            result.draft_failures.append(f"{trigger.dedupe_key}: {type(drafted).__name__}")
            continue
        try:
            fu = _store(
                deps, trigger, ctx, drafted, show_now=fits.get(ctx.owner.id if ctx.owner else None, False)
            )
        except Exception as exc:
            log.exception("could not store %s", trigger.dedupe_key)
            result.draft_failures.append(f"{trigger.dedupe_key}: {exc}")
            continue
        if fu is None:
            result.already_known += 1
            continue
        if not later:
            busy.add(fu.contact_id)
        {State.SCHEDULED.value: result.scheduled, State.QUEUED.value: result.queued}.get(
            fu.state, result.created
        ).append(fu.id)
        if fu.state in (State.PENDING.value, State.QUEUED.value) and not (
            fu.owner_slack_id or deps.config.slack.review_channel
        ):
            result.post_failures.append(
                f"#{fu.id}: no Slack user for {fu.owner_name or 'the owner'} and no review channel configured"
            )
