"""Drafters: turn a lead's context into a summary, a classification and a draft email."""

from __future__ import annotations

import logging

from bot.drafting.guardrails import apply_guardrails
from bot.ports import Drafter
from bot.records import DraftOutput, LeadContext

log = logging.getLogger(__name__)


def draft_with_fallback(
    primary: Drafter, fallback: Drafter | None, context: LeadContext
) -> tuple[DraftOutput, Drafter]:
    """Draft with `primary`; if it fails, with `fallback`, so a lead never waits on an outage.

    Returns the guarded output and the drafter that wrote it (kept with the draft)."""
    try:
        return apply_guardrails(primary.draft(context), context), primary
    except Exception as exc:
        if fallback is None or fallback is primary:
            raise
        log.warning("drafter %s failed (%s); using %s", primary.name, type(exc).__name__, fallback.name)
        out = apply_guardrails(fallback.draft(context), context)
        note = f"Drafted offline because {primary.name} failed: {str(exc)[:150]}"
        return out.model_copy(update={"review_flags": [note, *out.review_flags]}), fallback
