"""Whether it works, in numbers: outcomes, speed, the human step and health over a period, for everyone or
narrowed to a rule, a rep, a team or a prompt version. Every figure comes from the app's own records (what it
triggered, showed, sent and was told) plus the outcomes it read from the CRM (`outcomes`).

A rate is kept as its two counts, so an empty period shows "–" (no data), never a division by zero or a
misleading 0 %. Each query is bounded by the period on an indexed time column."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import median
from typing import Any

from rapidfuzz.distance import Levenshtein
from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from bot.errors import FollowupError, NotAllowed
from bot.models import (
    AiOutput,
    AuditEvent,
    CardMessage,
    Draft,
    FollowUp,
    InboundLead,
    InboundMessage,
    Outcome,
    Suppression,
    WorkItem,
)
from bot.services.common import SYSTEM_ACTORS
from bot.services.deps import Deps
from bot.states import Action
from bot.triggers.registry import RULES
from bot.work.queue import DEAD, Kind

DECISIONS = (Action.APPROVE, Action.EDIT_AND_SEND, Action.SNOOZE, Action.ESCALATE, Action.DISMISS)
DECISION_NAMES = {
    Action.APPROVE: "approve",
    Action.EDIT_AND_SEND: "edit",
    Action.SNOOZE: "snooze",
    Action.ESCALATE: "escalate",
    Action.DISMISS: "dismiss",
}
PERIODS = {"week": timedelta(days=7), "month": timedelta(days=30)}
CRM_KINDS = (Kind.CRM_LOG.value, Kind.CRM_OPTOUT.value, Kind.CRM_SEQUENCE.value)


@dataclass(frozen=True)
class Rate:
    hits: int
    total: int

    @property
    def value(self) -> float | None:
        return self.hits / self.total if self.total else None

    def __str__(self) -> str:
        return "–" if self.value is None else f"{self.value:.0%} ({self.hits}/{self.total})"


@dataclass(frozen=True)
class Scope:
    """What the numbers are about: a period, and maybe one rule, rep (Slack id), team or prompt version."""

    start: datetime
    end: datetime
    rule: str | None = None
    rep: str | None = None
    team: str | None = None
    prompt_version: str | None = None

    @classmethod
    def last(cls, period: str, now: datetime, **narrow: Any) -> Scope:
        return cls(start=now - PERIODS[period], end=now, **narrow)


@dataclass
class Report:
    scope: Scope
    # outcome
    sent: int = 0
    reply_by_touch: dict[int, Rate] = field(default_factory=dict)
    reply_rate: Rate = Rate(0, 0)
    meeting_rate: Rate = Rate(0, 0)  # of contacts triggered in the period
    won_deals: int = 0
    won_revenue: float = 0.0
    won_without_other_touch: int = 0  # no email, call or meeting by a person in the 14 days before
    unsubscribe_rate: Rate = Rate(0, 0)
    bounce_rate: Rate = Rate(0, 0)
    # speed
    inbound_first_response: timedelta | None = None  # median, arrival to a person's first action
    inbound_answered: int = 0
    hot_within_hour: Rate = Rate(0, 0)  # business time, as the SLA counts it
    card_to_decision: timedelta | None = None  # median
    # the human step
    decisions: dict[str, Rate] = field(default_factory=dict)  # approve/edit/snooze/escalate/dismiss shares
    dismiss_reasons: dict[str, int] = field(default_factory=dict)
    reply_as_written: Rate = Rate(0, 0)
    reply_edited: Rate = Rate(0, 0)
    edit_distance: float | None = None  # median share of the AI draft's characters a rep changed
    classification_reviewed: Rate = Rate(0, 0)  # reviewers who kept the model's class, of those who looked
    overrides: dict[str, int] = field(default_factory=dict)  # "model → human": count
    flags_raised: int = 0
    flags_resolved: dict[str, int] = field(default_factory=dict)  # what happened to flagged drafts
    # health
    crm_write_failures: int = 0
    send_failures: int = 0
    ai_fallbacks: int = 0
    cost_by_day: dict[date, float] = field(default_factory=dict)

    @property
    def cost(self) -> float:
        return round(sum(self.cost_by_day.values()), 4)


def compute(deps: Deps, scope: Scope) -> Report:
    report = Report(scope=scope)
    with deps.db.session() as s:
        narrow = _narrowing(deps, s, scope)
        _outcomes(s, scope, narrow, report)
        _speed(deps, s, scope, narrow, report)
        _human(s, scope, narrow, report)
        _health(s, scope, narrow, report)
    return report


# --- scope -------------------------------------------------------------------------------------------
def _narrowing(deps: Deps, s: Session, scope: Scope) -> list[ColumnElement[bool]]:
    """Conditions on FollowUp for the rule, rep, team and prompt version asked for."""
    where: list[ColumnElement[bool]] = []
    if scope.rule:
        where.append(FollowUp.rule == scope.rule)
    if scope.rep:
        where.append(FollowUp.owner_slack_id == scope.rep)
    if scope.team is not None:
        team = deps.config.teams.get(scope.team)
        members = team.members if team else []
        where.append(func.lower(FollowUp.owner_email).in_(members))
    if scope.prompt_version:
        # a follow-up drafted (by the pipeline) with that prompt version; an alias of its own, since this
        # condition also sits inside queries that join drafts
        ai = aliased(Draft)
        where.append(
            exists().where(
                ai.followup_id == FollowUp.id, ai.origin == "ai", ai.prompt_version == scope.prompt_version
            )
        )
    return where


def _in(column: Any, scope: Scope) -> ColumnElement[bool]:
    return and_(column >= scope.start, column < scope.end)


def _replied() -> ColumnElement[bool]:
    return or_(
        exists().where(InboundMessage.followup_id == FollowUp.id, InboundMessage.kind == "reply"),
        exists().where(Outcome.followup_id == FollowUp.id, Outcome.kind == "reply"),
    )


# --- outcome -------------------------------------------------------------------------------------------
def _outcomes(s: Session, scope: Scope, narrow: list[ColumnElement[bool]], r: Report) -> None:
    replied = case((_replied(), 1), else_=0)
    touch = func.coalesce(FollowUp.touch, 1)
    rows = s.execute(
        select(touch, func.count(), func.sum(replied))
        .where(_in(FollowUp.sent_at, scope), *narrow)
        .group_by(touch)
        .order_by(touch)
    ).all()
    r.reply_by_touch = {int(t): Rate(int(hits or 0), int(n)) for t, n, hits in rows}
    r.sent = sum(rate.total for rate in r.reply_by_touch.values())
    r.reply_rate = Rate(sum(rate.hits for rate in r.reply_by_touch.values()), r.sent)

    met = exists().where(Outcome.followup_id == FollowUp.id, Outcome.kind == "meeting")
    triggered, booked = s.execute(
        select(
            func.count(func.distinct(FollowUp.contact_id)),
            func.count(func.distinct(case((met, FollowUp.contact_id)))),
        ).where(_in(FollowUp.triggered_at, scope), *narrow)
    ).one()
    r.meeting_rate = Rate(int(booked or 0), int(triggered or 0))

    won = s.execute(
        select(
            func.count(),
            func.coalesce(func.sum(Outcome.amount), 0.0),
            func.count().filter(Outcome.other_touches == 0),
        )
        .join(FollowUp, FollowUp.id == Outcome.followup_id)
        .where(Outcome.kind == "deal_won", _in(Outcome.at, scope), *narrow)
    ).one()
    r.won_deals, r.won_revenue, r.won_without_other_touch = int(won[0]), float(won[1] or 0), int(won[2])

    def suppressed(reason: str) -> ColumnElement[bool]:
        return exists().where(
            Suppression.email == func.lower(FollowUp.contact_email),
            Suppression.reason == reason,
            Suppression.created_at >= FollowUp.sent_at,
        )

    unsub, bounced = s.execute(
        select(
            func.sum(case((suppressed("unsubscribed"), 1), else_=0)),
            func.sum(case((suppressed("bounced"), 1), else_=0)),
        ).where(_in(FollowUp.sent_at, scope), *narrow)
    ).one()
    r.unsubscribe_rate, r.bounce_rate = Rate(int(unsub or 0), r.sent), Rate(int(bounced or 0), r.sent)


# --- speed ---------------------------------------------------------------------------------------------
def _speed(deps: Deps, s: Session, scope: Scope, narrow: list[ColumnElement[bool]], r: Report) -> None:
    leads = s.execute(
        select(InboundLead.received_at, InboundLead.first_action_at, InboundLead.route)
        .join(FollowUp, FollowUp.id == InboundLead.followup_id)
        .where(_in(InboundLead.received_at, scope), InboundLead.state == "done", *narrow)
    ).all()
    waits = [acted - got for got, acted, _ in leads if acted is not None]
    r.inbound_answered = len(waits)
    r.inbound_first_response = _median_time(waits)
    hot = [(got, acted) for got, acted, route in leads if route == "hot"]
    hour = timedelta(hours=1)
    quick = sum(1 for got, acted in hot if acted is not None and deps.calendar.elapsed(got, acted) <= hour)
    r.hot_within_hour = Rate(quick, len(hot))

    # each follow-up's first decision by a person, when it falls in the period (read from the period's
    # events, through the time index), against the first card posted for it
    decisions = [a.value for a in DECISIONS]
    earlier = aliased(AuditEvent)
    first = (  # per event of the period, a look at its follow-up's own events (through their index)
        select(earlier.id)
        .where(
            earlier.followup_id == AuditEvent.followup_id,
            earlier.action.in_(decisions),
            _person(earlier.actor),
        )
        .order_by(earlier.at, earlier.id)
        .limit(1)
        .correlate(AuditEvent)
        .scalar_subquery()
    )
    posted = (
        select(func.min(CardMessage.created_at))
        .where(CardMessage.followup_id == AuditEvent.followup_id)
        .correlate(AuditEvent)
        .scalar_subquery()
    )
    pairs = s.execute(
        select(posted, AuditEvent.at)
        .join(FollowUp, FollowUp.id == AuditEvent.followup_id)
        .where(
            _in(AuditEvent.at, scope), AuditEvent.action.in_(decisions), _person(AuditEvent.actor), *narrow
        )
        .where(AuditEvent.id == first)
    ).all()
    r.card_to_decision = _median_time([at - card for card, at in pairs if card is not None and at >= card])


def _person(actor: Any) -> ColumnElement[bool]:
    return and_(actor.not_in(sorted(SYSTEM_ACTORS)), actor.not_like("drafter:%"))


def _median_time(values: list[timedelta]) -> timedelta | None:
    return timedelta(seconds=round(median(v.total_seconds() for v in values))) if values else None


# --- the human step --------------------------------------------------------------------------------------
def _human(s: Session, scope: Scope, narrow: list[ColumnElement[bool]], r: Report) -> None:
    counts = dict(
        s.execute(
            select(AuditEvent.action, func.count())
            .join(FollowUp, FollowUp.id == AuditEvent.followup_id)
            .where(
                _in(AuditEvent.at, scope),
                AuditEvent.action.in_([a.value for a in DECISIONS]),
                _person(AuditEvent.actor),
                *narrow,
            )
            .group_by(AuditEvent.action)
        ).all()
    )
    total = sum(int(n) for n in counts.values())
    r.decisions = {DECISION_NAMES[a]: Rate(int(counts.get(a.value, 0)), total) for a in DECISIONS}
    r.dismiss_reasons = {
        str(reason or "other"): int(n)
        for reason, n in s.execute(
            select(FollowUp.dismiss_reason, func.count())
            .join(
                AuditEvent,
                and_(AuditEvent.followup_id == FollowUp.id, AuditEvent.action == Action.DISMISS.value),
            )
            .where(_in(AuditEvent.at, scope), _person(AuditEvent.actor), *narrow)
            .group_by(FollowUp.dismiss_reason)
        ).all()
    }

    # the sent draft read per follow-up of the period through its primary key (a week is a few percent of
    # the follow-ups: a join would read every draft)
    sent = aliased(Draft)
    origin = (
        select(sent.origin).where(sent.id == FollowUp.sent_draft_id).correlate(FollowUp).scalar_subquery()
    )
    replied = case((_replied(), 1), else_=0)
    split = s.execute(
        select(origin, func.count(), func.sum(replied))
        .where(_in(FollowUp.sent_at, scope), FollowUp.sent_draft_id.is_not(None), *narrow)
        .group_by(origin)
    ).all()
    by_origin = {kind: Rate(int(hits or 0), int(n)) for kind, n, hits in split}
    r.reply_as_written, r.reply_edited = by_origin.get("ai", Rate(0, 0)), by_origin.get("edit", Rate(0, 0))

    # how much reps change drafts: the sent edit against the AI draft it replaced (the newest before it)
    ai = aliased(Draft)
    replaced = (
        select(ai.body)
        .where(ai.followup_id == FollowUp.id, ai.origin == "ai", ai.id < FollowUp.sent_draft_id)
        .order_by(ai.id.desc())
        .limit(1)
        .correlate(FollowUp)
        .scalar_subquery()
    )
    body = select(sent.body).where(sent.id == FollowUp.sent_draft_id).correlate(FollowUp).scalar_subquery()
    edits = s.execute(
        select(replaced, body).where(_in(FollowUp.sent_at, scope), origin == "edit", *narrow)
    ).all()
    distances = [
        Levenshtein.normalized_distance(before, after)
        for before, after in edits
        if before is not None and after is not None
    ]
    r.edit_distance = round(median(distances), 3) if distances else None

    # reviewers' classes beside the model's, counted by pair in the database (not a JSON document a decision)
    model = AuditEvent.detail["classification"]["model"].as_string()
    human = AuditEvent.detail["classification"]["human"].as_string()
    pairs = s.execute(
        select(model, human, func.count())
        .join(FollowUp, FollowUp.id == AuditEvent.followup_id)
        .where(_in(AuditEvent.at, scope), AuditEvent.action.in_([a.value for a in DECISIONS]), *narrow)
        .where(_person(AuditEvent.actor), human.is_not(None))
        .group_by(model, human)
    ).all()
    kept = sum(int(n) for m, h, n in pairs if m == h)
    overrides = Counter({f"{m} → {h}": int(n) for m, h, n in pairs if m != h})
    r.classification_reviewed = Rate(kept, sum(int(n) for _, _, n in pairs))
    r.overrides = dict(overrides.most_common())

    # each follow-up's first AI draft, read per follow-up of the period through the drafts' follow-up index
    def first_ai(column: Any) -> Any:
        return (
            select(column)
            .where(Draft.followup_id == FollowUp.id, Draft.origin == "ai")
            .order_by(Draft.id)
            .limit(1)
            .correlate(FollowUp)
            .scalar_subquery()
        )

    flagged = s.execute(  # only the follow-ups whose first AI draft raised a flag (the same function in both)
        select(FollowUp.state, FollowUp.sent_draft_id, first_ai(Draft.id))
        .where(_in(FollowUp.created_at, scope), *narrow)
        .where(func.json_array_length(first_ai(Draft.review_flags)) > 0)
    ).all()
    resolved: Counter[str] = Counter()
    for state, sent_id, draft_id in flagged:
        if draft_id is not None:
            resolved[_resolution(state, sent_id, draft_id)] += 1
    r.flags_raised, r.flags_resolved = sum(resolved.values()), dict(resolved.most_common())


def _resolution(state: str, sent_draft_id: int | None, draft_id: int) -> str:
    if sent_draft_id is not None:
        return "sent as drafted" if sent_draft_id == draft_id else "edited, then sent"
    return {
        "dismissed": "dismissed",
        "escalated": "escalated",
        "resolved": "closed without a send",
        "snoozed": "snoozed",
    }.get(state, "still waiting")


# --- health --------------------------------------------------------------------------------------------
def _health(s: Session, scope: Scope, narrow: list[ColumnElement[bool]], r: Report) -> None:
    followup_scoped = narrow != []
    crm = (
        select(func.count())
        .select_from(WorkItem)
        .where(
            WorkItem.kind.in_(CRM_KINDS),
            _in(WorkItem.updated_at, scope),
            or_(WorkItem.state == DEAD, WorkItem.attempts > 1),
        )
    )
    if followup_scoped:
        crm = crm.join(FollowUp, FollowUp.id == WorkItem.followup_id).where(*narrow)
    r.crm_write_failures = int(s.scalar(crm) or 0)
    r.send_failures = int(
        s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .join(FollowUp, FollowUp.id == AuditEvent.followup_id)
            .where(
                AuditEvent.action.in_([Action.DELIVERY_FAILED.value, Action.DELIVERY_UNKNOWN.value]),
                _in(AuditEvent.at, scope),
                *narrow,
            )
        )
        or 0
    )
    claude = aliased(AiOutput)
    fallbacks = (
        select(func.count())
        .select_from(AiOutput)
        .where(
            AiOutput.engine == "offline",
            _in(AiOutput.created_at, scope),
            exists().where(
                claude.run_id == AiOutput.run_id, claude.step == AiOutput.step, claude.engine == "claude"
            ),
        )
    )
    r.ai_fallbacks = int(s.scalar(fallbacks if not followup_scoped else _by_runs(fallbacks, narrow)) or 0)
    day = func.date(AiOutput.created_at)
    costs = select(day, func.sum(AiOutput.cost_usd)).where(_in(AiOutput.created_at, scope)).group_by(day)
    if followup_scoped:
        costs = _by_runs(costs, narrow)
    r.cost_by_day = {
        (d if isinstance(d, date) else date.fromisoformat(str(d))): round(float(c or 0), 4)
        for d, c in s.execute(costs.order_by(day)).all()
    }


def _by_runs(query: Any, narrow: list[ColumnElement[bool]]) -> Any:
    """AI outputs of the follow-ups in scope (through their drafts' pipeline runs)."""
    return query.where(
        exists().where(Draft.run_id == AiOutput.run_id, FollowUp.id == Draft.followup_id, *narrow, true())
    )


def first_response_trend(deps: Deps, scope: Scope, weeks: int = 8) -> list[tuple[date, timedelta | None]]:
    """The median first response to inbound leads in each of the `weeks` weeks up to the scope's end."""
    start = scope.end - timedelta(weeks=weeks)
    wide = Scope(start=start, end=scope.end, rule=scope.rule, rep=scope.rep, team=scope.team)
    with deps.db.session() as s:
        narrow = _narrowing(deps, s, wide)
        rows = s.execute(
            select(InboundLead.received_at, InboundLead.first_action_at)
            .join(FollowUp, FollowUp.id == InboundLead.followup_id)
            .where(_in(InboundLead.received_at, wide), InboundLead.first_action_at.is_not(None), *narrow)
        ).all()
    buckets: list[list[timedelta]] = [[] for _ in range(weeks)]
    for got, acted in rows:
        if acted is not None:
            n = min(weeks - 1, int((got - start) / timedelta(weeks=1)))
            buckets[n].append(acted - got)
    return [((start + timedelta(weeks=n)).date(), _median_time(b)) for n, b in enumerate(buckets)]


# --- who may see what (/followup stats) -------------------------------------------------------------------
MENTION = re.compile(r"<@([UW][A-Z0-9]{2,20})(?:\|[^>]*)?>")


USAGE = "Try `/followup stats [week|month] [@person | team NAME | all] [rule NAME] [version V]`."


def asked(deps: Deps, actor: str, words: list[str]) -> tuple[Scope, str]:
    """`/followup stats [week|month] [@person | team NAME | all] [rule NAME] [version V]`: the scope and its
    title. A rep sees their own numbers; a team's lead sees the team and its members; admins and
    `[routing] team_lead` see anyone."""
    period, rest = "week", list(words)
    if rest and rest[0].lower() in PERIODS:
        period = rest.pop(0).lower()
    narrow: dict[str, str] = {}
    while len(rest) >= 2 and rest[-2].lower() in ("rule", "version"):  # trailing filters, in any order
        key, value = rest[-2].lower(), rest[-1]
        rest = rest[:-2]
        if key in narrow:
            raise FollowupError(USAGE)
        narrow["prompt_version" if key == "version" else "rule"] = value[:80]
    rules = sorted(rule.name for rule in RULES)
    if "rule" in narrow and narrow["rule"] not in rules:
        known = ", ".join(rules)
        raise FollowupError(f"There is no rule “{narrow['rule'][:40]}” (rules: {known}).")
    also = "".join(f" · {k.replace('prompt_version', 'version')} {v}" for k, v in narrow.items())
    now = deps.clock.now()
    heads = {
        *deps.config.slack.admins,
        *([deps.config.routing.team_lead] if deps.config.routing.team_lead else []),
    }
    leads_of = {name for name, team in deps.config.teams.items() if team.lead == actor}
    when = "month" if period == "month" else "week"
    if not rest:
        return Scope.last(period, now, rep=actor, **narrow), f"Your {when}: follow-ups{also}"
    target = rest[0]
    if target.lower() == "all" and len(rest) == 1:
        if actor not in heads:
            raise NotAllowed("Only an admin or the team lead in the config can see everyone's numbers.")
        return Scope.last(period, now, **narrow), f"Everyone's {when}: follow-ups{also}"
    if target.lower() == "team" and len(rest) == 2:
        name = rest[1]
        if name not in deps.config.teams:
            known = ", ".join(sorted(deps.config.teams)) or "none configured"
            raise FollowupError(f"There is no team “{name[:40]}” (teams: {known}).")
        if actor not in heads and name not in leads_of:
            raise NotAllowed(f"Only team {name}'s lead or an admin can see its numbers.")
        return Scope.last(period, now, team=name, **narrow), f"Team {name}'s {when}: follow-ups{also}"
    mention = MENTION.fullmatch(target) if len(rest) == 1 else None
    if mention is None:
        raise FollowupError(USAGE)
    rep = mention.group(1)
    if rep != actor and actor not in heads and not _leads(deps, leads_of, rep):
        raise NotAllowed("You can see your own numbers; a manager or an admin can see a colleague's.")
    return Scope.last(period, now, rep=rep, **narrow), f"<@{rep}>'s {when}: follow-ups{also}"


def owner_emails(deps: Deps, user: str) -> set[str]:
    """The CRM owner addresses a Slack user stands for: those their follow-ups carry, and the `[slack] users`
    map's (lower case)."""
    with deps.db.session() as s:
        emails = set(
            s.scalars(
                select(func.lower(FollowUp.owner_email))
                .where(FollowUp.owner_slack_id == user)
                .distinct()
                .limit(5)
            )
        )
    return emails | {email for email, uid in deps.config.slack.users.items() if uid == user}


def _leads(deps: Deps, teams: set[str], rep: str) -> bool:
    """Whether `rep` (a Slack id) is in one of `teams`: by the owner addresses they stand for."""
    if not teams:
        return False
    members = {m for name in teams for m in deps.config.teams[name].members}
    return bool(owner_emails(deps, rep) & members)
