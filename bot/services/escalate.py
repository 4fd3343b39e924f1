"""Escalate a follow-up to a person or the escalation channel, with context and a link back."""

from __future__ import annotations

from bot.errors import FollowupError
from bot.services import cards
from bot.services.common import authorize, load, transition
from bot.services.deps import Deps
from bot.snapshot import FollowUpView
from bot.states import Action


def mark_escalated(
    deps: Deps,
    followup_id: int,
    *,
    actor: str,
    person: str | None,
    reason: str | None,
    where: str | None = None,
) -> str:
    """Store the escalation; returns where it goes (a user or channel id)."""
    target = person or deps.config.slack.escalation_channel
    if not target:
        raise FollowupError("Choose a person: no escalation channel is configured.")
    if target == actor:
        raise FollowupError("Choose someone other than yourself.")
    with deps.db.session() as s:
        fu = load(s, followup_id)
        authorize(deps, fu, actor, where=where)
        transition(
            s,
            fu,
            Action.ESCALATE,
            actor=actor,
            now=deps.clock.now(),
            values={"escalated_to": target},
            detail={"to": target, "reason": (reason or "").strip() or None},
        )
    return target


def announce(deps: Deps, followup_id: int, *, target: str) -> FollowUpView:
    """Post the escalation card to its target and show "Escalated to …" on every other copy."""
    try:
        cards.post(deps, followup_id, channel=target, kind="escalation")
    except Exception as exc:
        cards.refresh(deps, followup_id)  # the escalation is stored; the owner's card still says so
        raise FollowupError(
            f"Escalated, but the card could not be posted to {target}: {exc}. "
            "If that is a channel, invite the app to it; the follow-up stays in your /followup status."
        ) from exc
    cards.refresh(deps, followup_id)
    return cards.view(deps, followup_id)
