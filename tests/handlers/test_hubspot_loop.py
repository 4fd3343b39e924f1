"""The same loop with HubSpot as the CRM: triggers read from HubSpot, the sent email is logged there."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

from blocks.ids import ActionId, BlockId, CallbackId
from bot.services import scan
from tests.blockkit import texts
from tests.builders import DANA_EMAIL, DEAL, DEMO_REQUEST, OMAR, SARAH
from tests.conftest import DANA
from tests.handlers.flow import last_update_for as last_update
from tests.handlers.flow import settle


def test_hubspot_lead_is_drafted_approved_sent_and_logged(hubspot_harness, hubspot):
    h = hubspot_harness
    assert h.deps.crm.name == "hubspot"
    result = scan.scan(h.deps)
    assert len(result.created) == 2
    settle(h)
    assert len(h.slack.of("chat.postMessage")) == 2
    post = next(p for p in h.slack.of("chat.postMessage") if "Sarah Chen" in texts(p.args["blocks"]))
    assert DEMO_REQUEST[:40] in texts(post.args["blocks"])

    fid, card = _card_of(h, SARAH)
    h.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid))
    [mail] = h.mailbox.wait_for(1)
    settle(h)
    [logged] = [c for c in hubspot.created if c["kind"] == "emails"]
    assert logged["properties"]["hs_email_text"] == mail.get_content().replace("\r\n", "\n").strip()
    assert logged["properties"]["hubspot_owner_id"] == "501"
    assert mail["Message-ID"] in logged["properties"]["hs_email_headers"]
    assert logged["associations"][0]["to"]["id"] == SARAH


def test_the_writeback_logs_from_and_to_with_all_associations_and_the_trail_and_task_once(
    hubspot_harness, hubspot
):
    h = hubspot_harness
    scan.scan(h.deps)
    settle(h)
    fid, card = _card_of(h, OMAR)
    hubspot.lose_next_create = {"notes", "tasks"}  # HubSpot writes both, but the answers are lost
    h.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid))
    h.mailbox.wait_for(1)
    settle(h)
    for _ in range(2):  # the queue's retries come due: one for the note, one for the task
        h.clock.advance(timedelta(minutes=10))
        settle(h)

    by_kind = {k: [c for c in hubspot.created if c["kind"] == k] for k in ("emails", "notes", "tasks")}
    assert [len(v) for v in by_kind.values()] == [1, 1, 1]  # each written once, retries found them
    [email], [note], [task] = by_kind.values()
    headers = json.loads(email["properties"]["hs_email_headers"])
    assert headers["from"] == {"email": DANA_EMAIL} and headers["to"] == [
        {"email": "omar.haddad@bluepeak.example"}
    ]
    assert email["properties"]["hs_timestamp"].isdigit()  # epoch milliseconds
    targets = {(a["to"]["id"], a["types"][0]["associationTypeId"]) for a in email["associations"]}
    assert targets == {(OMAR, 198), ("202", 186), (DEAL, 210)}  # contact, company, deal
    trail = note["properties"]["hs_note_body"]
    assert "Trigger:" in trail and "AI summary" in trail and "approved and sent by Dana Whitfield" in trail
    assert {a["to"]["id"] for a in note["associations"]} == {OMAR, "202", DEAL}
    assert (
        task["properties"]["hubspot_owner_id"] == "501"
        and task["properties"]["hs_task_status"] == "NOT_STARTED"
    )
    with h.deps.db.session() as s:
        from bot.models import CrmWrite

        kinds = {w.kind: w.crm_id for w in s.query(CrmWrite).filter_by(followup_id=fid)}
    assert kinds == {
        "email": f"emails-{email['id']}",
        "trail": f"notes-{note['id']}",
        "task": f"tasks-{task['id']}",
    }
    # the note and the task are not mistaken for an interaction with the lead on the next scan
    history = h.deps.crm.engagements_for(contact_id=OMAR, deal_id=DEAL)
    assert all("review trail" not in e.body for e in history)


def test_an_edit_shows_as_a_diff_and_a_dismissal_writes_the_trail(hubspot_harness, hubspot):
    h = hubspot_harness
    scan.scan(h.deps)
    settle(h)
    fid, card = _card_of(h, SARAH)
    meta = json.dumps({"followup_id": fid, "channel": card[0], "ts": card[1]})
    values = {
        BlockId.DISMISS_REASON: {ActionId.DISMISS_REASON_INPUT: {"selected_option": {"value": "other"}}},
        BlockId.DISMISS_NOTE: {ActionId.DISMISS_NOTE_INPUT: {"value": "They bought from a competitor"}},
    }
    assert h.submit(CallbackId.DISMISS_MODAL, user=DANA, private_metadata=meta, values=values).status == 200
    settle(h)
    [note] = [c for c in hubspot.created if c["kind"] == "notes"]
    body = note["properties"]["hs_note_body"]
    assert "dismissed by Dana Whitfield" in body and "They bought from a competitor" in body
    assert not [c for c in hubspot.created if c["kind"] in ("emails", "tasks")]


def test_a_lead_who_wrote_to_the_inbox_gets_the_reply_on_that_thread(hubspot_harness, hubspot):
    h = hubspot_harness
    hubspot.add_thread("8801", SARAH)
    scan.scan(h.deps)
    settle(h)
    fid, card = _card_of(h, SARAH)
    h.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid))
    settle(h)
    [reply] = hubspot.thread_messages
    assert reply["threadId"] == "8801" and reply["senderActorId"] == "A-1"  # Dana's HubSpot user
    assert reply["recipients"][0]["deliveryIdentifiers"] == [
        {"type": "HS_EMAIL_ADDRESS", "value": "sarah.chen@northwind.example"}
    ]
    assert h.mailbox.messages == []  # not also sent over SMTP
    assert not [
        c for c in hubspot.created if c["kind"] == "emails"
    ]  # on the timeline already: not logged twice
    assert [c["kind"] for c in hubspot.created] == ["notes", "tasks"]
    shown = texts(last_update(h, card))
    assert "on the HubSpot inbox thread" in shown and "logged to CRM" in shown


def test_a_hung_reply_on_the_thread_is_never_sent_twice(hubspot_harness, hubspot):
    h = hubspot_harness
    hubspot.add_thread("8801", SARAH)
    scan.scan(h.deps)
    settle(h)
    fid, card = _card_of(h, SARAH)
    hubspot.hold_creates = threading.Event()  # HubSpot takes the reply; its answer never comes in time
    try:
        h.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid))
        settle(h, timeout=60)
    finally:
        hubspot.hold_creates.set()
    assert len(hubspot.thread_messages) == 1
    h.clock.advance(timedelta(hours=1))
    settle(h)
    assert len(hubspot.thread_messages) == 1 and h.mailbox.messages == []
    from tests.handlers.flow import followup

    fu = followup(h, fid)
    assert fu.state == "unknown"  # a person decides: "It was sent" or "Send again"
    assert "inbox thread" in (fu.last_error or "") and "mail server" not in (fu.last_error or "")


def test_without_the_conversations_scope_the_reply_goes_by_email(hubspot_harness, hubspot):
    h = hubspot_harness
    hubspot.add_thread("8801", SARAH)
    hubspot.scopes -= {"conversations.read", "conversations.write"}
    scan.scan(h.deps)
    settle(h)
    fid, card = _card_of(h, SARAH)
    h.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid))
    h.mailbox.wait_for(1)
    settle(h)
    assert hubspot.thread_messages == []
    assert "by email" in texts(last_update(h, card))


def test_an_owner_the_inbox_cannot_send_as_gets_the_reply_sent_by_email(hubspot_harness, hubspot):
    h = hubspot_harness
    hubspot.add_thread("8801", SARAH)
    del hubspot.owners["501"]["userId"]  # an owner record with no HubSpot user behind it
    scan.scan(h.deps)
    settle(h)
    fid, card = _card_of(h, SARAH)
    h.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid))
    h.mailbox.wait_for(1)
    settle(h)
    assert hubspot.thread_messages == []
    assert "by email" in texts(last_update(h, card))


def _card_of(h, contact_id: str) -> tuple[int, tuple[str, str]]:
    """The contact's follow-up id and (channel, ts) of its card."""
    from bot.models import FollowUp

    with h.deps.db.session() as s:
        fu = s.query(FollowUp).filter_by(contact_id=contact_id).one()
        return fu.id, (fu.cards[0].channel, fu.cards[0].ts)
