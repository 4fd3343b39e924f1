"""Modal submissions. Validate and store before acknowledging; send after."""

from __future__ import annotations

from slack_bolt import Ack, App

from blocks.ids import ActionId, BlockId, CallbackId
from blocks.modals import ModalContext
from bot.errors import FollowupError
from bot.services import escalate, review
from bot.services.deps import Deps
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
        try:
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
        review.deliver(deps, ctx.followup_id, actor=actor(body))

    @app.view(CallbackId.ESCALATE_MODAL)
    @guarded
    def escalate_submitted(ack: Ack, body: dict, view: dict) -> None:
        ctx = ModalContext.model_validate_json(view["private_metadata"])
        person = value_of(view["state"], BlockId.ESCALATE_USER, ActionId.ESCALATE_USER_INPUT)
        reason = value_of(view["state"], BlockId.ESCALATE_REASON, ActionId.ESCALATE_REASON_INPUT)
        try:
            target = escalate.mark_escalated(
                deps, ctx.followup_id, actor=actor(body), person=person, reason=reason, where=ctx.channel
            )
        except FollowupError as exc:
            ack(response_action="errors", errors={BlockId.ESCALATE_USER: str(exc)})
            return
        ack()
        escalate.announce(deps, ctx.followup_id, target=target)
