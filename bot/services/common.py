"""Loading, authorising and moving follow-ups through the state machine, with an audit row each time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from bot import telemetry
from bot.errors import NotAllowed, NotFound, WrongState
from bot.models import AuditEvent, FollowUp, InboundLead
from bot.services.deps import Deps
from bot.snapshot import FollowUpView, snapshot
from bot.states import Action, State, allowed_from, next_state
from bot.work.queue import Kind, enqueue

# who acts on a follow-up without being a person (a person's actor is their Slack user id)
SYSTEM_ACTORS = frozenset(
    {"scan", "scheduler", "worker", "budget", "mailbox", "unsubscribe", "auto-send", "intake"}
)


def by_person(actor: str) -> bool:
    return actor not in SYSTEM_ACTORS and not actor.startswith("drafter:")


def load(session: Session, followup_id: int) -> FollowUp:
    fu = session.scalar(
        select(FollowUp)
        .where(FollowUp.id == followup_id)
        .options(selectinload(FollowUp.drafts), selectinload(FollowUp.cards), selectinload(FollowUp.events))
    )
    if fu is None:
        raise NotFound(f"Follow-up #{followup_id} no longer exists.")
    return fu


def class_review(fu: FollowUp, human: str | None) -> dict[str, Any]:
    """A reviewer's class for the lead beside the model's, for the audit row (the metrics count how often
    reviewers keep the model's class); {} when either is missing."""
    model = next((d.classification for d in reversed(fu.drafts) if d.origin == "ai"), None)
    if not human or not model:
        return {}
    return {"classification": {"model": model, "human": human}}


def authorize(deps: Deps, fu: FollowUp, actor: str, *, where: str | None = None) -> None:
    """Owner, the person it was escalated to, or an admin; from a shared channel, whoever it was routed to."""
    if actor in deps.config.slack.admins or actor in (fu.owner_slack_id, fu.escalated_to):
        return
    if where and where == fu.escalated_to:
        return  # escalated to a channel: its members decide
    if fu.owner_slack_id is None and where and where == deps.config.slack.review_channel:
        return  # no Slack user for the CRM owner: the review channel owns it
    raise NotAllowed("Only the follow-up's owner, the person it was escalated to, or an admin can do that.")


def transition(
    session: Session,
    fu: FollowUp,
    action: Action,
    *,
    actor: str,
    now: datetime,
    values: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
    condition: Any = None,
) -> State:
    """Move `fu` with a compare-and-set on its state, so two clicks can't both win; writes the audit row and,
    in the same transaction, the work that brings every card of it up to date."""
    current = State(fu.state)
    target = next_state(action, current)
    result = session.execute(
        update(FollowUp)
        .where(FollowUp.id == fu.id, FollowUp.state.in_([s.value for s in allowed_from(action)]))
        .where(FollowUp.version == fu.version)
        .where(*([] if condition is None else [condition]))  # e.g. "not handed over yet"
        .values(state=target.value, version=FollowUp.version + 1, updated_at=now, **(values or {}))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise WrongState("Someone else acted on this follow-up a moment ago; nothing was changed.")
    session.add(
        AuditEvent(
            followup_id=fu.id,
            at=now,
            actor=actor,
            action=action.value,
            from_state=current.value,
            to_state=target.value,
            detail=detail or {},
        )
    )
    telemetry.transitioned(action.value)
    if by_person(actor):  # a new lead's clock stops at the first thing a person does with its card
        session.execute(
            update(InboundLead)
            .where(InboundLead.followup_id == fu.id, InboundLead.first_action_at.is_(None))
            .values(first_action_at=now)
            .execution_options(synchronize_session=False)
        )
    if fu.cards:
        enqueue(session, Kind.REFRESH_CARDS, followup_id=fu.id, now=now, coalesce=True)
    session.flush()
    session.refresh(fu)
    return target


def check_can(
    deps: Deps, followup_id: int, action: Action, *, actor: str, where: str | None = None
) -> FollowUpView:
    """Refuse early (before a modal opens) what the action itself would refuse."""
    with deps.db.session() as s:
        fu = load(s, followup_id)
        authorize(deps, fu, actor, where=where)
        next_state(action, State(fu.state))
        return snapshot(fu)
