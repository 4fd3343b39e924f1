"""A follow-up's whole life through the running app: dismissed by a person, resolved when no longer needed
(on a scan, and right before a send), unknown sends never repeated without a person, and Slack outages that
delay cards but never lose them."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

from blocks.ids import ActionId, BlockId, CallbackId
from bot.services import scan
from bot.services.snooze import resurface_due
from crm.tables import CrmEngagement
from tests.blockkit import action_ids, assert_valid_blocks, assert_valid_view, texts
from tests.builders import SARAH
from tests.conftest import DANA, MANAGER
from tests.handlers.flow import followup, last_update_for, seed_and_scan, settle


def _dismiss_values(reason: str, note: str | None = None) -> dict:
    return {
        BlockId.DISMISS_REASON: {
            ActionId.DISMISS_REASON_INPUT: {"type": "radio_buttons", "selected_option": {"value": reason}}
        },
        BlockId.DISMISS_NOTE: {ActionId.DISMISS_NOTE_INPUT: {"type": "plain_text_input", "value": note}},
    }


def test_the_dismiss_modal_asks_what_the_lead_really_is_and_keeps_the_answer_beside_the_models(harness):
    fid, card = seed_and_scan(harness)[SARAH]
    harness.click(ActionId.CARD_DISMISS, user=DANA, card=card, value=str(fid))
    [opened] = harness.slack.wait_for("views.open")
    view = opened.args["view"]
    assert_valid_view(view)
    [select] = [b for b in view["blocks"] if b.get("block_id") == BlockId.REVIEW_CLASS]
    model = followup(harness, fid).drafts[0].classification
    assert select["element"]["initial_option"]["value"] == model  # the model's class, preselected

    def submit(value: str):  # type: ignore[no-untyped-def]
        pick = {"type": "static_select", "selected_option": {"value": value}}
        values = _dismiss_values("not_a_lead") | {BlockId.REVIEW_CLASS: {ActionId.REVIEW_CLASS_INPUT: pick}}
        meta = view["private_metadata"]
        return harness.submit(CallbackId.DISMISS_MODAL, user=DANA, private_metadata=meta, values=values)

    wrong = submit("a-class-the-modal-never-offered")
    errors = {BlockId.REVIEW_CLASS: "Choose one of the classes offered."}
    assert wrong.json() == {"response_action": "errors", "errors": errors}
    assert followup(harness, fid).state == "pending"
    assert submit("spam").status == 200
    fu = followup(harness, fid)
    assert fu.state == "dismissed"
    assert fu.events[-1].detail["classification"] == {"model": model, "human": "spam"}


def _answer_sarah(h, minutes_after_now: int = -30) -> None:
    with h.deps.db.session() as s:
        s.add(
            CrmEngagement(
                id="409",
                type="call",
                direction="outbound",
                occurred_at=h.clock.now() + timedelta(minutes=minutes_after_now),
                contact_id=SARAH,
                subject="Called Sarah back",
                body="Booked the demo by phone.",
            )
        )


def test_dismiss_asks_why_and_the_card_says_who_and_why(harness):
    fid, card = seed_and_scan(harness)[SARAH]
    harness.click(ActionId.CARD_DISMISS, user=DANA, card=card, value=str(fid))
    [opened] = harness.slack.wait_for("views.open")
    view = opened.args["view"]
    assert_valid_view(view)
    assert view["callback_id"] == CallbackId.DISMISS_MODAL

    other = harness.submit(
        CallbackId.DISMISS_MODAL,
        user=DANA,
        private_metadata=view["private_metadata"],
        values=_dismiss_values("other"),
    )
    assert other.json()["response_action"] == "errors" and BlockId.DISMISS_NOTE in other.json()["errors"]
    assert followup(harness, fid).state == "pending"

    reply = harness.submit(
        CallbackId.DISMISS_MODAL,
        user=DANA,
        private_metadata=view["private_metadata"],
        values=_dismiss_values("not_a_lead", "Student doing research"),
    )
    assert reply.status == 200 and reply.body == ""
    fu = followup(harness, fid)
    assert (fu.state, fu.dismiss_reason, fu.outcome_by) == ("dismissed", "not_a_lead", DANA)
    assert fu.events[-1].detail == {"reason": "not_a_lead", "note": "Student doing research"}
    blocks = last_update_for(harness, card)
    assert_valid_blocks(blocks)
    assert f"Dismissed by <@{DANA}>: Not a real lead: Student doing research" in texts(blocks)
    assert action_ids(blocks) == [ActionId.CARD_HISTORY]

    harness.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid), response="late")
    [refusal] = harness.slack.wait_for_response(1)
    assert "was dismissed" in refusal["text"]
    assert harness.mailbox.messages == []


def test_a_scan_resolves_what_was_answered_another_way_and_updates_the_card(harness):
    fid, card = seed_and_scan(harness)[SARAH]
    _answer_sarah(harness)
    result = scan.scan(harness.deps)
    assert result.resolved == [fid]
    fu = followup(harness, fid)
    assert fu.state == "resolved" and fu.outcome_by == "scan"
    blocks = last_update_for(harness, card)
    assert_valid_blocks(blocks)
    assert "No longer needed — They got an answer another way: a call on" in texts(blocks)
    assert action_ids(blocks) == [ActionId.CARD_HISTORY]


def test_a_send_is_refused_when_the_lead_was_answered_meanwhile(harness):
    fid, card = seed_and_scan(harness)[SARAH]
    _answer_sarah(harness)
    assert harness.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid)).status == 200
    settle(harness)
    fu = followup(harness, fid)
    assert fu.state == "resolved" and fu.outcome_reason.startswith("Not sent: They got an answer another way")
    assert harness.mailbox.messages == []
    assert "Not sent: They got an answer another way" in texts(last_update_for(harness, card))


def test_an_unanswered_send_is_never_repeated_without_a_person(harness):
    fid, card = seed_and_scan(harness)[SARAH]
    harness.mailbox.silent_after_data = threading.Event()  # takes the message, never confirms it
    try:
        harness.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid))
        harness.mailbox.wait_for(1)
        settle(harness)
    finally:
        harness.mailbox.silent_after_data.set()
    fu = followup(harness, fid)
    assert fu.state == "unknown" and "may or may not have reached the lead" in (fu.last_error or "")
    blocks = last_update_for(harness, card)
    assert_valid_blocks(blocks)
    assert "Maybe sent." in texts(blocks)
    assert action_ids(blocks) == [
        ActionId.CARD_MARK_SENT,
        ActionId.CARD_RESEND,
        ActionId.CARD_DISMISS,
        ActionId.CARD_HISTORY,
    ]
    harness.clock.advance(timedelta(hours=1))  # time passes, workers keep running: nothing is re-sent
    settle(harness)
    assert len(harness.mailbox.messages) == 1

    harness.click(ActionId.CARD_MARK_SENT, user=DANA, card=card, value=str(fid))
    settle(harness)
    fu = followup(harness, fid)
    assert fu.state == "sent" and fu.crm_engagement_id
    with harness.deps.db.session() as s:
        assert s.query(CrmEngagement).filter_by(message_id=fu.message_id).count() == 1
    assert "logged to CRM" in texts(last_update_for(harness, card))
    assert [e.action for e in fu.events] == ["create", "approve", "delivery_unknown", "mark_sent"]


def test_send_again_after_an_unknown_outcome_needs_the_confirmed_button(harness):
    fid, card = seed_and_scan(harness)[SARAH]
    harness.mailbox.silent_after_data = threading.Event()
    try:
        harness.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid))
        harness.mailbox.wait_for(1)
        settle(harness)
    finally:
        harness.mailbox.silent_after_data.set()
    harness.mailbox.silent_after_data = None
    resend = next(
        e for e in last_update_for(harness, card)[-1]["elements"] if e["action_id"] == ActionId.CARD_RESEND
    )
    assert "may already be in" in resend["confirm"]["text"]["text"]
    harness.click(ActionId.CARD_RESEND, user=DANA, card=card, value=str(fid))
    settle(harness)
    first, second = harness.mailbox.wait_for(2)
    assert first["Message-ID"] == second["Message-ID"]  # the same message: receivers can drop a duplicate
    assert followup(harness, fid).state == "sent"


def test_a_snooze_that_comes_due_during_a_slack_outage_gets_its_card_when_slack_recovers(harness):
    fid, card = seed_and_scan(harness)[SARAH]
    harness.click(ActionId.CARD_SNOOZE, user=DANA, card=card, selected=f"{fid}:1h")
    settle(harness)
    posts_before = len(harness.slack.of("chat.postMessage"))
    harness.slack.down = True
    harness.clock.advance(timedelta(hours=1, minutes=1))
    assert resurface_due(harness.deps) == [fid]
    settle(harness)
    harness.clock.advance(timedelta(seconds=30))  # a few retries, all answered 503
    settle(harness)
    assert len(followup(harness, fid).cards) == 1

    harness.slack.down = False
    harness.clock.advance(timedelta(minutes=5))
    settle(harness)
    fu = followup(harness, fid)
    assert fu.state == "pending" and len(fu.cards) == 2
    delivered = [p for p in harness.slack.of("chat.postMessage")[posts_before:] if p.args.get("blocks")]
    assert len({(p.args["channel"], json.dumps(p.args["blocks"])) for p in delivered}) >= 1
    assert ActionId.CARD_APPROVE in action_ids(delivered[-1].args["blocks"])
    harness.clock.advance(timedelta(hours=2))
    settle(harness)
    assert len(followup(harness, fid).cards) == 2  # exactly one fresh card


def test_a_card_update_that_failed_is_retried_until_the_card_matches(harness):
    fid, card = seed_and_scan(harness)[SARAH]
    harness.slack.fail_methods["chat.update"] = "internal_error"
    harness.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid))
    harness.mailbox.wait_for(1)
    settle(harness)
    assert followup(harness, fid).state == "sent"
    del harness.slack.fail_methods["chat.update"]
    harness.clock.advance(timedelta(minutes=2))
    settle(harness)
    blocks = last_update_for(harness, card)
    assert f"Sent by <@{DANA}>" in texts(blocks) and "logged to CRM" in texts(blocks)


def test_an_escalated_followup_that_was_snoozed_comes_back_to_the_escalatee(harness):
    fid, card = seed_and_scan(harness)[SARAH]
    meta = json.dumps({"followup_id": fid, "channel": card[0], "ts": card[1]})
    harness.submit(
        CallbackId.ESCALATE_MODAL,
        user=DANA,
        private_metadata=meta,
        values={
            BlockId.ESCALATE_USER: {
                ActionId.ESCALATE_USER_INPUT: {"type": "users_select", "selected_user": MANAGER}
            },
            BlockId.ESCALATE_REASON: {
                ActionId.ESCALATE_REASON_INPUT: {"type": "plain_text_input", "value": None}
            },
        },
    )
    settle(harness)
    escalation = followup(harness, fid).cards[-1]
    harness.click(
        ActionId.CARD_SNOOZE, user=MANAGER, card=(escalation.channel, escalation.ts), selected=f"{fid}:1h"
    )
    settle(harness)
    harness.clock.advance(timedelta(hours=1, minutes=1))
    resurface_due(harness.deps)
    settle(harness)
    fu = followup(harness, fid)
    assert fu.state == "escalated" and len(fu.cards) == 3 and fu.cards[-1].kind == "escalation"
    assert harness.slack.of("chat.postMessage")[-1].args["channel"] == MANAGER
    assert [e.action for e in fu.events][-2:] == ["snooze", "resurface_escalated"]
