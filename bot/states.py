"""The follow-up state machine: which action may move a follow-up from which state to which."""

from __future__ import annotations

from enum import StrEnum

from bot.errors import WrongState


class State(StrEnum):
    SCHEDULED = "scheduled"  # stored, comes due later (nurture)
    QUEUED = "queued"  # ready, waiting for room in the rep's daily budget
    PENDING = "pending"
    SNOOZED = "snoozed"
    ESCALATED = "escalated"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # definitely not delivered: Retry is safe
    UNKNOWN = "unknown"  # handed to the mail server, outcome unknown: a person decides
    RESOLVED = "resolved"  # no longer needed (answered another way, meeting booked, deal moved)
    DISMISSED = "dismissed"  # a person said no


class Action(StrEnum):
    CREATE = "create"
    COME_DUE = "come_due"
    RELEASE = "release"  # the daily budget has room: the card is shown
    CANCEL_SEND = "cancel_send"  # an approved send still waiting for its time is pulled back
    APPROVE = "approve"
    EDIT_AND_SEND = "edit_and_send"
    RETRY = "retry"
    RESEND = "resend"
    MARK_SENT = "mark_sent"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    DELIVERY_UNKNOWN = "delivery_unknown"
    SNOOZE = "snooze"
    RESURFACE = "resurface"
    RESURFACE_ESCALATED = "resurface_escalated"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    DISMISS = "dismiss"


_REVIEWABLE = frozenset({State.PENDING, State.ESCALATED})
_WAITING = frozenset(
    {State.PENDING, State.ESCALATED, State.SNOOZED, State.SCHEDULED, State.QUEUED, State.FAILED}
)

# action -> (states it may start from, state it leads to)
TRANSITIONS: dict[Action, tuple[frozenset[State], State]] = {
    Action.COME_DUE: (frozenset({State.SCHEDULED}), State.PENDING),
    Action.RELEASE: (frozenset({State.QUEUED}), State.PENDING),
    Action.CANCEL_SEND: (frozenset({State.SENDING}), State.PENDING),
    Action.APPROVE: (_REVIEWABLE, State.SENDING),
    Action.EDIT_AND_SEND: (_REVIEWABLE, State.SENDING),
    Action.RETRY: (frozenset({State.FAILED}), State.SENDING),
    Action.RESEND: (frozenset({State.UNKNOWN}), State.SENDING),
    Action.MARK_SENT: (frozenset({State.UNKNOWN}), State.SENT),
    Action.DELIVERED: (frozenset({State.SENDING}), State.SENT),
    Action.DELIVERY_FAILED: (frozenset({State.SENDING}), State.FAILED),
    Action.DELIVERY_UNKNOWN: (frozenset({State.SENDING}), State.UNKNOWN),
    Action.SNOOZE: (_REVIEWABLE, State.SNOOZED),
    Action.RESURFACE: (frozenset({State.SNOOZED}), State.PENDING),
    Action.RESURFACE_ESCALATED: (frozenset({State.SNOOZED}), State.ESCALATED),
    Action.ESCALATE: (_REVIEWABLE, State.ESCALATED),
    Action.RESOLVE: (_WAITING | {State.SENDING}, State.RESOLVED),
    Action.DISMISS: (_WAITING | {State.UNKNOWN}, State.DISMISSED),
}

OPEN_STATES = frozenset(
    {
        State.SCHEDULED,
        State.QUEUED,
        State.PENDING,
        State.ESCALATED,
        State.SNOOZED,
        State.SENDING,
        State.FAILED,
        State.UNKNOWN,
    }
)
# states a scan re-checks with the rule's still_applies
WATCHED_STATES = _WAITING

_DESCRIBE = {
    State.SCHEDULED: "is scheduled for later",
    State.QUEUED: "is waiting for room in today's cards",
    State.SENDING: "is being sent right now",
    State.SENT: "was already sent",
    State.SNOOZED: "is snoozed",
    State.FAILED: "failed to send; use Retry",
    State.UNKNOWN: "may already have been sent; check the lead's thread first",
    State.PENDING: "is waiting for review",
    State.ESCALATED: "is escalated",
    State.RESOLVED: "is no longer needed",
    State.DISMISSED: "was dismissed",
}

_PAST = {
    Action.APPROVE: "approved",
    Action.EDIT_AND_SEND: "edited and sent",
    Action.RETRY: "retried",
    Action.RESEND: "sent again",
    Action.MARK_SENT: "marked as sent",
    Action.SNOOZE: "snoozed",
    Action.ESCALATE: "escalated",
    Action.RESURFACE: "resurfaced",
    Action.DISMISS: "dismissed",
    Action.RESOLVE: "resolved",
    Action.CANCEL_SEND: "pulled back",
}


def next_state(action: Action, current: State) -> State:
    sources, target = TRANSITIONS[action]
    if current not in sources:
        raise WrongState(f"This follow-up {_DESCRIBE[current]}, so it can't be {_PAST.get(action, action)}.")
    return target


def allowed_from(action: Action) -> frozenset[State]:
    return TRANSITIONS[action][0]
