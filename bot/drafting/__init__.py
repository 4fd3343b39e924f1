"""Drafting: the AI pipeline's steps, the offline path, and the checks every draft gets."""

from __future__ import annotations

import logging

from bot.ports import Drafter
from bot.records import DraftOutput, LeadContext

log = logging.getLogger(__name__)


def draft_with_fallback(
    primary: Drafter, fallback: Drafter | None, context: LeadContext
) -> tuple[DraftOutput, Drafter]:
    """Draft with `primary`; if it fails as a whole, with `fallback`, so a lead never waits on an outage.
    (The pipeline already falls back step by step; this catches what is left, such as a database error
    while recording a step.) Returns the output and the drafter that wrote it (kept with the draft)."""
    try:
        return primary.draft(context), primary
    except Exception as exc:
        if fallback is None or fallback is primary:
            raise
        log.warning("drafter %s failed (%s); using %s", primary.name, type(exc).__name__, fallback.name)
        out = fallback.draft(context)
        note = f"Drafted offline because {primary.name} failed ({type(exc).__name__})."
        return out.model_copy(update={"review_flags": [note, *out.review_flags]}), fallback
