"""The offline path: every pipeline step answered from the CRM records by rules and the shipped classifier,
with no account and no download. Each function returns the same model the Claude step does."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.drafting import classifier
from bot.drafting.promises import injection
from bot.drafting.redact import redact
from bot.drafting.signals import escalation_signals
from bot.drafting.steps import Classification, DraftText, Evidence, Extraction, LeadClass, Scores, Summary
from bot.records import Engagement, EngagementType, LeadContext, Urgency, one_line
from bot.triggers.registry import BY_NAME

TOPICS = [
    ("pricing question", re.compile(r"\b(price|pricing|cost|quote|budget)\b", re.I)),
    ("demo request", re.compile(r"\b(demo|walkthrough|see it|trial)\b", re.I)),
    ("support issue", re.compile(r"\b(bug|broken|error|support|not working)\b", re.I)),
    ("partnership", re.compile(r"\b(partner|partnership|reseller|referral)\b", re.I)),
    ("integration question", re.compile(r"\b(integrat\w*|api|salesforce|hubspot|sso)\b", re.I)),
]

TOPIC_ASKS = {
    "pricing question": "walk you through the options that fit your team",
    "demo request": "show you the parts that matter for your team",
    "support issue": "get this sorted with the right person on our side",
    "partnership": "see whether a partnership makes sense for both sides",
    "integration question": "go through how it would connect to your stack",
}


# "about 300 employees", "a team of 40", "40 dispatchers", "a 12-person team": the lead told us their size
TEAM_SIZE = re.compile(
    r"\b(\d[\d,]*\+?\s*(employees|people|staff|seats|users|reps|agents|dispatchers|engineers)|team of \d+|"
    r"\d+[- ]person)\b",
    re.I,
)


def _excerpt(text: str, limit: int = 160) -> str:
    """The first sentence or so of a note, trimmed at a word boundary."""
    clean = " ".join(text.split())
    first = re.split(r"(?<=[.!?])\s", clean, maxsplit=1)[0]
    if len(first) <= limit:
        return first.rstrip(".")
    cut = first[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _name(text: str | None, limit: int) -> str:
    """A name to greet or sign with; one that is no name at all (a paragraph pasted into the field) is
    left out rather than cut."""
    name = one_line(text, limit + 1)
    return "" if len(name) > limit else name


def _day(at: datetime) -> str:
    return f"{at:%A}, {at:%B} {at.day}"


def _next_weekdays(after: datetime, count: int = 2) -> list[str]:
    days: list[str] = []
    d = after
    while len(days) < count:
        d += timedelta(days=1)
        if d.weekday() < 5:
            days.append(f"{d:%A}")
    return days


def _inquiry(ctx: LeadContext) -> Engagement | None:
    return next((e for e in ctx.engagements if e.is_inbound), None)


def _lead_words(ctx: LeadContext, count: int = 3) -> str:
    return " ".join(f"{e.subject or ''} {e.body}" for e in ctx.engagements[:count] if e.is_inbound)


def topic(ctx: LeadContext) -> str | None:
    """What an inquiry is about, for the ask: pricing, a demo, support, a partnership, an integration."""
    text = _lead_words(ctx)
    return next((label for label, pattern in TOPICS if pattern.search(text)), None)


def classify(ctx: LeadContext) -> Classification:
    inquiry = _inquiry(ctx)
    if ctx.rule != "inbound_no_response" or inquiry is None:
        stage = f" in stage {one_line(ctx.deal.stage, 60)}" if ctx.deal else ""
        return Classification(
            label=LeadClass.SALES_OPPORTUNITY,
            confidence=0.9 if ctx.deal else 0.6,
            reason=one_line(f"A lead in the sales pipeline{stage}; flagged because {ctx.reason}.", 300),
        )
    source = "web_form" if inquiry.type is EngagementType.FORM else inquiry.type.value
    text = f"{inquiry.subject or ''}\n{inquiry.body}"
    return classifier.classify(text, source)


def missing_information(ctx: LeadContext) -> list[str]:
    missing = []
    history = " ".join(e.body for e in ctx.engagements).lower()
    if not ctx.contact.title:
        missing.append("Contact's role")
    if not ctx.contact.phone:
        missing.append("Phone number")
    if ctx.company is None:
        missing.append("Company")
    elif ctx.company.employees is None and not TEAM_SIZE.search(history):
        missing.append("Company size")
    if not re.search(r"\b(timeline|by q[1-4]|deadline|this quarter|next quarter|go-live)\b", history):
        missing.append("Timeline")
    if not re.search(r"\b(budget|\$\d|price|pricing)\b", history):
        missing.append("Budget")
    if ctx.deal is not None and ctx.deal.amount is None:
        missing.append("Deal amount")
    return missing


URGENT = re.compile(
    r"\b(asap|urgent|urgently|this week|today|tomorrow|deadline|by (the )?end of|before (q[1-4]|the)|"
    r"this month|right away|locked out|outage|down)\b",
    re.I,
)
INTENT = re.compile(
    r"\b(demo|pricing|price|quote|proposal|trial|pilot|next steps?|move forward|buy|purchase|contract|seats|"
    r"evaluat\w*|shortlist\w*|compare|budget)\b",
    re.I,
)


def _phrases(pattern: re.Pattern[str], text: str, limit: int = 3) -> list[str]:
    """Short quotes around each match, the evidence a score rests on."""
    found: list[str] = []
    for m in pattern.finditer(text):
        start = max(0, text.rfind(" ", 0, max(0, m.start() - 25)) + 1)
        end = text.find(" ", min(len(text), m.end() + 25))
        quote = " ".join(text[start : end if end > 0 else len(text)].split())
        if quote and quote not in found:
            found.append(quote)
        if len(found) == limit:
            break
    return found


def _urgency(ctx: LeadContext, high_value: float) -> Urgency:
    words = _lead_words(ctx)
    if URGENT.search(words):
        return Urgency.HIGH
    if ctx.rule == "inbound_no_response":
        return Urgency.HIGH if topic(ctx) in ("demo request", "pricing question") else Urgency.MEDIUM
    if ctx.deal and (ctx.deal.amount or 0) >= high_value:
        return Urgency.HIGH
    return Urgency.MEDIUM


def _anchor(ctx: LeadContext) -> Engagement | None:
    """The interaction the draft refers to: the unanswered inquiry, else the last real conversation, else the
    last thing we sent. Notes are the team's own memos, never an interaction with the lead."""
    if ctx.rule == "inbound_no_response":
        inbound = [e for e in ctx.engagements if e.is_inbound]
        if inbound:
            return inbound[0]
    talk = [e for e in ctx.engagements if e.type in (EngagementType.CALL, EngagementType.MEETING)]
    if talk:
        return talk[0]
    return next((e for e in ctx.engagements if e.type is not EngagementType.NOTE), None)


def _reference(anchor: Engagement, *, quote: bool = True) -> str:
    """One line that names the real last interaction. Only the lead's own words are ever quoted back to them:
    a call or meeting body is the rep's internal note, so the draft names the conversation, not its notes."""
    when = _day(anchor.occurred_at)
    title = one_line(anchor.subject, 80)
    if anchor.type in (EngagementType.CALL, EngagementType.MEETING):
        what = "call" if anchor.type is EngagementType.CALL else "meeting"
        about = f' ("{title}")' if title else ""
        return f"Thanks again for our {what} on {when}{about}."
    if anchor.is_inbound and not quote:
        return f"Thanks for your message on {when}."
    if anchor.is_inbound:
        return f'Thanks for your message on {when}. You wrote: "{_excerpt(redact(anchor.body))}".'
    return f'On {when} I sent over "{title or "a note"}".'


def extract(ctx: LeadContext, *, high_value: float = 50_000) -> Extraction:
    words = redact(_lead_words(ctx, 5))
    size = TEAM_SIZE.search(" ".join(e.body for e in ctx.engagements))
    team = (
        f"{ctx.company.employees} employees"
        if ctx.company and ctx.company.employees
        else (size.group(0) if size else None)
    )
    use = re.search(
        r"[^.!?\n]*\b(looking for|need|want|evaluat\w*|replace|interested in)\b[^.!?\n]*", words, re.I
    )
    fit = None
    if ctx.company or team:
        fit = (
            "B2B team" + (f" of {team}" if team else "") + (f" at {ctx.company.name}" if ctx.company else "")
        )
    return Extraction(
        company=one_line(ctx.company.name, 200) if ctx.company else None,
        role=one_line(ctx.contact.title, 200) if ctx.contact.title else None,
        use_case=one_line(use.group(0), 400) if use else None,
        urgency=_urgency(ctx, high_value),
        team_size=one_line(team, 100) if team else None,
        geography=None,
        source=one_line(ctx.contact.lead_source, 100) if ctx.contact.lead_source else None,
        likely_fit=one_line(fit, 300) if fit else None,
        still_needed=missing_information(ctx),
    )


def score(ctx: LeadContext, cls: Classification, ext: Extraction) -> Scores:
    words = redact(_lead_words(ctx, 5))
    fit_evidence = [x for x in (ext.team_size, ext.company, ext.role) if x][:3]
    fit = 20 + 20 * len(fit_evidence) if cls.label is LeadClass.SALES_OPPORTUNITY else 10
    intent_evidence = _phrases(INTENT, words)
    intent = min(100, 25 * len(intent_evidence) + (30 if ctx.deal else 0))
    urgency_evidence = _phrases(URGENT, words)
    urgency = min(100, 35 * len(urgency_evidence) + (20 if ext.urgency is Urgency.HIGH else 0))
    if ctx.deal:
        intent_evidence.append(f"deal {ctx.deal.name} in {ctx.deal.stage}")
    return Scores(
        fit=Evidence(score=min(fit, 100), evidence=fit_evidence),
        intent=Evidence(score=intent if intent_evidence else min(intent, 20), evidence=intent_evidence[:5]),
        urgency=Evidence(score=urgency if urgency_evidence else min(urgency, 20), evidence=urgency_evidence),
    )


def summarize(ctx: LeadContext, cls: Classification, ext: Extraction, high_value: float = 50_000) -> Summary:
    company = ext.company or "an unknown company"
    who = f"{ctx.contact.name}{', ' + ext.role if ext.role else ''} at {company}"
    wants = f" — {ext.use_case}" if ext.use_case else ""
    anchor = _anchor(ctx)
    last = f"{one_line(ctx.reason, 200)}."
    if anchor is None:
        last += " No history in the CRM yet."
    elif f"{anchor.occurred_at:%d %b}".lstrip("0") not in ctx.reason:
        last += f" Last: {anchor.label()} on {anchor.occurred_at:%a %d %b}."
    signal = next((f for f in escalation_signals(ctx, high_value) if f), None)
    watch = signal or cls.reason
    return Summary(lines=[one_line(f"{who}{wants}", 300), one_line(last, 300), one_line(watch, 300)])


QUOTABLE = {
    LeadClass.SALES_OPPORTUNITY,
    LeadClass.EXISTING_CUSTOMER,
    LeadClass.PARTNERSHIP,
    LeadClass.PRESS,
}
CLASS_ASKS = {
    LeadClass.EXISTING_CUSTOMER: "get this to the right person on our side",
    LeadClass.PARTNERSHIP: "see whether working together makes sense for both sides",
    LeadClass.PRESS: "find the right person for your questions",
}


def _days(ctx: LeadContext) -> list[str]:
    return [f"{d:%A}" for d in ctx.workdays_ahead[:2]] or _next_weekdays(ctx.as_of)


def _people(ctx: LeadContext) -> tuple[str, str, str]:
    first = _name(ctx.contact.first_name, 40) or "there"
    sender = (_name(ctx.owner.first_name, 40) if ctx.owner else "") or "The team"
    company = (_name(ctx.company.name, 80) if ctx.company else "") or "your team"
    return first, sender, company


def draft(ctx: LeadContext, cls: Classification) -> DraftText:
    first, sender, company = _people(ctx)
    anchor = _anchor(ctx)
    # a message that is spam, a pitch, too vague, or that speaks to the AI is not quoted back to its sender
    quote = cls.label in QUOTABLE and not (anchor and injection(f"{anchor.subject or ''}\n{anchor.body}"))
    reference = (
        _reference(anchor, quote=quote) if anchor else f"I wanted to follow up on {company}'s interest."
    )
    days = _days(ctx)
    rule = BY_NAME.get(ctx.rule)
    subject, goal = rule.offline_ask(ctx) if rule else ("Following up", "")
    if cls.label is LeadClass.NOT_ENOUGH_INFORMATION:
        ask = "Could you tell me a bit more about what you need, so I can point you to the right person?"
    else:
        if not goal:  # an inquiry: its own topic (or class) decides the ask
            goal = CLASS_ASKS.get(cls.label) or TOPIC_ASKS.get(
                topic(ctx) or "", "understand what you need and point you to the right option"
            )
        ask = f"Would 20 minutes on {days[0]} or {days[1]} work to {goal}?"
    body = f"Hi {first},\n\n{reference}\n\n{ask}\n\nBest,\n{sender}"
    used = [anchor.id] if anchor else []
    used += [e.id for e in ctx.engagements[:3] if e.id not in used]
    return DraftText(
        subject=one_line(subject, 200) or "Following up", body=body, ask=ask, source_ids=used[:5]
    )


def breakup(ctx: LeadContext) -> DraftText:
    """The last touch of a sequence: names what they were looking at and when, closes the loop kindly."""
    first, sender, company = _people(ctx)
    anchor = _anchor(ctx)
    what = f"the {ctx.deal.name} proposal" if ctx.deal else f"{company}'s enquiry"
    since = f" since {_day(anchor.occurred_at)}" if anchor else ""
    ask = "If the timing is just wrong, is a one-word reply (\u201clater\u201d) something you could send me?"
    body = (
        f"Hi {first},\n\nI have not heard back about {what}{since}, so I will stop following up and assume "
        f"it is not a priority right now.\n\n{ask}\n\nBest,\n{sender}"
    )
    return DraftText(
        subject=one_line(f"Closing the loop on {what}", 200),
        body=body,
        ask=ask,
        source_ids=[anchor.id] if anchor else [],
    )
