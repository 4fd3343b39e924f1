"""Escalate a follow-up to a person or the escalation channel, with context and a link back."""

from __future__ import annotations

import re

from blocks.ids import USER_ID
from bot.errors import FollowupError
from bot.services.common import authorize, load, transition
from bot.services.deps import Deps
from bot.states import Action
from bot.work.queue import Kind, enqueue


def mark_escalated(
    deps: Deps,
    followup_id: int,
    *,
    actor: str,
    person: str | None,
    reason: str | None,
    where: str | None = None,
) -> str:
    """Store the escalation and queue its card in the same commit; returns where it goes."""
    target = person or deps.config.slack.escalation_channel
    if not target:
        raise FollowupError("Choose a person: no escalation channel is configured.")
    if target == actor:
        raise FollowupError("Choose someone other than yourself.")
    if person:  # checked before it is stored, and so before it is ever rendered as a mention
        if not re.fullmatch(USER_ID, person):
            raise FollowupError("That is not a Slack user; choose a person from the list.")
        if deps.chat is not None and not deps.chat.is_person(person):
            raise FollowupError("That person is not an active member of this workspace; choose someone else.")
    now = deps.clock.now()
    with deps.db.session() as s:
        fu = load(s, followup_id)
        authorize(deps, fu, actor, where=where)
        transition(
            s,
            fu,
            Action.ESCALATE,
            actor=actor,
            now=now,
            values={"escalated_to": target},
            detail={"to": target, "reason": (reason or "").strip() or None},
        )
        enqueue(
            s,
            Kind.POST_CARD,
            followup_id=fu.id,
            now=now,
            payload={"channel": target, "kind": "escalation", "by": actor},
        )
    return target
