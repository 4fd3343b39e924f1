"""The offline drafter: writes a context-aware draft from the CRM notes by rules, no model needed."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.drafting.redact import redact
from bot.records import DraftOutput, Engagement, EngagementType, LeadContext, Urgency, one_line
from bot.triggers.registry import BY_NAME

CLASSES = [
    ("pricing question", re.compile(r"\b(price|pricing|cost|quote|budget)\b", re.I)),
    ("demo request", re.compile(r"\b(demo|walkthrough|see it|trial)\b", re.I)),
    ("support issue", re.compile(r"\b(bug|broken|error|support|not working)\b", re.I)),
    ("partnership", re.compile(r"\b(partner|partnership|reseller|referral)\b", re.I)),
    ("integration question", re.compile(r"\b(integrat\w*|api|salesforce|hubspot|sso)\b", re.I)),
]

INQUIRY_ASKS = {
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


def classify(ctx: LeadContext) -> str:
    text = " ".join(e.body for e in ctx.engagements[:3] if e.is_inbound) or " ".join(
        e.body for e in ctx.engagements[:2]
    )
    for label, pattern in CLASSES:
        if pattern.search(text):
            return label
    if ctx.rule == "stale_deal" and ctx.deal:
        return f"stalled deal — {ctx.deal.stage}"
    return "general inquiry"


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


def _urgency(ctx: LeadContext, classification: str) -> Urgency:
    if ctx.rule == "inbound_no_response":
        return Urgency.HIGH if classification in ("demo request", "pricing question") else Urgency.MEDIUM
    if ctx.deal and (ctx.deal.amount or 0) >= 50_000:
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


def _reference(anchor: Engagement) -> str:
    """One line that names the real last interaction. Only the lead's own words are ever quoted back to them:
    a call or meeting body is the rep's internal note, so the draft names the conversation, not its notes."""
    when = _day(anchor.occurred_at)
    title = one_line(anchor.subject, 80)
    if anchor.type in (EngagementType.CALL, EngagementType.MEETING):
        what = "call" if anchor.type is EngagementType.CALL else "meeting"
        about = f' ("{title}")' if title else ""
        return f"Thanks again for our {what} on {when}{about}."
    if anchor.is_inbound:
        return f'Thanks for your message on {when}. You wrote: "{_excerpt(redact(anchor.body))}".'
    return f'On {when} I sent over "{title or "a note"}".'


class OfflineDrafter:
    name = "offline"
    model: str | None = None
    prompt_version: str | None = "offline-rules/1"

    def draft(self, context: LeadContext) -> DraftOutput:
        ctx = context
        label = classify(ctx)
        first = _name(ctx.contact.first_name, 40) or "there"
        sender = (_name(ctx.owner.first_name, 40) if ctx.owner else "") or "The team"
        company = (_name(ctx.company.name, 80) if ctx.company else "") or "your team"
        anchor = _anchor(ctx)
        reference = _reference(anchor) if anchor else f"I wanted to follow up on {company}'s interest."
        days = [f"{d:%A}" for d in ctx.workdays_ahead[:2]] or _next_weekdays(ctx.as_of)

        rule = BY_NAME.get(ctx.rule)
        subject, goal = rule.offline_ask(ctx) if rule else ("Following up", "")
        if not goal:  # an inquiry: its own topic decides the ask
            goal = INQUIRY_ASKS.get(label, "understand what you need and point you to the right option")

        ask = f"Would 20 minutes on {days[0]} or {days[1]} work to {goal}?"
        body = f"Hi {first},\n\n{reference}\n\n{ask}\n\nBest,\n{sender}"

        if anchor:
            summary = (
                f"{ctx.contact.name}{', ' + ctx.contact.title if ctx.contact.title else ''} at {company}. "
                f"{ctx.reason}. Last: {anchor.label()} on {anchor.occurred_at:%b %d} — "
                f'"{_excerpt(redact(anchor.body), 120)}".'
            )
        else:
            summary = f"{ctx.contact.name} at {company}. {ctx.reason}. No history in the CRM yet."
        return DraftOutput.fit(
            summary=summary,
            classification=label,
            urgency=_urgency(ctx, label),
            missing_information=missing_information(ctx),
            subject=subject,
            body=body,
            sources=[e.ref() for e in ctx.engagements[:5]],
        )
