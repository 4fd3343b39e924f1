"""Card buttons. The click is stored and acknowledged in the request's own thread; a worker then makes one
service call, which records the decision and queues what follows (send, card updates)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import Ack, App
from slack_sdk import WebClient

from blocks.history import history_modal
from blocks.ids import ActionId
from blocks.modals import ModalContext, dismiss_modal, edit_modal, escalate_modal
from bot.services import history, reports, review, snooze
from bot.services.common import check_can
from bot.services.deps import Deps
from bot.services.lifecycle import DISMISS_LABELS
from bot.snapshot import FollowUpView
from bot.states import Action
from handlers.deferred import Deferred
from handlers.errors import guarded
from handlers.payload import BlockActions

log = logging.getLogger(__name__)

# buttons whose whole job is one service call on the follow-up in the button's value
DECISIONS: dict[ActionId, Callable[..., None]] = {
    ActionId.CARD_APPROVE: review.approve,
    ActionId.CARD_RETRY: review.retry,
    ActionId.CARD_RESEND: review.resend,
    ActionId.CARD_MARK_SENT: review.mark_sent,
    ActionId.CARD_RETRY_LOG: review.retry_crm_log,
    ActionId.CARD_CANCEL_SEND: review.cancel_send,
}


def register(app: App, deps: Deps, deferred: Deferred) -> None:
    for action_id, service in DECISIONS.items():
        app.action(action_id)(**deferred.after_ack(action_id, _decision(deps, service)))

    def snooze_card(req: BlockActions) -> None:
        snooze.snooze(deps, req.followup_id, actor=req.actor, choice=req.snooze_choice, where=req.card[0])
        _home_again(deps, req)

    def edit(req: BlockActions, client: WebClient) -> None:
        fu, ctx = _modal_target(deps, req, Action.EDIT_AND_SEND)
        client.views_open(trigger_id=req.trigger_id, view=edit_modal(fu, ctx))

    def escalate(req: BlockActions, client: WebClient) -> None:
        fu, ctx = _modal_target(deps, req, Action.ESCALATE)
        view = escalate_modal(fu, ctx, escalation_channel=deps.config.slack.escalation_channel)
        client.views_open(trigger_id=req.trigger_id, view=view)

    def dismiss(req: BlockActions, client: WebClient) -> None:
        fu, ctx = _modal_target(deps, req, Action.DISMISS)
        reasons = {r.value: label for r, label in DISMISS_LABELS.items()}
        client.views_open(trigger_id=req.trigger_id, view=dismiss_modal(fu, ctx, reasons))

    def show_history(req: BlockActions, client: WebClient) -> None:
        fu, records = history.timeline(deps, req.followup_id, actor=req.actor, where=req.card[0])
        client.views_open(trigger_id=req.trigger_id, view=history_modal(fu, records))

    app.action(ActionId.CARD_HISTORY)(**deferred.after_ack(ActionId.CARD_HISTORY, show_history))
    app.action(ActionId.CARD_SNOOZE)(**deferred.after_ack(ActionId.CARD_SNOOZE, snooze_card))
    app.action(ActionId.CARD_EDIT)(**deferred.after_ack(ActionId.CARD_EDIT, edit))
    app.action(ActionId.CARD_ESCALATE)(**deferred.after_ack(ActionId.CARD_ESCALATE, escalate))
    app.action(ActionId.CARD_DISMISS)(**deferred.after_ack(ActionId.CARD_DISMISS, dismiss))

    @app.action(ActionId.CARD_OPEN_ORIGINAL)
    @app.action(ActionId.STATUS_OPEN_CARD)
    @guarded
    def link_button(ack: Ack) -> None:
        ack()  # link buttons open in Slack; the click still has to be acknowledged


def _decision(deps: Deps, service: Callable[..., None]) -> Callable[..., None]:
    def decide(req: BlockActions) -> None:
        service(deps, req.followup_id, actor=req.actor, where=req.card[0])
        _home_again(deps, req)

    decide.__name__ = service.__name__
    return decide


def _home_again(deps: Deps, req: BlockActions) -> None:
    """A button clicked in App Home: show the Home again as it is now (a card updates itself)."""
    if req.container is not None and req.container.type == "view":
        try:
            reports.publish_home(deps, req.actor)
        except Exception:  # the decision is made and kept; the Home shows it at the next open
            log.warning("App Home not refreshed after a click there", exc_info=True)


def _modal_target(deps: Deps, req: BlockActions, what: Action) -> tuple[FollowUpView, ModalContext]:
    """Refuse early (before the modal opens) what the submission would refuse; the actor is the signed
    payload's user, never anything the modal or button carries."""
    channel, ts = req.card
    fu = check_can(deps, req.followup_id, what, actor=req.actor, where=channel)
    return fu, ModalContext(followup_id=fu.id, channel=channel, ts=ts)
