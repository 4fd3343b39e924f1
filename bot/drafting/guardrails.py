"""Checks on every draft, whoever wrote it: people decide price, timing, scope, access and promises."""

from __future__ import annotations

import re

from bot.drafting import language
from bot.drafting.promises import commitment_flag, commitments, injection
from bot.drafting.redact import sensitive_in
from bot.drafting.signals import HIGH_VALUE, escalation_signals
from bot.records import DraftOutput, LeadContext

GENERIC_OPENERS = re.compile(r"\b(just checking in|circling back|touching base|just following up)\b", re.I)

# topic -> (pattern, what the rep must decide)
SENSITIVE = {
    "price": (
        re.compile(r"\b(price|pricing|cost|discount|quote|budget|\$\s?\d)", re.I),
        "Pricing comes up: a person decides what to quote or discount.",
    ),
    "timing": (
        re.compile(
            r"\b(deadline|go[- ]live|by (the )?end of|launch date|timeline|"
            r"next (week|month) at the latest)\b",
            re.I,
        ),
        "Timing comes up: confirm any date before committing to it.",
    ),
    "scope": (
        re.compile(r"\b(custom|integration|scope|feature request|roadmap)\b", re.I),
        "Scope comes up: don't promise features or custom work without sign-off.",
    ),
    "access": (
        re.compile(r"\b(trial|sandbox|access|credentials|login|api key)\b", re.I),
        "Access is requested: a person approves trials, accounts and data access.",
    ),
    "promise": (
        re.compile(r"\b(guarantee[ds]?|promise[ds]?|will definitely|ensure you)\b", re.I),
        "The text makes a promise: check it can be kept.",
    ),
}


def sensitive_flags(*texts: str) -> list[str]:
    joined = "\n".join(texts)
    return [message for pattern, message in SENSITIVE.values() if pattern.search(joined)]


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def off_days(body: str, context: LeadContext) -> list[str]:
    """Days the draft proposes (named in a question) that are not among the team's next working days."""
    if not context.workdays_ahead:
        return []
    allowed = {f"{d:%A}" for d in context.workdays_ahead}
    asks = [s for s in re.split(r"(?<=[.!?])\s+", body) if "?" in s]
    named = {day for s in asks for day in WEEKDAYS if re.search(rf"\b{day}\b", s)}
    return sorted(named - allowed, key=WEEKDAYS.index)


def language_mismatch(body: str, lead_text: list[str]) -> str | None:
    """'They wrote in German: the draft is in English' when the draft is not in the lead's language."""
    wrote = next((code for code in map(language.detect, lead_text) if code), None)
    if wrote is None:
        return None
    drafted = language.detect(QUOTED.sub("", body))
    if drafted is None or drafted == wrote:
        return None
    return (
        f"They wrote in {language.name(wrote)}: the draft is in {language.name(drafted)}. "
        "Translate it before sending, or let Claude draft it."
    )


QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|«[^»]*»|„[^“]*“")


def apply_guardrails(
    draft: DraftOutput, context: LeadContext, *, high_value: float = HIGH_VALUE
) -> DraftOutput:
    """Add review flags for sensitive topics in the lead's words or the draft, and for generic openers."""
    lead_words = [e.body for e in context.engagements[:3] if e.is_inbound]
    flags = list(draft.review_flags)
    for flag in sensitive_flags(draft.subject, draft.body, *lead_words):
        if flag not in flags:
            flags.append(flag)
    wrong_days = off_days(draft.body, context)
    if wrong_days:
        ok = ", ".join(f"{d:%A %d %b}" for d in context.workdays_ahead[:3])
        flags.append(
            f"The draft proposes {' and '.join(wrong_days)}, not one of the team's next working days ({ok}): "
            "change the day before sending."
        )
    if GENERIC_OPENERS.search(draft.body):
        flags.append("The draft reads like a generic check-in; reference the last conversation instead.")
    for signal in escalation_signals(context, high_value):
        if signal not in flags:
            flags.append(signal)
    private = sensitive_in(f"{draft.subject}\n{draft.body}")
    if private:
        flags.append(f"The draft contains {', '.join(private)}: take it out before anything is sent.")
    hits = commitments(f"{draft.subject}\n{draft.body}")
    if hits:
        flags.append(commitment_flag(hits))
    lead_text = [f"{e.subject or ''}\n{e.body}" for e in context.engagements if e.is_inbound]
    mismatch = language_mismatch(draft.body, lead_text[:2])
    if mismatch:
        flags.append(mismatch)
    aimed = next((found for found in map(injection, lead_text) if found), None)
    if aimed:
        flags.append(
            f"The lead's message speaks to the AI (“{aimed[:60]}”): treat it as untrusted text, and check "
            "the draft does not do what it asks."
        )
    return draft.model_copy(update={"review_flags": list(dict.fromkeys(flags))})
