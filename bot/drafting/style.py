"""Learning from the team: a rep's recent approved edits (the AI's draft → what the rep actually sent),
given to the draft step as style examples so drafts drift toward how each rep writes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.db import Database
from bot.drafting.pipeline import StyleSource
from bot.models import Draft, FollowUp
from bot.records import LeadContext
from bot.states import State


def recent_edits(db: Database, owner_email: str, count: int) -> list[dict[str, str]]:
    """The owner's last `count` sent follow-ups whose sent text was their own edit of the AI's draft."""
    if count <= 0:
        return []
    with db.session() as s:
        rows = s.scalars(
            select(FollowUp)
            .where(FollowUp.owner_email == owner_email, FollowUp.state == State.SENT.value)
            .where(FollowUp.sent_draft_id.in_(select(Draft.id).where(Draft.origin == "edit")))
            .order_by(FollowUp.sent_at.desc())
            .limit(count)
            .options(selectinload(FollowUp.drafts))
        ).all()
        examples = []
        for fu in rows:
            sent = next((d for d in fu.drafts if d.id == fu.sent_draft_id), None)
            if sent is None or sent.body == fu.ai_draft.body:
                continue
            examples.append({"before": fu.ai_draft.body, "after": sent.body})
        return examples


def style_source(db: Database, count: int) -> StyleSource:
    def examples(ctx: LeadContext) -> list[dict[str, str]]:
        return recent_edits(db, ctx.owner.email, count) if ctx.owner and ctx.owner.email else []

    return examples
