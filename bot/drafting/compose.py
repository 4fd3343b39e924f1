"""The offline drafter's email: written from the facts of the situation, in the lead's language where it has
the wording, and varied so that no two cards read like one template.

What it draws on: what was sent (the proposal's subject and day, the quote and when it ran out), what the
lead asked (their own words, quoted only when they are a buyer, a customer, a partner or press and the text
does not speak to the AI), what the call covered (named by topic, never the rep's notes), how long ago, and
which touch this is. The ask fits the rule, the touch and the class: a quote gets the quote's next step, a
break-up closes the loop, and spam, vendors, recruiters and press get no meeting request. Subjects never
carry the CRM's deal or pipeline names. Every choice between wordings is a hash of the lead and the
situation: the same lead gets the same draft on a rerun, different leads get different ones.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.drafting import language
from bot.drafting.promises import injection
from bot.drafting.redact import redact
from bot.drafting.steps import Classification, DraftText, LeadClass
from bot.drafting.wording import ASKS, EXPANDING, LINES, MONTHS, SIGNOFFS, SUBJECTS, TOPICS, WEEKDAYS, Lang
from bot.records import SYNTHETIC_SUBJECT, Engagement, EngagementType, LeadContext, one_line
from bot.triggers.base import is_thread_reply
from bot.triggers.proposal_no_reply import sent_proposal

RECENT_CALL_DAYS = 14  # "thanks again for our call" only this soon after it
QUOTABLE = {LeadClass.SALES_OPPORTUNITY, LeadClass.EXISTING_CUSTOMER, LeadClass.PARTNERSHIP, LeadClass.PRESS}
NO_MEETING = {LeadClass.SPAM, LeadClass.VENDOR_PITCH, LeadClass.RECRUITING, LeadClass.PRESS}


@dataclass
class Facts:
    """The situation in the drafter's terms."""

    lang: Lang
    first: str
    sender: str
    company: str | None
    rule: str
    cls: LeadClass
    touch: int
    touches: int
    now: datetime
    zone: ZoneInfo
    anchor: Engagement | None = None
    proposal: Engagement | None = None
    topics: list[str] = field(default_factory=list)
    call_topics: list[str] = field(default_factory=list)
    quote_expired: datetime | None = None
    lost_at: datetime | None = None
    days: list[str] = field(default_factory=list)
    excerpt: str | None = None
    expanding: bool = False  # a customer who wants more of it
    answered: bool = False  # a proposal the lead replied to and the rep answered

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.zone)

    def ago(self, at: datetime) -> int:
        return max(0, (self.local(self.now).date() - self.local(at).date()).days)

    def when(self, at: datetime) -> str:
        """'on Tuesday', 'on Tuesday, November 3', 'back in September': the lead's language."""
        local, ago = self.local(at), self.ago(at)
        day, month = WEEKDAYS[self.lang][local.weekday()], MONTHS[self.lang][local.month - 1]
        if ago == 0:
            return LINES[self.lang]["when_today"][0]
        key = (
            "when_week"
            if ago <= 6
            else "when_fortnight"
            if ago <= 13
            else "when_date"
            if ago <= 60
            else "when_month"
        )
        return LINES[self.lang][key][0].format(day=day, d=local.day, month=month)


def _pick(options: list[str], *key: object) -> str:
    digest = hashlib.sha256("|".join(map(str, key)).encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


def _touch(ctx: LeadContext) -> tuple[int, int]:
    found = re.match(r"Touch (\d+) of (\d+)", ctx.reason)
    return (int(found.group(1)), int(found.group(2))) if found else (1, 1)


def _lead_text(ctx: LeadContext, count: int = 3) -> str:
    return " ".join(f"{e.subject or ''} {e.body}" for e in ctx.engagements[:count] if e.is_inbound)


def _topics(text: str) -> list[str]:
    return [name for name, pattern in TOPICS if pattern.search(text or "")]


def _excerpt(text: str, limit: int = 140) -> str | None:
    """The lead's own sentence that carries their request: a question first, else their first sentence."""
    own = language.lead_text(redact(text))
    sentences = [s.strip() for s in re.split(r"(?<=[.!?。？])\s+|\n+", own) if len(s.strip()) > 12]
    sentences = [
        s
        for s in sentences
        if not re.match(r"(hi|hello|hey|dear|hallo|bonjour|hola|olá|ciao|best|thanks|regards)\b", s, re.I)
    ]
    if not sentences:
        return None
    chosen = next((s for s in sentences if s.endswith(("?", "？"))), sentences[0])
    chosen = chosen.rstrip("?？.! ")
    if len(chosen) > limit:
        chosen = chosen[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return chosen.replace('"', "'").replace("“", "'").replace("”", "'")


def _zone(ctx: LeadContext) -> ZoneInfo:
    for name in (ctx.zone, ctx.contact.timezone):
        try:
            if name and "/" in name:
                return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def facts(ctx: LeadContext, cls: Classification) -> Facts:
    inbound = [e for e in ctx.engagements if e.is_inbound]
    wrote = next(
        (c for c in (language.detect(f"{e.subject or ''}\n{e.body}") for e in inbound[:2]) if c), None
    )
    lang: Lang = wrote if wrote in LINES else "en"  # type: ignore[assignment]
    touch, touches = _touch(ctx)
    first = one_line(ctx.contact.first_name, 41)
    sender = one_line(ctx.owner.first_name, 41) if ctx.owner else ""
    company = one_line(ctx.company.name, 81) if ctx.company else ""
    calls = [
        e
        for e in ctx.engagements
        if e.type in (EngagementType.CALL, EngagementType.MEETING) and e.occurred_at <= ctx.as_of
    ]
    proposal = next((e for e in ctx.engagements if sent_proposal(e)), None)
    if ctx.rule == "inbound_no_response" and inbound:
        anchor: Engagement | None = inbound[0]
    elif ctx.rule in ("call_no_next_step", "stale_deal") and calls:
        anchor = calls[0]
    elif ctx.rule == "proposal_no_reply" and proposal:
        anchor = proposal
    else:
        # the last real interaction, never one on the calendar ahead
        anchor = next(
            (e for e in ctx.engagements if e.type is not EngagementType.NOTE and e.occurred_at <= ctx.as_of),
            None,
        )
    notes = " ".join(e.body for e in calls[:2])
    quotable = cls.label in QUOTABLE and not any(injection(f"{e.subject or ''}\n{e.body}") for e in inbound)
    excerpt = _excerpt(inbound[0].body) if inbound and quotable else None
    lead_words = _lead_text(ctx)
    deal = ctx.deal
    return Facts(
        lang=lang,
        first=first if 0 < len(first) <= 40 else "",
        sender=sender if 0 < len(sender) <= 40 else "",
        company=company if 0 < len(company) <= 80 else None,
        rule=ctx.rule,
        cls=cls.label,
        touch=touch,
        touches=touches,
        now=ctx.as_of,
        zone=_zone(ctx),
        anchor=anchor,
        proposal=proposal,
        topics=_topics(lead_words),
        call_topics=[t for t in _topics(notes) if t != "support"][:2],
        quote_expired=deal.quote_expires_at
        if deal and deal.quote_expires_at and deal.quote_expires_at <= ctx.as_of
        else None,
        lost_at=(deal.close_date or deal.stage_changed_at)
        if deal and ctx.rule == "closed_lost_nurture"
        else None,
        days=[WEEKDAYS[lang][d.weekday()] for d in ctx.workdays_ahead[:3]],
        excerpt=excerpt,
        expanding=bool(EXPANDING.search(lead_words)),
        answered=ctx.rule == "proposal_no_reply" and "got your answer" in ctx.reason,
    )


def situation(f: Facts) -> str:
    """Which ask this is: the rule, the touch and the class decide."""
    if f.touch > 1 and f.touch == f.touches:
        return "breakup"
    if f.rule == "inbound_no_response":
        if f.cls is LeadClass.SALES_OPPORTUNITY:
            for topic in ("demo", "pricing", "integration", "security"):
                if topic in f.topics:
                    return f"inbound_{topic}"
            return "inbound_sales"
        if f.cls is LeadClass.EXISTING_CUSTOMER:
            return "inbound_expand" if f.expanding else "inbound_customer"
        return f"inbound_{f.cls.value}"
    if f.rule == "proposal_no_reply":
        if f.touch > 1:
            return "proposal_again"
        # they replied with questions and got the rep's answer: the silence is after that answer
        return "proposal_answered" if f.answered else "proposal"
    if f.rule == "quote_expired":
        return "quote"
    if f.rule == "call_no_next_step":
        return "call_recent" if f.anchor and f.ago(f.anchor.occurred_at) <= RECENT_CALL_DAYS else "call_old"
    if f.rule == "stale_deal":
        return "stale_again" if f.touch > 1 else "stale"
    if f.rule == "closed_lost_nurture":
        return "nurture"
    return "general"


def _fill(template: str, f: Facts, extra: dict[str, str]) -> str:
    words = {
        "first": f.first,
        "company": f.company or LINES[f.lang]["your_team"][0],
        "day1": f.days[0] if f.days else WEEKDAYS[f.lang][1],
        "day2": f.days[1] if len(f.days) > 1 else WEEKDAYS[f.lang][3],
        "topic": _topic_words(f, f.topics),
        "covered": _topic_words(f, f.call_topics),
        **extra,
    }
    return template.format(**words)


def _topic_words(f: Facts, topics: list[str]) -> str:
    names = [LINES[f.lang][f"topic_{t}"][0] for t in topics[:2] if f"topic_{t}" in LINES[f.lang]]
    if not names:
        return LINES[f.lang]["topic_general"][0]
    return f" {LINES[f.lang]['and'][0]} ".join(names)


def compose(ctx: LeadContext, cls: Classification, *, breakup: bool = False) -> DraftText:
    """The draft. (A lead writing in a language without wording here gets English, and the guardrails flag
    the mismatch on the card.)"""
    f = facts(ctx, cls)
    what = "breakup" if breakup else situation(f)
    key = (ctx.contact.id, ctx.rule, f.touch)
    lines = LINES[f.lang]
    extra: dict[str, str] = {}
    if f.anchor is not None:
        extra["when"] = f.when(f.anchor.occurred_at)
        # "since Wednesday", "since 3 November": the date without its preposition
        extra["when_short"] = re.sub(r"^(on|back in|am|im|le|el|en)\s+", "", extra["when"])
        own = f.anchor.subject if f.anchor.type is EngagementType.EMAIL else None
        extra["subject"] = one_line(own, 80) or lines["your_message"][0]
    if f.proposal is not None:
        extra["sent_when"] = f.when(f.proposal.occurred_at)
        extra["proposal"] = one_line(
            re.sub(r"^\s*(re|fwd?|aw|wg)\s*:\s*", "", f.proposal.subject or "", flags=re.I), 80
        )
    if f.quote_expired is not None:
        extra["expired_when"] = f.when(f.quote_expired)
    if f.lost_at is not None:
        local = f.local(f.lost_at)
        extra["lost_month"] = MONTHS[f.lang][local.month - 1]
    extra["excerpt"] = f.excerpt or ""

    greeting = (
        _pick(lines["greet"], *key, "greet").format(first=f.first) if f.first else lines["greet_anon"][0]
    )
    reference = _reference(f, what, extra, key)
    if f.lang != "de":  # German goes on in lower case after "Hallo Anna,"; the others start a sentence
        reference = reference[:1].upper() + reference[1:]
    value = _value(f, what, extra, key)
    ask = _fill(_pick(ASKS[f.lang].get(what) or ASKS[f.lang]["general"], *key, "ask"), f, extra)
    signoff = _pick(SIGNOFFS[f.lang], *key, "signoff")
    body_lines = [greeting, "", reference]
    if value:
        body_lines[-1] = f"{reference} {value}"
    body_lines += ["", ask, "", signoff, f.sender or lines["the_team"][0]]
    subject = _fill(
        _pick(SUBJECTS[f.lang].get(what) or SUBJECTS[f.lang]["general"], *key, "subject"), f, extra
    )
    if what.startswith("proposal") and extra.get("proposal"):
        subject = f"Re: {extra['proposal']}"
    elif (
        what != "breakup"
        and ctx.rule == "inbound_no_response"
        and f.anchor is not None
        and f.anchor.subject
        and not f.anchor.subject.startswith(SYNTHETIC_SUBJECT)  # our label for a form fill, not theirs
        and not is_thread_reply(f.anchor)
    ):
        subject = f"Re: {one_line(f.anchor.subject, 150)}"
    used = [f.anchor.id] if f.anchor else []
    used += [e.id for e in ctx.engagements[:3] if e.id not in used]
    text = DraftText(
        subject=one_line(subject, 200) or "Re:",
        body="\n".join(body_lines),
        ask=one_line(ask, 400),
        source_ids=used[:5],
    )
    return text


def _reference(f: Facts, what: str, extra: dict[str, str], key: tuple[object, ...]) -> str:
    """The sentence that names the real last interaction."""
    lines = LINES[f.lang]
    if f.anchor is None:
        return _fill(_pick(lines["ref_none"], *key, "ref"), f, extra)
    if what == "breakup":
        slot = "ref_breakup"
    elif what.startswith("inbound_"):
        slot = "ref_inbound_quote" if f.excerpt else "ref_inbound"
    elif what.startswith("proposal") and f.proposal is not None:
        slot = {"proposal_again": "ref_proposal_again", "proposal_answered": "ref_proposal_answered"}.get(
            what, "ref_proposal"
        )
        if slot not in lines:  # a language without this wording: the plain proposal reference
            slot = "ref_proposal"
    elif what == "quote" and "expired_when" in extra:
        slot = "ref_quote"
    elif what in ("call_recent", "stale") and f.anchor.type in (EngagementType.CALL, EngagementType.MEETING):
        slot = "ref_call_recent" if f.ago(f.anchor.occurred_at) <= RECENT_CALL_DAYS else "ref_call_old"
    elif what == "call_old":
        slot = "ref_call_old"
    elif what == "nurture" and "lost_month" in extra:
        slot = "ref_nurture"
    elif f.anchor.is_inbound:
        slot = "ref_inbound"
    elif f.anchor.type in (EngagementType.CALL, EngagementType.MEETING):
        # a call or meeting is named by its day, never by its title: that is the rep's label, not the lead's
        slot = "ref_call_recent" if f.ago(f.anchor.occurred_at) <= RECENT_CALL_DAYS else "ref_call_old"
    else:
        slot = "ref_sent"
    return _fill(_pick(lines[slot], *key, "ref"), f, extra)


def _value(f: Facts, what: str, extra: dict[str, str], key: tuple[object, ...]) -> str:
    """At most one sentence tied to their situation (none where it would only pad)."""
    lines = LINES[f.lang]
    slot = {
        "call_recent": "value_covered",
        "call_old": "value_covered",
        "stale": "value_stale",
        "stale_again": "value_stale",
        "proposal_again": "value_proposal",
        "quote": "value_quote",
        "nurture": "value_nurture",
        "inbound_customer": "value_customer",
        "inbound_expand": "value_customer",
    }.get(what)
    if slot is None or slot not in lines:
        return ""
    if slot == "value_covered" and not f.call_topics:
        return ""
    text = _fill(_pick(lines[slot], *key, "value"), f, extra)
    return text[:1].upper() + text[1:]
