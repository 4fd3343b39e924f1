"""Every Slack id the app uses: the builders and the router both read them from here."""

from enum import StrEnum

COMMAND = "/followup"
SHORTCUT_LEAD = "followup-message-lead"  # the message shortcut "Follow up on this"


class ActionId(StrEnum):
    CARD_APPROVE = "followup-card-approve"
    CARD_EDIT = "followup-card-edit"
    CARD_SNOOZE = "followup-card-snooze"
    CARD_ESCALATE = "followup-card-escalate"
    CARD_RETRY = "followup-card-retry"
    CARD_DISMISS = "followup-card-dismiss"
    CARD_MARK_SENT = "followup-card-mark-sent"
    CARD_RESEND = "followup-card-resend"
    CARD_RETRY_LOG = "followup-card-retry-log"
    CARD_CANCEL_SEND = "followup-card-cancel-send"
    CARD_OPEN_ORIGINAL = "followup-card-open-original"
    CARD_HISTORY = "followup-card-history"
    STATUS_OPEN_CARD = "followup-status-open-card"
    EDIT_SUBJECT_INPUT = "followup-edit-subject-input"
    EDIT_BODY_INPUT = "followup-edit-body-input"
    ESCALATE_USER_INPUT = "followup-escalate-user-input"
    ESCALATE_REASON_INPUT = "followup-escalate-reason-input"
    DISMISS_REASON_INPUT = "followup-dismiss-reason-input"
    DISMISS_NOTE_INPUT = "followup-dismiss-note-input"
    LEAD_EMAIL_INPUT = "followup-lead-email-input"
    LEAD_NAME_INPUT = "followup-lead-name-input"
    LEAD_COMPANY_INPUT = "followup-lead-company-input"
    LEAD_TEXT_INPUT = "followup-lead-text-input"
    REVIEW_CLASS_INPUT = "followup-review-class-input"


class BlockId(StrEnum):
    CARD_ACTIONS = "followup-card-actions"
    EDIT_SUBJECT = "followup-edit-subject"
    EDIT_BODY = "followup-edit-body"
    ESCALATE_USER = "followup-escalate-user"
    ESCALATE_REASON = "followup-escalate-reason"
    DISMISS_REASON = "followup-dismiss-reason"
    DISMISS_NOTE = "followup-dismiss-note"
    LEAD_EMAIL = "followup-lead-email"
    LEAD_NAME = "followup-lead-name"
    LEAD_COMPANY = "followup-lead-company"
    LEAD_TEXT = "followup-lead-text"
    REVIEW_CLASS = "followup-review-class"


class CallbackId(StrEnum):
    EDIT_MODAL = "followup-edit-modal"
    ESCALATE_MODAL = "followup-escalate-modal"
    DISMISS_MODAL = "followup-dismiss-modal"
    LEAD_MODAL = "followup-lead-modal"
    HISTORY_MODAL = "followup-history-modal"


class SnoozeChoice(StrEnum):
    ONE_HOUR = "1h"
    TOMORROW_9 = "tomorrow"
    THREE_DAYS = "3d"
    NEXT_WEEK = "next-week"


SNOOZE_LABELS = {
    SnoozeChoice.ONE_HOUR: "1 hour",
    SnoozeChoice.TOMORROW_9: "Tomorrow 9:00",
    SnoozeChoice.THREE_DAYS: "3 days",
    SnoozeChoice.NEXT_WEEK: "Next week (Mon 9:00)",
}


# Slack's id formats: anything else in a payload is refused, and nothing else is ever rendered as a mention
USER_ID = r"^[UW][A-Z0-9]{2,20}$"
CONVERSATION_ID = r"^[CDG][A-Z0-9]{2,20}$"
TEAM_ID = r"^[TE][A-Z0-9]{2,20}$"
MESSAGE_TS = r"^\d{1,12}\.\d{1,8}$"
