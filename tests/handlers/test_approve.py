"""Approve & send, end to end: signed click → SMTP once → CRM log → card updated."""

from __future__ import annotations

import threading

from blocks.ids import ActionId
from crm.tables import CrmEngagement
from tests.blockkit import action_ids, assert_valid_blocks, texts
from tests.builders import SARAH
from tests.conftest import DANA, OTHER
from tests.handlers.flow import followup, last_update_for, seed_and_scan, settle


def test_scan_posts_a_card_to_the_owners_dm(harness):
    cards = seed_and_scan(harness)
    posts = harness.slack.of("chat.postMessage")
    assert [p.args["channel"] for p in posts] == [DANA, DANA]  # owner found by email → DM
    fid, _ = cards[SARAH]
    post = next(p for p in posts if "Sarah Chen" in texts(p.args["blocks"]))
    assert_valid_blocks(post.args["blocks"])
    shown = texts(post.args["blocks"])
    assert "Inbound form submission on Tue 17 Nov unanswered" in shown
    assert "Could we see a demo for our 40 dispatchers" in shown  # the real last interaction
    assert action_ids(post.args["blocks"]) == [
        ActionId.CARD_APPROVE,
        ActionId.CARD_EDIT,
        ActionId.CARD_SNOOZE,
        ActionId.CARD_ESCALATE,
        ActionId.CARD_DISMISS,
        ActionId.CARD_HISTORY,
    ]
    assert followup(harness, fid).state == "pending"


def test_approve_sends_once_logs_to_crm_and_updates_the_card(harness):
    fid, card = seed_and_scan(harness)[SARAH]
    draft_body = followup(harness, fid).current_draft.body

    reply = harness.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid))
    assert reply.status == 200

    [mail] = harness.mailbox.wait_for(1)
    assert mail["To"] == "sarah.chen@northwind.example"
    assert "dana.whitfield@followup-demo.com" in mail["From"]
    assert mail.get_content().replace("\r\n", "\n").strip() == draft_body.strip()
    settle(harness)  # sent, logged, and every card updated
    fu = followup(harness, fid)
    assert fu.state == "sent" and fu.sent_by == DANA
    assert mail["Message-ID"] == fu.message_id and fu.message_id.startswith(f"<followup-{fid}.")

    with harness.deps.db.session() as s:
        logged = s.query(CrmEngagement).filter_by(message_id=fu.message_id).one()
        assert (logged.type, logged.direction, logged.contact_id) == ("email", "outbound", SARAH)
        assert logged.body == draft_body

    blocks = last_update_for(harness, card)
    assert_valid_blocks(blocks)
    assert f"Sent by <@{DANA}>" in texts(blocks) and "logged to CRM" in texts(blocks)
    assert action_ids(blocks) == [ActionId.CARD_HISTORY]  # buttons removed, but for History
    assert [e.action for e in fu.events] == ["create", "approve", "delivered"]


def test_double_click_sends_exactly_once(harness):
    fid, card = seed_and_scan(harness)[SARAH]
    replies = []

    def click(name: str) -> None:
        replies.append(
            harness.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid), response=name)
        )

    threads = [threading.Thread(target=click, args=(f"c{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status for r in replies] == [200, 200, 200]
    harness.mailbox.wait_for(1)
    refusals = harness.slack.wait_for_response(2)
    assert len(harness.mailbox.messages) == 1
    assert all(r["response_type"] == "ephemeral" for r in refusals)
    assert all(
        "nothing was changed" in r["text"] or "already" in r["text"] or "being sent" in r["text"]
        for r in refusals
    )
    assert [e.action for e in followup(harness, fid).events].count("approve") == 1


def test_approve_after_sent_is_refused(harness):
    fid, card = seed_and_scan(harness)[SARAH]
    harness.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid))
    harness.mailbox.wait_for(1)
    settle(harness)
    harness.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid), response="stale")
    [refusal] = harness.slack.wait_for_response(1)
    assert "already sent" in refusal["text"]
    assert len(harness.mailbox.messages) == 1


def test_non_owner_is_refused_and_nothing_changes(harness):
    fid, card = seed_and_scan(harness)[SARAH]
    harness.click(ActionId.CARD_APPROVE, user=OTHER, card=card, value=str(fid))
    [refusal] = harness.slack.wait_for_response(1)
    assert "Only the follow-up's owner" in refusal["text"]
    assert refusal["response_type"] == "ephemeral"
    assert harness.mailbox.messages == []
    fu = followup(harness, fid)
    assert fu.state == "pending" and [e.action for e in fu.events] == ["create"]


def test_failed_send_keeps_the_followup_and_offers_retry(harness):
    fid, card = seed_and_scan(harness)[SARAH]
    harness.mailbox.reject_with = "554 5.7.1 Relay access denied"
    harness.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid))
    settle(harness)
    fu = followup(harness, fid)
    assert fu.state == "failed" and "Relay access denied" in (fu.last_error or "")
    blocks = last_update_for(harness, card)
    assert_valid_blocks(blocks)
    assert "Relay access denied" in texts(blocks)
    assert action_ids(blocks) == [ActionId.CARD_RETRY, ActionId.CARD_DISMISS, ActionId.CARD_HISTORY]

    harness.mailbox.reject_with = None
    harness.click(ActionId.CARD_RETRY, user=DANA, card=card, value=str(fid))
    [mail] = harness.mailbox.wait_for(1)
    assert mail["Message-ID"] == fu.message_id  # the same message, so a receiver can spot a duplicate
    settle(harness)
    assert followup(harness, fid).state == "sent"


def test_a_send_cut_off_before_the_handover_goes_out_once_after_a_restart(harness):
    """The app stopped after the click was stored but before the mail server saw anything: the queued send
    survives the restart, and goes out once the dead worker's lease has run out."""
    from datetime import timedelta

    from bot.services import review
    from bot.states import Action

    fid, card = seed_and_scan(harness)[SARAH]
    harness.runtime.workers.stop()  # the process dies right after storing the approval
    review.claim(harness.deps, fid, actor=DANA, action=Action.APPROVE)

    restarted = harness.restart()
    try:
        [mail] = restarted.mailbox.wait_for(1)
        assert mail["Message-ID"] == followup(restarted, fid).message_id
        settle(restarted)
        fu = followup(restarted, fid)
        assert fu.state == "sent" and fu.crm_engagement_id
        restarted.clock.advance(timedelta(minutes=10))
        settle(restarted)
        assert len(restarted.mailbox.messages) == 1
        assert_valid_blocks(last_update_for(restarted, card))
    finally:
        restarted.stop()
