"""The follow-up state machine: which action may move a follow-up from which state to which."""

from __future__ import annotations

from enum import StrEnum

from bot.errors import WrongState


class State(StrEnum):
    PENDING = "pending"
    SNOOZED = "snoozed"
    ESCALATED = "escalated"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Action(StrEnum):
    CREATE = "create"
    APPROVE = "approve"
    EDIT_AND_SEND = "edit_and_send"
    RETRY = "retry"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    SNOOZE = "snooze"
    RESURFACE = "resurface"
    ESCALATE = "escalate"
    INTERRUPTED = "interrupted"


# action -> (states it may start from, state it leads to)
TRANSITIONS: dict[Action, tuple[frozenset[State], State]] = {
    Action.APPROVE: (frozenset({State.PENDING, State.ESCALATED}), State.SENDING),
    Action.EDIT_AND_SEND: (frozenset({State.PENDING, State.ESCALATED}), State.SENDING),
    Action.RETRY: (frozenset({State.FAILED}), State.SENDING),
    Action.DELIVERED: (frozenset({State.SENDING}), State.SENT),
    Action.DELIVERY_FAILED: (frozenset({State.SENDING}), State.FAILED),
    Action.INTERRUPTED: (frozenset({State.SENDING}), State.FAILED),
    Action.SNOOZE: (frozenset({State.PENDING, State.ESCALATED}), State.SNOOZED),
    Action.RESURFACE: (frozenset({State.SNOOZED}), State.PENDING),
    Action.ESCALATE: (frozenset({State.PENDING, State.ESCALATED}), State.ESCALATED),
}

OPEN_STATES = frozenset({State.PENDING, State.ESCALATED, State.SNOOZED, State.FAILED})

_DESCRIBE = {
    State.SENDING: "is being sent right now",
    State.SENT: "was already sent",
    State.SNOOZED: "is snoozed",
    State.FAILED: "failed to send; use Retry",
    State.PENDING: "is waiting for review",
    State.ESCALATED: "is escalated",
}


def next_state(action: Action, current: State) -> State:
    sources, target = TRANSITIONS[action]
    if current not in sources:
        raise WrongState(f"This follow-up {_DESCRIBE[current]}, so it can't be {_past(action)}.")
    return target


def allowed_from(action: Action) -> frozenset[State]:
    return TRANSITIONS[action][0]


def _past(action: Action) -> str:
    return {
        Action.APPROVE: "approved",
        Action.EDIT_AND_SEND: "edited and sent",
        Action.RETRY: "retried",
        Action.SNOOZE: "snoozed",
        Action.ESCALATE: "escalated",
        Action.RESURFACE: "resurfaced",
        Action.DELIVERED: "marked sent",
        Action.DELIVERY_FAILED: "marked failed",
    }.get(action, action.value)
