"""The offline path: every pipeline step answered from the CRM records by rules and the shipped classifier,
with no account and no download. Each function returns the same model the Claude step does."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from bot.drafting import classifier
from bot.drafting.compose import compose
from bot.drafting.redact import redact
from bot.drafting.signals import escalation_signals
from bot.drafting.steps import Classification, DraftText, Evidence, Extraction, LeadClass, Scores, Summary
from bot.records import SYNTHETIC_SUBJECT, Engagement, EngagementType, LeadContext, Urgency, one_line

TOPICS = [
    ("pricing question", re.compile(r"\b(price|pricing|cost|quote|budget)\b", re.I)),
    ("demo request", re.compile(r"\b(demo|walkthrough|see it|trial)\b", re.I)),
    ("support issue", re.compile(r"\b(bug|broken|error|support|not working)\b", re.I)),
    ("partnership", re.compile(r"\b(partner|partnership|reseller|referral)\b", re.I)),
    ("integration question", re.compile(r"\b(integrat\w*|api|salesforce|hubspot|sso)\b", re.I)),
]


# "about 300 employees", "a team of 40", "40 dispatchers", "a 12-person team": the lead told us their size
TEAM_SIZE = re.compile(
    r"\b(\d[\d,]*\+?\s*(employees|people|staff|seats|users|reps|agents|dispatchers|engineers)|team of \d+|"
    r"\d+[- ]person)\b",
    re.I,
)


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
    subject = "" if (inquiry.subject or "").startswith(SYNTHETIC_SUBJECT) else inquiry.subject or ""
    text = f"{subject}\n{inquiry.body}"
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
    else:
        local = anchor.occurred_at.astimezone(ZoneInfo(ctx.zone)) if ctx.zone else anchor.occurred_at
        if f"{local.day} {local:%b}" not in ctx.reason:  # the reason's dates are in the team's zone too
            last += f" Last: {anchor.label()} on {local:%a} {local.day} {local:%b}."
    signal = next((f for f in escalation_signals(ctx, high_value) if f), None)
    watch = signal or cls.reason
    return Summary(lines=[one_line(f"{who}{wants}", 300), one_line(last, 300), one_line(watch, 300)])


def draft(ctx: LeadContext, cls: Classification) -> DraftText:
    """The follow-up email, from the facts of the situation (bot.drafting.compose)."""
    return compose(ctx, cls)


def breakup(ctx: LeadContext) -> DraftText:
    """The last touch of a sequence: names what they were looking at and when, closes the loop kindly."""
    return compose(ctx, classify(ctx), breakup=True)
