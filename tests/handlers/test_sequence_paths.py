"""Sequences with auto-send allowed for a rule, and on HubSpot: an incoming email logged on the contact's
timeline (a connected inbox) stops a sequence, and a completed one sets the contact property."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from blocks.ids import ActionId
from bot.models import FollowUp, Sequence
from bot.services import scan, touches
from tests.blockkit import texts
from tests.builders import OMAR, SARAH
from tests.conftest import DANA
from tests.handlers.flow import followup, last_update_for, seed_and_scan, settle, start_on_hubspot


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)


def card_of(h, fid: int) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    fu = followup(h, fid)
    return fu.cards[0].channel, fu.cards[0].ts


def approve(h, fid: int, mails: int) -> None:  # type: ignore[no-untyped-def]
    assert h.click(ActionId.CARD_APPROVE, user=DANA, card=card_of(h, fid), value=str(fid)).status == 200
    h.mailbox.wait_for(mails)
    settle(h)


def tick(h) -> touches.TickResult:  # type: ignore[no-untyped-def]
    result = touches.tick(h.deps)
    settle(h)
    return result


@pytest.fixture
def config_file(config_file: Path) -> Path:
    config_file.write_text(
        config_file.read_text()
        + """
[triggers.inbound_no_response.sequence]
touches = 2
delays_business_days = [1]
auto_send = true
auto_send_min_confidence = 0.5

[triggers.stale_deal.sequence]
touches = 3
delays_business_days = [1]
auto_send = true
auto_send_min_confidence = 0.95
"""
    )
    return config_file


def test_auto_send_sends_a_confident_unflagged_later_touch_and_leaves_the_rest_to_a_person(harness):
    h = harness
    cards = seed_and_scan(h)
    sarah, omar = cards[SARAH][0], cards[OMAR][0]
    assert followup(h, sarah).state == "pending"  # never the first touch
    approve(h, sarah, 1)
    approve(h, omar, 2)
    h.clock.advance(timedelta(days=1))
    result = tick(h)
    assert len(result.drafted) == 2
    by_contact = {followup(h, f).contact_id: followup(h, f) for f in result.drafted}
    # Sarah's break-up: confident, nothing flagged: it went without review, and its card says so
    assert result.auto_sent == [by_contact[SARAH].id]
    h.mailbox.wait_for(3)
    settle(h)
    auto = followup(h, by_contact[SARAH].id)
    assert auto.state == "sent" and auto.sent_by == touches.AUTO_SENDER
    approval = next(e for e in auto.events if e.action == "approve")
    assert approval.actor == touches.AUTO_SENDER and approval.detail["auto"] is True
    assert approval.detail["confidence"] >= 0.5
    assert f"Sent automatically ({approval.detail['confidence']:.0%} sure, no flags)" in texts(
        last_update_for(h, card_of(h, auto.id))
    )
    # Omar's touch is on a rule that wants 95% certainty; the classification is less sure: a person decides
    held = by_contact[OMAR]
    assert held.state == "pending" and held.sent_by is None
    assert not any(e.action == "approve" for e in held.events)
    assert len(h.mailbox.messages) == 3


def test_an_incoming_email_logged_in_hubspot_stops_the_sequence(hubspot_harness, hubspot):
    h = hubspot_harness
    scan.scan(h.deps)
    settle(h)
    with h.deps.db.session() as s:
        fid = s.scalar(select(FollowUp.id).where(FollowUp.contact_id == SARAH))
    approve(h, fid, 1)
    when = h.clock.now() + timedelta(hours=1)
    hubspot.add(
        "emails",
        "7001",
        hs_timestamp=when.isoformat(),
        hs_email_direction="INCOMING_EMAIL",
        hs_email_subject="Re: demo",
        hs_email_text="Thanks, Thursday works.",
    )
    hubspot.link("emails", "7001", "contacts", SARAH)
    h.clock.advance(timedelta(hours=2))
    result = scan.scan(h.deps)
    settle(h)
    assert len(result.stopped) == 1
    with h.deps.db.session() as s:
        seq = s.get(Sequence, result.stopped[0])
        assert seq.state == "stopped" and "Sarah Chen replied: an email" in seq.outcome
    dm = [c for c in h.slack.of("chat.postMessage") if "sequence stopped" in c.args.get("text", "")]
    assert dm and "Thanks, Thursday works." in dm[-1].args["text"]


def test_a_completed_sequence_sets_the_contact_property_in_hubspot(settings, clock, slack, mailbox, hubspot):
    from tests.builders import small_book_in_hubspot

    small_book_in_hubspot(hubspot, clock.now())
    h = start_on_hubspot(settings, clock, slack, mailbox, hubspot)
    try:
        scan.scan(h.deps)
        settle(h)
        with h.deps.db.session() as s:
            fid = s.scalar(select(FollowUp.id).where(FollowUp.contact_id == SARAH))
        approve(h, fid, 1)
        h.clock.advance(timedelta(days=1))  # Thu 19 Nov: the break-up comes due (touches = 2)
        [breakup] = [f for f in tick(h).drafted if followup(h, f).contact_id == SARAH]
        assert followup(h, breakup).state == "sent"  # auto-sent (this rule allows it)
        h.clock.advance(at("2026-11-24 15:00") - h.clock.now())  # 3 business days later
        result = tick(h)
        assert len(result.completed) == 1
        settle(h)
        assert hubspot.objects["contacts"][SARAH]["followup_sequence_status"] == (
            "completed: inbound_no_response 2026-11-24"
        )
        assert hubspot.calls_to(rf"PATCH /crm/objects/2026-03/contacts/{SARAH}") == 1
    finally:
        h.stop()


def test_without_the_contact_property_the_doctor_names_the_fix(hubspot_harness, hubspot):
    from crm.hubspot_check import run_checks

    hubspot.custom_properties["contacts"].discard("followup_sequence_status")
    checks = run_checks(hubspot_harness.deps.crm, hubspot_harness.deps.config, hubspot_harness.deps.chat)
    [check] = [c for c in checks if c.name == "Contact property followup_sequence_status"]
    assert not check.ok and "single-line text contact property" in check.fix


def test_the_contacts_hubspot_time_zone_sets_when_the_email_leaves(hubspot_harness, hubspot):
    h = hubspot_harness
    hubspot.objects["contacts"][SARAH]["hs_timezone"] = "europe_slash_berlin"  # 21:00 there now
    scan.scan(h.deps)
    settle(h)
    with h.deps.db.session() as s:
        fid = s.scalar(select(FollowUp.id).where(FollowUp.contact_id == SARAH))
    assert followup(h, fid).recipient_tz == "europe_slash_berlin"
    assert h.click(ActionId.CARD_APPROVE, user=DANA, card=card_of(h, fid), value=str(fid)).status == 200
    settle(h)
    fu = followup(h, fid)
    assert fu.state == "sending" and fu.recipient_tz == "Europe/Berlin"
    assert fu.send_at == datetime(2026, 11, 19, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert "Scheduled: Thu 19 Nov 09:00 their time" in texts(last_update_for(h, card_of(h, fid)))
    assert h.mailbox.messages == []
