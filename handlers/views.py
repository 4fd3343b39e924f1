"""Modal submissions. Validate and store before acknowledging; send after."""

from __future__ import annotations

from slack_bolt import Ack, App

from blocks.ids import ActionId, BlockId, CallbackId
from blocks.modals import BODY_MAX, SUBJECT_MAX
from bot.addresses import BadAddress, single_address
from bot.drafting.classifier import LeadClass
from bot.errors import FollowupError
from bot.services import escalate, intake, lifecycle, review
from bot.services.deps import Deps
from bot.services.lifecycle import DismissReason
from bot.states import Action
from handlers.errors import guarded
from handlers.payload import ViewSubmission


def _reviewed_class(req: ViewSubmission) -> tuple[str | None, dict[str, str]]:
    """The class the reviewer gave the lead (None when the modal had no such choice or it was cleared), or an
    error for a value the modal never offered."""
    chosen = req.view.value(BlockId.REVIEW_CLASS, ActionId.REVIEW_CLASS_INPUT).selected_option
    if chosen is None:
        return None, {}
    if chosen.value not in {c.value for c in LeadClass}:
        return None, {BlockId.REVIEW_CLASS: "Choose one of the classes offered."}
    return chosen.value, {}


def register(app: App, deps: Deps) -> None:
    @app.view(CallbackId.EDIT_MODAL)
    @guarded
    def edit_submitted(ack: Ack, req: ViewSubmission) -> None:
        view, ctx = req.view, req.view.context
        subject = (view.value(BlockId.EDIT_SUBJECT, ActionId.EDIT_SUBJECT_INPUT).value or "").strip()
        text = (view.value(BlockId.EDIT_BODY, ActionId.EDIT_BODY_INPUT).value or "").strip()
        errors: dict[str, str] = {}
        if not subject:
            errors[BlockId.EDIT_SUBJECT] = "The subject can't be empty."
        elif any(c in subject for c in "\r\n") or len(subject) > SUBJECT_MAX:
            errors[BlockId.EDIT_SUBJECT] = (
                f"The subject must be one line of at most {SUBJECT_MAX} characters."
            )
        if not text:
            errors[BlockId.EDIT_BODY] = "The message can't be empty."
        elif len(text) > BODY_MAX:
            errors[BlockId.EDIT_BODY] = f"The message can be at most {BODY_MAX} characters."
        reviewed, wrong = _reviewed_class(req)
        errors |= wrong
        if errors:
            ack(response_action="errors", errors=errors)
            return
        try:  # stored (and the send queued) before the modal closes
            review.claim(
                deps,
                ctx.followup_id,
                actor=req.actor,
                action=Action.EDIT_AND_SEND,
                where=ctx.channel,
                subject=subject,
                body=text,
                reviewed_class=reviewed,
            )
        except FollowupError as exc:
            ack(response_action="errors", errors={BlockId.EDIT_BODY: str(exc)})
            return
        ack()

    @app.view(CallbackId.ESCALATE_MODAL)
    @guarded
    def escalate_submitted(ack: Ack, req: ViewSubmission) -> None:
        view, ctx = req.view, req.view.context
        person = view.value(BlockId.ESCALATE_USER, ActionId.ESCALATE_USER_INPUT).selected_user
        reason = view.value(BlockId.ESCALATE_REASON, ActionId.ESCALATE_REASON_INPUT).value
        try:
            escalate.mark_escalated(
                deps, ctx.followup_id, actor=req.actor, person=person, reason=reason, where=ctx.channel
            )
        except FollowupError as exc:
            ack(response_action="errors", errors={BlockId.ESCALATE_USER: str(exc)})
            return
        ack()

    @app.view(CallbackId.LEAD_MODAL)
    @guarded
    def lead_submitted(ack: Ack, req: ViewSubmission) -> None:
        view, ctx = req.view, req.view.context
        raw = view.value(BlockId.LEAD_EMAIL, ActionId.LEAD_EMAIL_INPUT).value or ""
        text = (view.value(BlockId.LEAD_TEXT, ActionId.LEAD_TEXT_INPUT).value or "").strip()
        errors: dict[str, str] = {}
        try:
            email = single_address(raw, whose="The lead's")
        except BadAddress as exc:
            errors[BlockId.LEAD_EMAIL] = str(exc).replace(" in the CRM", "")
        if not text:
            errors[BlockId.LEAD_TEXT] = "Paste what they asked for: the follow-up is drafted from it."
        if errors:
            ack(response_action="errors", errors=errors)
            return
        intake.accept(  # stored before the modal closes; the queue does the rest
            deps,
            intake.Arrival(
                source="slack",
                external_id=f"{ctx.channel}:{ctx.ts}",
                email=email,
                text=text,
                name=view.value(BlockId.LEAD_NAME, ActionId.LEAD_NAME_INPUT).value or "",
                company=view.value(BlockId.LEAD_COMPANY, ActionId.LEAD_COMPANY_INPUT).value or "",
                subject="Shared in Slack",
                origin="message shortcut",
            ),
        )
        ack()

    @app.view(CallbackId.DISMISS_MODAL)
    @guarded
    def dismiss_submitted(ack: Ack, req: ViewSubmission) -> None:
        view, ctx = req.view, req.view.context
        chosen = view.value(BlockId.DISMISS_REASON, ActionId.DISMISS_REASON_INPUT).selected_option
        note = view.value(BlockId.DISMISS_NOTE, ActionId.DISMISS_NOTE_INPUT).value
        try:
            reason = DismissReason(chosen.value if chosen else "")
        except ValueError:
            ack(response_action="errors", errors={BlockId.DISMISS_REASON: "Choose a reason."})
            return
        reviewed, wrong = _reviewed_class(req)
        if wrong:
            ack(response_action="errors", errors=wrong)
            return
        try:
            lifecycle.dismiss(
                deps,
                ctx.followup_id,
                actor=req.actor,
                reason=reason,
                note=note,
                where=ctx.channel,
                reviewed_class=reviewed,
            )
        except FollowupError as exc:
            block = BlockId.DISMISS_NOTE if reason is DismissReason.OTHER else BlockId.DISMISS_REASON
            ack(response_action="errors", errors={block: str(exc)})
            return
        ack()
