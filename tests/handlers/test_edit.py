"""Edit: the modal opens prefilled, bad input is refused inline, the edited text is what gets sent."""

from __future__ import annotations

import json

from blocks.ids import ActionId, BlockId, CallbackId
from tests.blockkit import assert_valid_blocks, assert_valid_view, texts
from tests.builders import SARAH
from tests.conftest import DANA, OTHER
from tests.handlers.flow import followup, last_update_for, seed_and_scan, settle


def _values(subject: str, body: str) -> dict:
    return {
        BlockId.EDIT_SUBJECT: {ActionId.EDIT_SUBJECT_INPUT: {"type": "plain_text_input", "value": subject}},
        BlockId.EDIT_BODY: {ActionId.EDIT_BODY_INPUT: {"type": "plain_text_input", "value": body}},
    }


def _open_modal(harness, fid, card) -> dict:
    harness.click(ActionId.CARD_EDIT, user=DANA, card=card, value=str(fid))
    [opened] = harness.slack.wait_for("views.open")
    return opened.args["view"]


def test_edit_opens_a_prefilled_modal(harness):
    fid, card = seed_and_scan(harness)[SARAH]
    view = _open_modal(harness, fid, card)
    assert_valid_view(view)
    draft = followup(harness, fid).current_draft
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert inputs[BlockId.EDIT_SUBJECT]["initial_value"] == draft.subject
    assert inputs[BlockId.EDIT_BODY]["initial_value"] == draft.body
    assert json.loads(view["private_metadata"]) == {"followup_id": fid, "channel": card[0], "ts": card[1]}


def test_empty_body_is_refused_inline_and_nothing_is_sent(harness):
    fid, card = seed_and_scan(harness)[SARAH]
    meta = _open_modal(harness, fid, card)["private_metadata"]
    reply = harness.submit(
        CallbackId.EDIT_MODAL, user=DANA, private_metadata=meta, values=_values("Hi", "   ")
    )
    assert reply.status == 200
    assert reply.json() == {
        "response_action": "errors",
        "errors": {BlockId.EDIT_BODY: "The message can't be empty."},
    }
    assert followup(harness, fid).state == "pending"
    assert harness.mailbox.messages == []


def test_edited_version_is_sent_and_both_versions_are_kept(harness):
    fid, card = seed_and_scan(harness)[SARAH]
    meta = _open_modal(harness, fid, card)["private_metadata"]
    body = "Hi Sarah,\n\nHappy to show the dispatch board to your team. Does Thursday 2pm ET work?\n\nDana"
    reply = harness.submit(
        CallbackId.EDIT_MODAL,
        user=DANA,
        private_metadata=meta,
        values=_values("Demo for your dispatchers", body),
    )
    assert reply.status == 200 and reply.body == ""  # closes the modal

    [mail] = harness.mailbox.wait_for(1)
    assert mail["Subject"] == "Demo for your dispatchers"
    assert mail.get_content().replace("\r\n", "\n").strip() == body
    settle(harness)
    fu = followup(harness, fid)
    assert fu.state == "sent"
    assert [(d.origin, d.author) for d in fu.drafts] == [("ai", "offline"), ("edit", DANA)]
    assert fu.sent_draft_id == fu.drafts[-1].id
    edit_event = next(e for e in fu.events if e.action == "edit_and_send")
    assert edit_event.detail["body_changed"] is True
    blocks = last_update_for(harness, card)
    assert_valid_blocks(blocks)
    assert "edited before sending" in texts(blocks)


def test_edit_by_someone_else_is_refused(harness):
    fid, card = seed_and_scan(harness)[SARAH]
    harness.click(ActionId.CARD_EDIT, user=OTHER, card=card, value=str(fid))
    [refusal] = harness.slack.wait_for_response(1)
    assert "Only the follow-up's owner" in refusal["text"]
    assert harness.slack.of("views.open") == []


def test_a_forged_submission_past_the_modal_limits_is_refused_inline(harness):
    """Slack enforces the inputs' max_length; a submission that does not (or a subject with a line break,
    which would be a header injection) is refused, not stored, and its text kept in the modal."""
    fid, card = seed_and_scan(harness)[SARAH]
    meta = _open_modal(harness, fid, card)["private_metadata"]
    cases = [
        ("s" * 201, "Body", BlockId.EDIT_SUBJECT),
        ("Hi\r\nBcc: attacker@evil.example", "Body", BlockId.EDIT_SUBJECT),
        ("Hi", "b" * 2901, BlockId.EDIT_BODY),
    ]
    for subject, body, block in cases:
        reply = harness.submit(
            CallbackId.EDIT_MODAL, user=DANA, private_metadata=meta, values=_values(subject, body)
        )
        assert reply.status == 200 and list(reply.json()["errors"]) == [block], reply.body
    fu = followup(harness, fid)
    assert fu.state == "pending" and len(fu.drafts) == 1
    assert harness.mailbox.messages == []


def test_history_shows_the_ai_steps_the_edit_as_a_diff_the_decisions_and_the_final_text(harness):
    fid, card = seed_and_scan(harness)[SARAH]
    meta = _open_modal(harness, fid, card)["private_metadata"]
    ai_body = followup(harness, fid).current_draft.body
    body = ai_body.replace("\n\n", "\n\nOne more line about Thursday.\n\n", 1)
    assert harness.submit(CallbackId.EDIT_MODAL, user=DANA, private_metadata=meta,
                          values=_values("Demo on Thursday", body)).status == 200  # fmt: skip
    harness.mailbox.wait_for(1)
    settle(harness)
    harness.slack.calls.clear()
    assert harness.click(ActionId.CARD_HISTORY, user=DANA, card=card, value=str(fid)).status == 200
    [opened] = harness.slack.wait_for("views.open")
    view = opened.args["view"]
    assert_valid_view(view)
    assert view["callback_id"] == CallbackId.HISTORY_MODAL and view["title"]["text"] == "History"
    shown = texts(view["blocks"])
    assert "*classify* by offline" in shown and "*draft* by offline" in shown  # every pipeline step
    assert "*AI draft*" in shown
    assert f"*Edited by <@{DANA}>*: “Demo on Thursday”" in shown
    assert "+One more line about Thursday." in shown  # the edit as a diff
    assert f"*Edited and approved* by <@{DANA}> → sending" in shown
    assert "*Delivered to the mail server*" in shown
    assert "*Final text, sent" in shown and "Demo on Thursday" in shown
    # someone who cannot see the card cannot open its history
    harness.click(ActionId.CARD_HISTORY, user=OTHER, card=card, value=str(fid), response="no")
    [refusal] = harness.slack.wait_for_response(1)
    assert "Only the follow-up's owner" in refusal["text"]
    assert len(harness.slack.of("views.open")) == 1
