"""Escalate: to the escalation channel or a person, with context and a link; the original says so."""

from __future__ import annotations

from blocks.ids import ActionId, BlockId, CallbackId
from tests.blockkit import action_ids, assert_valid_blocks, assert_valid_view, texts
from tests.builders import OMAR
from tests.conftest import DANA, ESCALATION_CHANNEL, MANAGER, OTHER
from tests.handlers.flow import followup, last_update_for, seed_and_scan, settle


def _escalate(harness, fid, card, *, person=None, reason="They ask for a 20% discount"):
    harness.click(ActionId.CARD_ESCALATE, user=DANA, card=card, value=str(fid))
    view = harness.slack.wait_for("views.open")[-1].args["view"]
    assert_valid_view(view)
    values = {
        BlockId.ESCALATE_USER: {
            ActionId.ESCALATE_USER_INPUT: {"type": "users_select", "selected_user": person}
        },
        BlockId.ESCALATE_REASON: {
            ActionId.ESCALATE_REASON_INPUT: {"type": "plain_text_input", "value": reason}
        },
    }
    return harness.submit(
        CallbackId.ESCALATE_MODAL, user=DANA, private_metadata=view["private_metadata"], values=values
    )


def test_escalate_to_the_channel_posts_context_and_a_link(harness):
    fid, card = seed_and_scan(harness)[OMAR]
    posted = len(harness.slack.of("chat.postMessage"))
    reply = _escalate(harness, fid, card)
    assert reply.status == 200 and reply.body == ""
    post = harness.slack.wait_for("chat.postMessage", posted + 1)[-1]
    assert post.args["channel"] == ESCALATION_CHANNEL
    blocks = post.args["blocks"]
    assert_valid_blocks(blocks)
    shown = texts(blocks)
    assert "Escalated: Omar Haddad" in shown and "20% discount" in shown
    link = next(
        b["accessory"]
        for b in blocks
        if b.get("accessory", {}).get("action_id") == ActionId.CARD_OPEN_ORIGINAL
    )
    assert link["url"] == f"https://acme.slack.com/archives/{card[0]}/p{card[1].replace('.', '')}"

    settle(harness)
    original = last_update_for(harness, card)
    assert_valid_blocks(original)
    assert f"Escalated to <#{ESCALATION_CHANNEL}> by <@{DANA}>" in texts(original)
    fu = followup(harness, fid)
    assert fu.state == "escalated" and fu.escalated_to == ESCALATION_CHANNEL
    assert fu.events[-1].detail == {"to": ESCALATION_CHANNEL, "reason": "They ask for a 20% discount"}

    # anyone in the escalation channel can decide from the escalated card
    esc_card = (post.args["channel"], next(c.ts for c in fu.cards if c.kind == "escalation"))
    harness.click(ActionId.CARD_APPROVE, user=OTHER, card=esc_card, value=str(fid))
    harness.mailbox.wait_for(1)


def test_escalate_to_a_person_who_can_then_act(harness):
    fid, card = seed_and_scan(harness)[OMAR]
    _escalate(harness, fid, card, person=MANAGER, reason=None)
    post = harness.slack.wait_for("chat.postMessage", 3)[-1]
    assert post.args["channel"] == MANAGER
    assert ActionId.CARD_APPROVE in action_ids(post.args["blocks"])
    settle(harness)  # the escalation card is stored and every card refreshed
    fu = followup(harness, fid)
    esc = next(c for c in fu.cards if c.kind == "escalation")
    harness.click(ActionId.CARD_SNOOZE, user=MANAGER, card=(esc.channel, esc.ts), selected=f"{fid}:3d")
    settle(harness)
    assert followup(harness, fid).state == "snoozed"
    assert not harness.slack.responses  # no refusal


def test_escalating_to_yourself_is_refused_inline(harness):
    fid, card = seed_and_scan(harness)[OMAR]
    reply = _escalate(harness, fid, card, person=DANA)
    assert reply.json()["response_action"] == "errors"
    assert BlockId.ESCALATE_USER in reply.json()["errors"]
    assert followup(harness, fid).state == "pending"


def test_escalation_channel_the_app_is_not_in_is_explained(harness):
    fid, card = seed_and_scan(harness)[OMAR]
    harness.slack.fail_channels[ESCALATION_CHANNEL] = "not_in_channel"
    _escalate(harness, fid, card)
    [dm] = [
        c
        for c in harness.slack.wait_for("chat.postMessage", 4)
        if c.args["channel"] == DANA and "text" in c.args and "could not be posted" in c.args["text"]
    ]
    assert "not_in_channel" in dm.args["text"] and "invite the app" in dm.args["text"]
    settle(harness)
    assert f"Escalated to <#{ESCALATION_CHANNEL}>" in texts(last_update_for(harness, card))
    assert followup(harness, fid).state == "escalated"
