"""A follow-up's timeline for the History modal: the same records the audit export holds, for one follow-up,
shown to whoever can see its card."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bot.errors import NotAllowed
from bot.models import CardMessage
from bot.services import audit
from bot.services.common import authorize, load
from bot.services.deps import Deps
from bot.snapshot import FollowUpView, snapshot

BEGINNING = datetime(2000, 1, 1, tzinfo=UTC)


def timeline(
    deps: Deps, followup_id: int, *, actor: str, where: str | None
) -> tuple[FollowUpView, list[dict[str, Any]]]:
    """The follow-up and its records, oldest first. Its owner, the person it was escalated to and admins may
    look, and so may anyone clicking a copy of its card in a channel (they see that card already)."""
    with deps.db.session() as s:
        fu = load(s, followup_id)
        try:
            authorize(deps, fu, actor, where=where)
        except NotAllowed:
            if where is None or not where.startswith(("C", "G")):  # a DM is its owner's, checked above
                raise
            shown_there = s.scalar(
                select(CardMessage.id).where(CardMessage.followup_id == fu.id, CardMessage.channel == where)
            )
            if shown_there is None:
                raise
        view = snapshot(fu)
    return view, list(audit.rows(deps, BEGINNING, followup_id=followup_id))
