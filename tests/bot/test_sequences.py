"""Sequences end to end on the running app (fake Slack, the embedded CRM, a real SMTP server, a pinned
clock): every touch to the break-up and "sequence completed", each stop rule, and an out-of-office reply
that moves the next touch instead of stopping it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from blocks.ids import ActionId
from bot.models import FollowUp, Sequence
from bot.services import replies, scan, touches
from crm.tables import CrmContact, CrmDeal, CrmEngagement
from tests.blockkit import assert_valid_blocks, texts
from tests.builders import OMAR, SARAH, small_book
from tests.conftest import DANA
from tests.handlers.flow import followup, last_update_for, seed_and_scan, settle
from tests.mail.messages import bounce_report

# NOW is Wed 18 Nov 2026, 15:00 in New York. Thanksgiving (Thu 26 Nov) is a US holiday.


@pytest.fixture
def config_file(config_file: Path) -> Path:
    config_file.write_text(
        config_file.read_text()
        + """
[sequences]
nurture_after_days = 60
"""
    )
    return config_file


def at(text: str) -> datetime:
    """An instant written in New York time ('2026-11-23 15:00')."""
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)


def move_to(h, when: datetime) -> None:  # type: ignore[no-untyped-def]
    h.clock.advance(when - h.clock.now())


def card_of(h, fid: int) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    fu = followup(h, fid)
    assert fu.cards, f"follow-up {fid} has no card"
    return fu.cards[0].channel, fu.cards[0].ts


def approve(h, fid: int, mails: int) -> None:  # type: ignore[no-untyped-def]
    """Approve & send on the card, and wait for the email (the `mails`-th one) and its CRM log."""
    reply = h.click(ActionId.CARD_APPROVE, user=DANA, card=card_of(h, fid), value=str(fid))
    assert reply.status == 200
    h.mailbox.wait_for(mails)
    settle(h)
    assert followup(h, fid).state == "sent"


def sequence_of(h, fid: int) -> Sequence:  # type: ignore[no-untyped-def]
    with h.deps.db.session() as s:
        seq = s.get(Sequence, followup(h, fid).sequence_id)
        assert seq is not None
        return seq


def touch(h, sequence_id: int, number: int) -> FollowUp | None:  # type: ignore[no-untyped-def]
    with h.deps.db.session() as s:
        return s.scalar(select(FollowUp).where(FollowUp.sequence_id == sequence_id, FollowUp.touch == number))


def tick(h) -> touches.TickResult:  # type: ignore[no-untyped-def]
    result = touches.tick(h.deps)
    settle(h)
    return result


def posted_blocks(h, fid: int) -> list[dict]:  # type: ignore[no-untyped-def]
    """The card as first posted (its buttons carry the follow-up's id)."""
    settle(h)
    for call in h.slack.of("chat.postMessage"):
        blocks = call.args.get("blocks") or []
        values = {e.get("value") for b in blocks if b.get("type") == "actions" for e in b["elements"]}
        if str(fid) in values:
            return blocks
    raise AssertionError(f"no card posted for follow-up {fid}")


def test_a_contact_walks_every_touch_to_the_break_up_and_sequence_completed(harness):
    h = harness
    fid = seed_and_scan(h)[SARAH][0]
    assert "Touch 1 of 3" in texts(posted_blocks(h, fid))
    approve(h, fid, 1)
    seq = sequence_of(h, fid)
    assert (seq.state, seq.touch, seq.touches) == ("active", 1, 3)
    assert seq.next_touch_at == at("2026-11-23 15:00")  # 3 business days after Wed 15:00
    sent_card = last_update_for(h, card_of(h, fid))
    assert "Touch 2 of 3 comes due" in texts(sent_card)

    move_to(h, at("2026-11-23 14:59"))
    assert tick(h).drafted == []  # not due yet
    move_to(h, at("2026-11-23 15:00"))
    second = tick(h).drafted
    assert len(second) == 1
    fu2 = followup(h, second[0])
    assert (fu2.touch, fu2.state, fu2.contact_id) == (2, "pending", SARAH)
    blocks = posted_blocks(h, fu2.id)
    assert_valid_blocks(blocks)
    assert "Touch 2 of 3" in texts(blocks) and "Touch 2 of 3: no reply to touch 1, sent Wed 18 Nov" in texts(
        blocks
    )
    approve(h, fu2.id, 2)
    # 5 business days after Mon 23 Nov, skipping Thanksgiving: Tue 1 Dec
    assert sequence_of(h, fid).next_touch_at == at("2026-12-01 15:00")

    move_to(h, at("2026-11-30 15:00"))
    assert tick(h).drafted == []
    move_to(h, at("2026-12-01 15:00"))
    [third] = tick(h).drafted
    fu3 = followup(h, third)
    assert fu3.touch == 3
    assert "Touch 3 of 3 (break-up)" in texts(posted_blocks(h, third))
    assert fu3.current_draft.subject.startswith("Closing the loop")  # the pipeline's break-up step
    approve(h, third, 3)
    assert sequence_of(h, fid).completes_at == at("2026-12-04 15:00")

    move_to(h, at("2026-12-04 15:00"))
    result = tick(h)
    assert result.completed == [seq.id]
    done = sequence_of(h, fid)
    assert done.state == "completed" and done.outcome == "Sequence completed: no reply after 3 touches"
    with h.deps.db.session() as s:
        assert s.get(CrmContact, SARAH).sequence_status == "completed: inbound_no_response 2026-12-04"
    assert "Sequence completed: no reply after 3 touches" in texts(last_update_for(h, card_of(h, third)))
    mails = h.mailbox.messages
    assert len(mails) == 3 and len({m["Message-ID"] for m in mails}) == 3
    assert all(m["To"] == "sarah.chen@northwind.example" for m in mails)

    # nurture hand-off: kept in the database, comes due 60 days later as its own card
    with h.deps.db.session() as s:
        [nurture] = s.scalars(select(Sequence).where(Sequence.origin == "nurture")).all()
        assert (nurture.parent_id, nurture.state, nurture.touch) == (seq.id, "active", 0)
        assert nurture.next_touch_at == h.clock.now() + timedelta(days=60)
    move_to(h, at("2027-02-02 15:00"))
    [check_in] = tick(h).drafted
    assert followup(h, check_in).rule == "closed_lost_nurture"
    assert "Nurture check-in" in texts(posted_blocks(h, check_in))
    assert len(h.mailbox.messages) == 3  # nothing sent without a person


def test_a_completed_sequence_is_never_entered_again_unless_they_write_back(harness):
    h = harness
    now = h.clock.now()
    small_book(h.deps.db, now)
    with h.deps.db.session() as s:  # Omar's stale-deal sequence ran its course ten days ago
        s.add(
            Sequence(
                rule="stale_deal",
                origin="rule",
                contact_id=OMAR,
                contact_email="omar.haddad@bluepeak.example",
                contact_name="Omar Haddad",
                touches=3,
                touch=3,
                state="completed",
                since_at=now - timedelta(days=40),
                ended_at=now - timedelta(days=10),
                created_at=now,
                updated_at=now,
            )
        )
    result = scan.scan(h.deps)
    assert result.finished == 1
    assert [followup(h, f).contact_id for f in result.created] == [SARAH]
    with h.deps.db.session() as s:
        s.add(
            CrmEngagement(
                id="990",
                type="email",
                direction="inbound",
                occurred_at=now - timedelta(days=1),
                subject="Re: pilot",
                body="Can we pick this up again?",
                contact_id=OMAR,
                owner_id="501",
            )
        )
    again = scan.scan(h.deps)
    assert again.finished == 0  # they wrote back: welcome again
    assert [followup(h, f).contact_id for f in again.created] == [OMAR]


def between_touches(h):  # type: ignore[no-untyped-def]
    """Sarah's first touch sent; her sequence waits for the second."""
    fid = seed_and_scan(h)[SARAH][0]
    approve(h, fid, 1)
    return fid, sequence_of(h, fid)


def assert_stopped(h, fid: int, seq_id: int, why: str) -> None:  # type: ignore[no-untyped-def]
    with h.deps.db.session() as s:
        seq = s.get(Sequence, seq_id)
        assert seq.state == "stopped", seq.outcome
        assert why in seq.outcome
    shown = texts(last_update_for(h, card_of(h, fid)))
    assert "Sequence stopped:" in shown and why in shown
    move_to(h, at("2026-11-24 10:00"))  # past the second touch's day: nothing is drafted, nothing sent
    assert tick(h).drafted == []
    assert len(h.mailbox.messages) == 1


def inbound(
    h, eid: str, contact: str, kind: str = "email", body: str = "Thanks, let us talk Monday."
) -> None:  # type: ignore[no-untyped-def]
    with h.deps.db.session() as s:
        s.add(CrmEngagement(id=eid, type=kind, direction="inbound" if kind != "meeting" else None,
                            occurred_at=h.clock.now() + timedelta(hours=1), subject="Re: demo", body=body,
                            contact_id=contact, owner_id="501"))  # fmt: skip


def test_the_contact_replying_in_the_crm_stops_it_and_the_owner_gets_the_first_lines(harness):
    h = harness
    fid, seq = between_touches(h)
    inbound(h, "980", SARAH, body="Thanks, let us talk Monday about the 40 seats.")
    move_to(h, h.clock.now() + timedelta(hours=2))
    assert scan.scan(h.deps).stopped == [seq.id]
    settle(h)
    dm = [
        c
        for c in h.slack.of("chat.postMessage")
        if c.args["channel"] == DANA and "sequence stopped" in c.args.get("text", "")
    ]
    assert dm and "let us talk Monday about the 40 seats" in dm[-1].args["text"]
    assert_stopped(h, fid, seq.id, "Sarah Chen replied: an email on Wed 18 Nov")


def test_a_reply_logged_in_the_crm_while_a_touch_waits_ends_that_touch_in_place(harness):
    h = harness
    fid, _ = between_touches(h)
    move_to(h, at("2026-11-23 15:00"))
    [second] = tick(h).drafted
    inbound(h, "983", SARAH, body="Sorry for the silence, Thursday is good.")
    move_to(h, h.clock.now() + timedelta(hours=2))
    assert scan.scan(h.deps).resolved == [second]
    settle(h)
    waiting = followup(h, second)
    assert waiting.state == "resolved"
    assert waiting.outcome_reason == "Sarah Chen replied: an email on Mon 23 Nov — sequence stopped"
    assert "Sarah Chen replied: an email on Mon 23 Nov — sequence stopped" in texts(
        last_update_for(h, card_of(h, second))
    )
    dm = [c for c in h.slack.of("chat.postMessage") if "sequence stopped" in c.args.get("text", "")]
    assert dm and "Sorry for the silence, Thursday is good." in dm[-1].args["text"]
    assert sequence_of(h, fid).state == "stopped" and len(h.mailbox.messages) == 1


def test_a_colleague_at_the_same_company_replying_stops_it(harness):
    h = harness
    fid, seq = between_touches(h)
    with h.deps.db.session() as s:
        s.add(
            CrmContact(
                id="103",
                email="li.wei@northwind.example",
                first_name="Li",
                last_name="Wei",
                company_id="201",
                owner_id="501",
                created_at=h.clock.now(),
            )
        )
    inbound(h, "981", "103", body="Sarah is out; I can take the demo.")
    move_to(h, h.clock.now() + timedelta(hours=2))
    assert scan.scan(h.deps).stopped == [seq.id]
    settle(h)
    assert_stopped(h, fid, seq.id, "Li Wei, at the same company, got in touch")


def test_a_meeting_booked_stops_it(harness):
    h = harness
    fid, seq = between_touches(h)
    inbound(h, "982", SARAH, kind="meeting", body="Demo")
    move_to(h, h.clock.now() + timedelta(hours=2))
    assert scan.scan(h.deps).stopped == [seq.id]
    settle(h)
    assert_stopped(h, fid, seq.id, "A meeting was booked")


def test_an_unsubscribe_stops_it_at_once(harness):
    h = harness
    fid, seq = between_touches(h)
    [mail] = h.mailbox.messages
    path = mail["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0].split("/unsubscribe/", 1)[1]
    assert h.request("POST", f"/unsubscribe/{path}", b"List-Unsubscribe=One-Click").status == 200
    settle(h)
    assert_stopped(h, fid, seq.id, "Unsubscribed (sarah.chen@northwind.example) with the link in our email")


def test_a_hard_bounce_stops_it(harness):
    h = harness
    fid, seq = between_touches(h)
    sent = followup(h, fid)
    raw = bounce_report(sent.contact_email, sent.message_id or "").replace("\n", "\r\n").encode()
    replies.handle(h.deps, "INBOX", 1, 1, raw, replies.PollResult())
    settle(h)
    assert_stopped(h, fid, seq.id, "Mail to sarah.chen@northwind.example bounced (5.1.1)")


@pytest.mark.parametrize(
    ("stage", "why"),
    [
        ("decisionmakerboughtin", "moved from presentationscheduled to decisionmakerboughtin"),
        ("closedwon", "was closed won"),
    ],
)
def test_the_deal_moving_stage_or_closing_stops_it(harness, stage, why):
    h = harness
    cards = seed_and_scan(h)
    fid = cards[OMAR][0]
    approve(h, fid, 1)
    seq = sequence_of(h, fid)
    assert seq.deal_stage == "presentationscheduled"
    with h.deps.db.session() as s:
        s.get(CrmDeal, "301").stage = stage
    assert scan.scan(h.deps).stopped == [seq.id]
    settle(h)
    assert_stopped(h, fid, seq.id, why)


def test_a_reply_read_from_the_mailbox_stops_the_open_touch_and_its_card_says_so(harness):
    h = harness
    fid, _ = between_touches(h)
    move_to(h, at("2026-11-23 15:00"))
    [second] = tick(h).drafted
    received = h.clock.now() - timedelta(minutes=10)
    raw = f"""From: Sarah Chen <sarah.chen@northwind.example>
To: dana.whitfield@followup-demo.com
Subject: Re: demo
Message-ID: <r9@northwind.example>
In-Reply-To: {followup(h, fid).message_id}
Date: {received.strftime("%a, %d %b %Y %H:%M:%S +0000")}

Yes, Thursday at 10 works.
"""
    replies.handle(h.deps, "INBOX", 1, 7, raw.replace("\n", "\r\n").encode(), replies.PollResult())
    settle(h)
    stopped = followup(h, second)
    assert stopped.state == "resolved"
    assert stopped.outcome_reason == "Sarah Chen replied 10 min ago (Mon 23 Nov 19:50) — sequence stopped"
    assert "Sarah Chen replied 10 min ago" in texts(last_update_for(h, card_of(h, second)))
    assert sequence_of(h, fid).state == "stopped"


def test_an_out_of_office_reply_moves_the_next_touch_instead_of_stopping_it(harness):
    h = harness
    fid, _ = between_touches(h)
    raw = f"""From: Sarah Chen <sarah.chen@northwind.example>
To: dana.whitfield@followup-demo.com
Subject: Out of Office: Re: demo
Auto-Submitted: auto-replied
Message-ID: <ooo1@northwind.example>
In-Reply-To: {followup(h, fid).message_id}
Date: Wed, 18 Nov 2026 20:05:00 +0000

I am away until 27 November 2026 with limited access to email.
"""
    replies.handle(h.deps, "INBOX", 1, 3, raw.replace("\n", "\r\n").encode(), replies.PollResult())
    settle(h)
    moved = sequence_of(h, fid)
    assert moved.state == "active"  # an auto-reply stops nothing
    assert moved.hold_until == at("2026-11-30 09:00")  # the working day after Fri 27 Nov
    assert moved.next_touch_at == at("2026-11-30 09:00")  # was Mon 23 Nov 15:00
    assert "away until" in texts(last_update_for(h, card_of(h, fid)))
    move_to(h, at("2026-11-23 15:00"))
    assert tick(h).drafted == []  # the touch's old day: nothing while they are away
    move_to(h, at("2026-11-30 09:00"))
    [second] = tick(h).drafted
    assert followup(h, second).touch == 2


def test_a_return_date_is_read_from_the_auto_reply():
    from bot.mail import inbound

    item = inbound.parse(
        b"From: s@n.example\r\nSubject: Out of Office\r\nAuto-Submitted: auto-replied\r\n"
        b"Date: Wed, 18 Nov 2026 20:05:00 +0000\r\n\r\nI am away until 27 November 2026.\r\n"
    )
    assert item is not None and item.return_date == date(2026, 11, 27)


def test_an_out_of_office_holds_an_approved_touch_waiting_for_its_time(harness):
    h = harness
    fid, _ = between_touches(h)
    move_to(h, at("2026-11-23 15:00"))
    [second] = tick(h).drafted
    move_to(h, at("2026-11-23 17:30"))  # approved after her working day: it waits for Tuesday morning
    assert h.click(ActionId.CARD_APPROVE, user=DANA, card=card_of(h, second), value=str(second)).status == 200
    settle(h)
    assert followup(h, second).send_at == at("2026-11-24 09:00")
    raw = f"""From: Sarah Chen <sarah.chen@northwind.example>
To: dana.whitfield@followup-demo.com
Subject: Automatic reply: demo
Auto-Submitted: auto-replied
Message-ID: <ooo2@northwind.example>
In-Reply-To: {followup(h, fid).message_id}
Date: Mon, 23 Nov 2026 22:40:00 +0000

I am out of the office until 27 November.
"""
    replies.handle(h.deps, "INBOX", 1, 4, raw.replace("\n", "\r\n").encode(), replies.PollResult())
    settle(h)
    move_to(h, at("2026-11-24 09:00"))  # its slot comes: she is away, so it moves instead of leaving
    settle(h)
    held = followup(h, second)
    assert (held.state, held.send_at) == ("sending", at("2026-11-30 09:00"))
    assert "Scheduled: Mon 30 Nov 09:00 their time" in texts(last_update_for(h, card_of(h, second)))
    assert len(h.mailbox.messages) == 1
    move_to(h, at("2026-11-30 09:00"))
    h.mailbox.wait_for(2)
    settle(h)
    assert followup(h, second).state == "sent"


def test_a_colleague_writing_to_the_replies_mailbox_from_the_company_domain_stops_it(harness):
    h = harness
    fid, seq = between_touches(h)
    raw = """From: Li Wei <li.wei@northwind.example>
To: dana.whitfield@followup-demo.com
Subject: Demo for our dispatch team
Message-ID: <fresh1@northwind.example>
Date: Wed, 18 Nov 2026 20:30:00 +0000

Hi Dana, I run dispatch with Sarah; can we set up the demo for next week?
"""
    replies.handle(h.deps, "INBOX", 1, 5, raw.replace("\n", "\r\n").encode(), replies.PollResult())
    settle(h)
    dm = [c for c in h.slack.of("chat.postMessage") if "sequence stopped" in c.args.get("text", "")]
    assert dm and "I run dispatch with Sarah" in dm[-1].args["text"]
    assert_stopped(h, fid, seq.id, "Li Wei, at the same company (northwind.example), wrote in")


def test_a_stranger_writing_from_a_free_mail_address_stops_nothing(harness):
    h = harness
    fid, _ = between_touches(h)
    raw = """From: Someone <someone@gmail.com>
To: dana.whitfield@followup-demo.com
Subject: Hello
Message-ID: <fresh2@gmail.com>
Date: Wed, 18 Nov 2026 20:30:00 +0000

Quick question about your product.
"""
    replies.handle(h.deps, "INBOX", 1, 6, raw.replace("\n", "\r\n").encode(), replies.PollResult())
    settle(h)
    assert sequence_of(h, fid).state == "active"
