"""What every trigger rule shares: the trigger it reports, the context it reads, and small CRM questions."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.records import Contact, Deal, Engagement, EngagementType

if TYPE_CHECKING:
    from bot.ports import CRM


class Calendar(Protocol):
    """The business-time questions the rules ask (bot.clock.BusinessCalendar answers them)."""

    zone: ZoneInfo

    @property
    def workday(self) -> timedelta: ...
    def elapsed(self, start: datetime, end: datetime) -> timedelta: ...
    def next_opening(self, at: datetime) -> datetime: ...


RECENT = timedelta(days=45)  # how far back the engagement-reading rules look


class SequenceConfig(BaseModel):
    """The touches a rule's follow-up may take: the first is the rule's own card; each later one comes due
    `delays_business_days` after the one before was sent, and the last is a break-up message. Every touch is
    reviewed like any follow-up unless `auto_send` allows it (never the first touch)."""

    model_config = ConfigDict(extra="forbid")
    touches: Annotated[int, Field(ge=1, le=5)] = Field(
        default=3, description="Emails in all, the break-up included; 1 means a single follow-up."
    )
    delays_business_days: list[Annotated[int, Field(ge=1, le=30)]] = Field(
        default_factory=lambda: [3, 5],
        description="Business days between touches; when shorter than touches - 1, the last one repeats.",
    )
    auto_send: bool = Field(
        default=False,
        description="Send touches after the first without review when the classification is confident "
        "enough and no guardrail flagged the draft.",
    )
    auto_send_min_confidence: Annotated[float, Field(ge=0.5, le=1.0)] = 0.9

    @model_validator(mode="after")
    def _delays(self) -> SequenceConfig:
        if self.touches > 1 and not self.delays_business_days:
            raise ValueError("delays_business_days needs at least one delay when touches is more than 1")
        return self

    def delay_after(self, touch: int) -> int:
        """Business days between touch `touch` being sent and the next one."""
        delays = self.delays_business_days or [3]
        return delays[min(touch, len(delays)) - 1]


def rule_weight(default: float) -> Any:
    """A rule's weight field with its own default (the daily budget shows higher weights first)."""
    return Field(
        default=default, ge=0, le=100, description="How much this rule's cards count in a rep's daily budget."
    )


class RuleConfig(BaseModel):
    """Every rule's config section has at least `enabled`, a weight, and its sequence."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = Field(default=True, description="Turn this rule off without deleting its settings.")
    weight: float = rule_weight(5)
    sequence: SequenceConfig = Field(default_factory=SequenceConfig)


@dataclass(frozen=True)
class Trigger:
    rule: str
    dedupe_key: str  # one episode of silence: the same key is never followed up twice
    contact_id: str
    deal_id: str | None
    reason: str  # why it fired, in words a rep reads
    triggered_at: datetime
    since: datetime  # when the silence began (the event still_applies measures from)
    due_at: datetime | None = None  # later than triggered_at: stored now, shown when due (nurture)


@dataclass(frozen=True)
class Watch:
    """What `still_applies` knows about a stored follow-up."""

    rule: str
    contact_id: str
    deal_id: str | None
    since: datetime
    dedupe_key: str
    sequence_id: int | None = None
    by_sequence: bool = False  # a later touch (or a nurture hand-off): the sequence's stop rules decide


@dataclass
class Pipeline:
    won_stages: list[str]
    lost_stages: list[str]

    @property
    def closed(self) -> list[str]:
        return [*self.won_stages, *self.lost_stages]


@dataclass
class RuleContext:
    """One scan's view of the CRM; engagement lists are read once and shared by the rules."""

    crm: CRM
    calendar: Calendar
    now: datetime
    pipeline: Pipeline
    _deals: dict[str, Deal | None] = field(default_factory=dict)
    _contacts: dict[str, Contact | None] = field(default_factory=dict)
    # what the rules saw and deliberately left alone, by why ("not nurtured: lost too long ago"), for the
    # scan's and the demo's summary: a quiet scan says what it chose not to do
    skipped: Counter[str] = field(default_factory=Counter)

    def skip(self, why: str) -> None:
        self.skipped[why] += 1

    @cached_property
    def recent(self) -> list[Engagement]:
        """Emails, calls, notes, meetings and form fills of the last 45 days (and any in the future), oldest
        first."""
        return self.crm.engagements_since(self.now - RECENT)

    @cached_property
    def open_deals(self) -> list[Deal]:
        return self.crm.open_deals(self.pipeline.closed)

    def deal(self, deal_id: str) -> Deal | None:
        """The deal; from the open deals when the scan read them (no CRM call per follow-up)."""
        if deal_id not in self._deals:
            if "open_deals" in self.__dict__:
                self._deals.update({d.id: d for d in self.open_deals})
            if deal_id not in self._deals:
                self._deals[deal_id] = self.crm.get_deal(deal_id)
        return self._deals[deal_id]

    def contact(self, contact_id: str) -> Contact | None:
        if contact_id not in self._contacts:
            self._contacts[contact_id] = self.crm.get_contact(contact_id)
        return self._contacts[contact_id]

    def company_of(self, contact_id: str) -> str | None:
        found = self.contact(contact_id)
        return found.company_id if found else None

    def contact_name(self, contact_id: str) -> str:
        found = self.contact(contact_id)
        return found.name if found else "Someone"

    def recent_replies(self, since: datetime) -> list[Engagement]:
        """Replies from anyone after `since`, when this scan read the recent engagements anyway (a single
        check before a send does not read the whole portal's history for them)."""
        if "recent" not in self.__dict__:
            return []
        return [e for e in self.recent if is_reply(e) and e.occurred_at > since]

    def history_after(self, watch: Watch) -> list[Engagement]:
        """The contact's (and deal's) engagements after the follow-up's start, oldest first.

        In a scan, where `recent` is read anyway, a start inside its window is answered from it (no CRM
        call per follow-up); otherwise (an older start, or a single check before a send) the CRM is asked."""
        if "recent" in self.__dict__ and watch.since >= self.now - RECENT:
            found = [
                e
                for e in self.recent
                if e.contact_id == watch.contact_id or (watch.deal_id and e.deal_id == watch.deal_id)
            ]
        else:
            found = self.crm.engagements_for(contact_id=watch.contact_id, deal_id=watch.deal_id, limit=25)
        return sorted((e for e in found if e.occurred_at > watch.since), key=lambda e: e.occurred_at)

    def day(self, at: datetime) -> str:
        """'Tue 3 Nov' in the team's zone."""
        local = at.astimezone(self.calendar.zone)
        return f"{local:%a} {local.day} {local:%b}"

    def business_days(self, start: datetime) -> float:
        return self.calendar.elapsed(start, self.now) / self.calendar.workday


def is_reply(e: Engagement) -> bool:
    """The lead answered: an inbound email, form or call."""
    return e.is_inbound and e.type in (EngagementType.EMAIL, EngagementType.FORM, EngagementType.CALL)


def is_response(e: Engagement) -> bool:
    """We reached them: an outbound email or call, or any meeting."""
    return e.type is EngagementType.MEETING or (
        e.direction == "outbound" and e.type in (EngagementType.EMAIL, EngagementType.CALL)
    )


def marked(e: Engagement, markers: Iterable[str]) -> bool:
    text = f"{e.subject or ''}\n{e.body}".lower()
    return any(m.lower() in text for m in markers)


# "Re:", "RE[2]:", "AW:", "Antw:", "SV:", "R:", "RIF:", "Res:", "回复：", "返信:": a reply in a thread
REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|sv|vs|antw|antwort|r|rif|res|odp|ynt|回复|回覆|答复|返信)"
    r"[ \t]*(?:\[\d+\][ \t]*)?[:：][ \t]*)+",
    re.I,
)


def is_thread_reply(e: Engagement) -> bool:
    """An email that answers another one in its thread (its subject starts with a reply prefix)."""
    return bool(REPLY_PREFIX.match(e.subject or ""))


def thread_subject(subject: str | None) -> str:
    """The subject without its reply and forward prefixes, for matching emails of one thread."""
    text = REPLY_PREFIX.sub("", subject or "")
    return re.sub(r"^\s*((fwd?|wg|tr|rv|enc|i)\s*[:：]\s*)+", "", text, flags=re.I).strip().casefold()


def deal_closed(ctx: RuleContext, deal_id: str | None, *, after: datetime | None = None) -> str | None:
    """'Deal closed won' / 'Deal closed lost' when the watched deal has closed (since `after`, when given:
    an inquiry about a deal lost last year is a new conversation, not a closed one), else None."""
    if not deal_id:
        return None
    deal = ctx.deal(deal_id)
    if deal is None:
        return "The deal no longer exists in the CRM"
    if after is not None and deal.stage in ctx.pipeline.closed and deal.stage_changed_at <= after:
        return None
    if deal.stage in ctx.pipeline.won_stages:
        return f"Deal '{deal.name}' was closed won"
    if deal.stage in ctx.pipeline.lost_stages:
        return f"Deal '{deal.name}' was closed lost"
    return None


def describe(e: Engagement, ctx: RuleContext) -> str:
    what = {
        EngagementType.EMAIL: "an email",
        EngagementType.CALL: "a call",
        EngagementType.MEETING: "a meeting",
        EngagementType.FORM: "a form submission",
        EngagementType.NOTE: "a note",
    }[e.type]
    return f"{what} on {ctx.day(e.occurred_at)}"
