"""The Edit, Escalate and Dismiss modals. Typed state travels in private_metadata as JSON."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from slack_sdk.models.blocks import (
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from blocks.format import clip, line, person
from blocks.ids import CONVERSATION_ID, MESSAGE_TS, ActionId, BlockId, CallbackId
from bot.drafting.classifier import LeadClass
from bot.snapshot import FollowUpView

BODY_MAX = 2900
SUBJECT_MAX = 200


CLASS_LABELS = {
    LeadClass.SALES_OPPORTUNITY: "A sales opportunity",
    LeadClass.EXISTING_CUSTOMER: "An existing customer",
    LeadClass.PARTNERSHIP: "A partnership",
    LeadClass.VENDOR_PITCH: "A vendor's pitch",
    LeadClass.RECRUITING: "Recruiting",
    LeadClass.PRESS: "Press",
    LeadClass.SPAM: "Spam",
    LeadClass.NOT_ENOUGH_INFORMATION: "Not enough information",
}


def class_review(fu: FollowUpView) -> InputBlock | None:
    """'What is it, really?': the model's class preselected, so a reviewer who changes it records an
    override (the model's accuracy against human review). None when no model classified the draft."""
    try:
        model = LeadClass(fu.draft.classification)
    except ValueError:
        return None
    return InputBlock(
        block_id=BlockId.REVIEW_CLASS,
        label="What is it, really?",
        optional=True,
        hint="The model's classification is preselected; change it if it is wrong.",
        element=StaticSelectElement(
            action_id=ActionId.REVIEW_CLASS_INPUT,
            options=[Option(text=label, value=value.value) for value, label in CLASS_LABELS.items()],
            initial_option=Option(text=CLASS_LABELS[model], value=model.value),
        ),
    )


class ModalContext(BaseModel):
    """Carried through the modal so the submission knows which follow-up and card it is about."""

    model_config = ConfigDict(extra="forbid")

    followup_id: int = Field(ge=0, lt=10**12)  # 0: not about a follow-up (a new lead from a message)
    channel: Annotated[str, StringConstraints(pattern=CONVERSATION_ID)] | None = None
    ts: Annotated[str, StringConstraints(pattern=MESSAGE_TS)] | None = None


def edit_modal(fu: FollowUpView, ctx: ModalContext) -> View:
    return View(
        type="modal",
        callback_id=CallbackId.EDIT_MODAL,
        title="Edit follow-up",
        submit="Send",
        close="Cancel",
        private_metadata=ctx.model_dump_json(),
        blocks=[
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"To *{line(fu.contact_name, 200)}* ({line(fu.contact_email, 320)})"
                    )
                ]
            ),
            InputBlock(
                block_id=BlockId.EDIT_SUBJECT,
                label="Subject",
                element=PlainTextInputElement(
                    action_id=ActionId.EDIT_SUBJECT_INPUT,
                    initial_value=clip(" ".join(fu.draft.subject.split()), SUBJECT_MAX),
                    max_length=SUBJECT_MAX,
                ),
            ),
            InputBlock(
                block_id=BlockId.EDIT_BODY,
                label="Message",
                element=PlainTextInputElement(
                    action_id=ActionId.EDIT_BODY_INPUT,
                    multiline=True,
                    initial_value=clip(fu.draft.body, BODY_MAX),
                    max_length=BODY_MAX,
                ),
            ),
            *filter(None, [class_review(fu)]),
        ],
    )


def escalate_modal(fu: FollowUpView, ctx: ModalContext, *, escalation_channel: str | None) -> View:
    where = (
        f"Leave the person empty to post it to {person(escalation_channel)}."
        if escalation_channel
        else "Pick the person who should decide."
    )
    return View(
        type="modal",
        callback_id=CallbackId.ESCALATE_MODAL,
        title="Escalate follow-up",
        submit="Escalate",
        close="Cancel",
        private_metadata=ctx.model_dump_json(),
        blocks=[
            ContextBlock(elements=[MarkdownTextObject(text=f"{line(fu.contact_name, 200)}: {where}")]),
            InputBlock(
                block_id=BlockId.ESCALATE_USER,
                label="Escalate to",
                optional=True,
                element=UserSelectElement(
                    action_id=ActionId.ESCALATE_USER_INPUT, placeholder="Choose a person"
                ),
            ),
            InputBlock(
                block_id=BlockId.ESCALATE_REASON,
                label="Reason",
                optional=True,
                element=PlainTextInputElement(
                    action_id=ActionId.ESCALATE_REASON_INPUT,
                    multiline=True,
                    max_length=1000,
                    placeholder="e.g. they ask for a discount",
                ),
            ),
        ],
    )


def dismiss_modal(fu: FollowUpView, ctx: ModalContext, reasons: dict[str, str]) -> View:
    """Why no follow-up is needed: kept for the metrics; 'Other' needs a note."""
    return View(
        type="modal",
        callback_id=CallbackId.DISMISS_MODAL,
        title="Dismiss follow-up",
        submit="Dismiss",
        close="Cancel",
        private_metadata=ctx.model_dump_json(),
        blocks=[
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"No email goes to *{line(fu.contact_name, 200)}*. Why is none needed?"
                    )
                ]
            ),
            InputBlock(
                block_id=BlockId.DISMISS_REASON,
                label="Reason",
                element=RadioButtonsElement(
                    action_id=ActionId.DISMISS_REASON_INPUT,
                    options=[Option(text=label, value=value) for value, label in reasons.items()],
                ),
            ),
            InputBlock(
                block_id=BlockId.DISMISS_NOTE,
                label="Note",
                optional=True,
                element=PlainTextInputElement(
                    action_id=ActionId.DISMISS_NOTE_INPUT,
                    multiline=True,
                    max_length=500,
                    placeholder="Needed when you choose Other",
                ),
            ),
            *filter(None, [class_review(fu)]),
        ],
    )


LEAD_TEXT_MAX = 3000  # Slack's limit for a plain-text input


def lead_modal(text: str, ctx: ModalContext, *, email: str = "", name: str = "") -> View:
    """ "Follow up on this": the message becomes a new lead; the person says whose it is (the address is the
    one thing a forwarded intro rarely carries in a usable form)."""
    return View(
        type="modal",
        callback_id=CallbackId.LEAD_MODAL,
        title="Follow up on this",
        submit="Add lead",
        close="Cancel",
        private_metadata=ctx.model_dump_json(),
        blocks=[
            InputBlock(
                block_id=BlockId.LEAD_EMAIL,
                label="Lead's email",
                element=PlainTextInputElement(
                    action_id=ActionId.LEAD_EMAIL_INPUT,
                    max_length=320,
                    initial_value=email or None,
                ),
            ),
            InputBlock(
                block_id=BlockId.LEAD_NAME,
                label="Name",
                optional=True,
                element=PlainTextInputElement(
                    action_id=ActionId.LEAD_NAME_INPUT,
                    max_length=200,
                    initial_value=name or None,
                ),
            ),
            InputBlock(
                block_id=BlockId.LEAD_COMPANY,
                label="Company",
                optional=True,
                element=PlainTextInputElement(action_id=ActionId.LEAD_COMPANY_INPUT, max_length=200),
            ),
            InputBlock(
                block_id=BlockId.LEAD_TEXT,
                label="What they said",
                element=PlainTextInputElement(
                    action_id=ActionId.LEAD_TEXT_INPUT,
                    multiline=True,
                    max_length=LEAD_TEXT_MAX,
                    initial_value=clip(text, LEAD_TEXT_MAX) if text.strip() else None,
                ),
            ),
        ],
    )
