"""Modal submissions. Validate and store before acknowledging; send after."""

from __future__ import annotations

from slack_bolt import Ack, App

from blocks.ids import ActionId, BlockId, CallbackId
from blocks.modals import ModalContext
from bot.errors import FollowupError
from bot.services import escalate, lifecycle, review
from bot.services.deps import Deps
from bot.services.lifecycle import DismissReason
from bot.states import Action
from handlers.errors import guarded
from handlers.payload import actor, value_of


def register(app: App, deps: Deps) -> None:
    @app.view(CallbackId.EDIT_MODAL)
    @guarded
    def edit_submitted(ack: Ack, body: dict, view: dict) -> None:
        ctx = ModalContext.model_validate_json(view["private_metadata"])
        subject = (value_of(view["state"], BlockId.EDIT_SUBJECT, ActionId.EDIT_SUBJECT_INPUT) or "").strip()
        text = (value_of(view["state"], BlockId.EDIT_BODY, ActionId.EDIT_BODY_INPUT) or "").strip()
        errors: dict[str, str] = {}
        if not subject:
            errors[BlockId.EDIT_SUBJECT] = "The subject can't be empty."
        if not text:
            errors[BlockId.EDIT_BODY] = "The message can't be empty."
        if errors:
            ack(response_action="errors", errors=errors)
            return
        try:  # stored (and the send queued) before the modal closes
            review.claim(
                deps,
                ctx.followup_id,
                actor=actor(body),
                action=Action.EDIT_AND_SEND,
                where=ctx.channel,
                subject=subject,
                body=text,
            )
        except FollowupError as exc:
            ack(response_action="errors", errors={BlockId.EDIT_BODY: str(exc)})
            return
        ack()

    @app.view(CallbackId.ESCALATE_MODAL)
    @guarded
    def escalate_submitted(ack: Ack, body: dict, view: dict) -> None:
        ctx = ModalContext.model_validate_json(view["private_metadata"])
        person = value_of(view["state"], BlockId.ESCALATE_USER, ActionId.ESCALATE_USER_INPUT)
        reason = value_of(view["state"], BlockId.ESCALATE_REASON, ActionId.ESCALATE_REASON_INPUT)
        try:
            escalate.mark_escalated(
                deps, ctx.followup_id, actor=actor(body), person=person, reason=reason, where=ctx.channel
            )
        except FollowupError as exc:
            ack(response_action="errors", errors={BlockId.ESCALATE_USER: str(exc)})
            return
        ack()

    @app.view(CallbackId.DISMISS_MODAL)
    @guarded
    def dismiss_submitted(ack: Ack, body: dict, view: dict) -> None:
        ctx = ModalContext.model_validate_json(view["private_metadata"])
        chosen = value_of(view["state"], BlockId.DISMISS_REASON, ActionId.DISMISS_REASON_INPUT) or {}
        note = value_of(view["state"], BlockId.DISMISS_NOTE, ActionId.DISMISS_NOTE_INPUT)
        try:
            reason = DismissReason(str(chosen.get("value")))
        except ValueError:
            ack(response_action="errors", errors={BlockId.DISMISS_REASON: "Choose a reason."})
            return
        try:
            lifecycle.dismiss(
                deps, ctx.followup_id, actor=actor(body), reason=reason, note=note, where=ctx.channel
            )
        except FollowupError as exc:
            block = BlockId.DISMISS_NOTE if reason is DismissReason.OTHER else BlockId.DISMISS_REASON
            ack(response_action="errors", errors={block: str(exc)})
            return
        ack()
