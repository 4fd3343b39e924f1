"""The offline drafter: writes a context-aware draft from the CRM notes by rules, no model needed."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

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
    elif ctx.company.employees is None:
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
    """The interaction the draft refers to: the unanswered inquiry, else the last real conversation."""
    if ctx.rule == "inbound_no_response":
        inbound = [e for e in ctx.engagements if e.is_inbound]
        if inbound:
            return inbound[0]
    talk = [e for e in ctx.engagements if e.type in (EngagementType.CALL, EngagementType.MEETING)]
    return talk[0] if talk else ctx.last_interaction


def _reference(anchor: Engagement) -> str:
    quote = _excerpt(anchor.body)
    when = _day(anchor.occurred_at)
    if anchor.type in (EngagementType.CALL, EngagementType.MEETING):
        return f'When we spoke on {when}, you mentioned: "{quote}".'
    if anchor.is_inbound:
        return f'Thanks for your message on {when}. You wrote: "{quote}".'
    if anchor.type is EngagementType.NOTE:
        return f'Picking up from {when}, where we left it: "{quote}".'
    return f'On {when} I sent over "{one_line(anchor.subject, 120) or quote}".'


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
        days = _next_weekdays(ctx.as_of)

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
                f'"{_excerpt(anchor.body, 120)}".'
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
