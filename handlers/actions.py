"""Card buttons: Approve & send, Edit, Snooze, Escalate, Retry. Ack first; the work follows."""

from __future__ import annotations

from slack_bolt import Ack, App
from slack_sdk import WebClient

from blocks.ids import ActionId, SnoozeChoice
from blocks.modals import ModalContext, edit_modal, escalate_modal
from bot.services import review, snooze
from bot.services.common import check_can
from bot.services.deps import Deps
from bot.states import Action
from handlers.errors import guarded
from handlers.payload import actor, clicked_in


def register(app: App, deps: Deps) -> None:
    @app.action(ActionId.CARD_APPROVE)
    @guarded
    def approve(ack: Ack, body: dict, action: dict) -> None:
        ack()
        channel, _ = clicked_in(body)
        review.approve(deps, int(action["value"]), actor=actor(body), where=channel)

    @app.action(ActionId.CARD_RETRY)
    @guarded
    def retry(ack: Ack, body: dict, action: dict) -> None:
        ack()
        channel, _ = clicked_in(body)
        review.retry(deps, int(action["value"]), actor=actor(body), where=channel)

    @app.action(ActionId.CARD_SNOOZE)
    @guarded
    def snooze_card(ack: Ack, body: dict, action: dict) -> None:
        ack()
        channel, _ = clicked_in(body)
        fid, _, choice = action["selected_option"]["value"].partition(":")
        snooze.snooze(deps, int(fid), actor=actor(body), choice=SnoozeChoice(choice), where=channel)

    @app.action(ActionId.CARD_EDIT)
    @guarded
    def edit(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        channel, ts = clicked_in(body)
        fu = check_can(deps, int(action["value"]), Action.EDIT_AND_SEND, actor=actor(body), where=channel)
        ctx = ModalContext(followup_id=fu.id, channel=channel, ts=ts)
        client.views_open(trigger_id=body["trigger_id"], view=edit_modal(fu, ctx))

    @app.action(ActionId.CARD_ESCALATE)
    @guarded
    def escalate(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        channel, ts = clicked_in(body)
        fu = check_can(deps, int(action["value"]), Action.ESCALATE, actor=actor(body), where=channel)
        ctx = ModalContext(followup_id=fu.id, channel=channel, ts=ts)
        view = escalate_modal(fu, ctx, escalation_channel=deps.config.slack.escalation_channel)
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action(ActionId.CARD_OPEN_ORIGINAL)
    @app.action(ActionId.STATUS_OPEN_CARD)
    @guarded
    def link_button(ack: Ack) -> None:
        ack()  # link buttons open in Slack; the click still has to be acknowledged
