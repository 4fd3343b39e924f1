"""Escalation signals in what the lead wrote (and in the deal): when one is present, a manager or a specialist
should probably see the follow-up before it goes out, and the card offers Escalate first."""

from __future__ import annotations

import re

from bot.drafting.redact import sensitive_in
from bot.records import LeadContext

PREFIX = "Escalation signal"
HIGH_VALUE = 50_000  # the default of [drafting] high_value_amount

SIGNALS: dict[str, re.Pattern[str]] = {
    "an unhappy customer": re.compile(
        r"\b(unacceptable|furious|angry|frustrat\w+|disappointed|terrible|worst|fed up|complain\w*"
        r"|cancel (my|our) (account|subscription|contract))\b",
        re.I,
    ),
    "legal risk": re.compile(
        r"\b(lawyers?|attorneys?|legal action|lawsuit|sue|litigation|breach of contract|gdpr request)\b", re.I
    ),
    "a billing conflict": re.compile(
        r"\b(overcharged|double[- ]charged|chargeback|billing (issue|error|dispute)|wrong invoice"
        r"|invoice (is|was) wrong|dispute (the|this|our) (charge|invoice))\b",
        re.I,
    ),
    "urgent support": re.compile(
        r"\b(outage|is down|are down|not working|stopped working|urgent(ly)?|asap"
        r"|critical issue|production issue)\b",
        re.I,
    ),
    "unclear scope": re.compile(
        r"\b(rfp|request for proposal|custom (build|development|integration)|bespoke"
        r"|not sure (what|which) we need)\b",
        re.I,
    ),
}


def escalation_signals(ctx: LeadContext, high_value: float = HIGH_VALUE) -> list[str]:
    """The signals, each as a review flag naming what was found."""
    text = "\n".join(f"{e.subject or ''}\n{e.body}" for e in ctx.engagements[:5] if e.is_inbound)
    found = []
    for what, pattern in SIGNALS.items():
        match = pattern.search(text)
        if match:
            found.append(f"{PREFIX}: {what} (“{match.group(0)}”).")
    private = sensitive_in(text)
    if private:
        found.append(f"{PREFIX}: private data in the lead's message ({', '.join(private)}).")
    if ctx.deal and (ctx.deal.amount or 0) >= high_value:
        found.append(f"{PREFIX}: a high-value deal ({ctx.deal.amount:,.0f}).")
    return found


def has_signal(review_flags: list[str]) -> bool:
    return any(flag.startswith(PREFIX) for flag in review_flags)
