"""Both CRM adapters honour the same port: the same book gives the same answers from each."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config import FollowupConfig
from bot.db import Database, make_engine, migrate
from bot.ports import CRM
from crm.embedded import EmbeddedCRM
from crm.hubspot import HubSpotCRM
from tests.builders import (
    CALL_NOTE,
    DEAL,
    DEMO_REQUEST,
    OMAR,
    SARAH,
    detect,
    small_book,
    small_book_in_hubspot,
)
from tests.conftest import NOW


@pytest.fixture(params=["embedded", "hubspot"])
def crm(request, tmp_path) -> CRM:
    if request.param == "embedded":
        db = Database(make_engine(f"sqlite:///{tmp_path / 'crm.db'}"))
        migrate(db.engine)
        small_book(db, NOW)
        return EmbeddedCRM(db)
    fake = request.getfixturevalue("hubspot")
    small_book_in_hubspot(fake, NOW)
    return HubSpotCRM(fake.token, base_url=fake.base_url)


def test_records(crm: CRM):
    sarah = crm.get_contact(SARAH)
    assert sarah is not None
    assert (sarah.email, sarah.name, sarah.title, sarah.company_id, sarah.owner_id) == (
        "sarah.chen@northwind.example",
        "Sarah Chen",
        "VP Operations",
        "201",
        "501",
    )
    assert crm.get_contact("999") is None
    company = crm.get_company("201")
    assert company is not None and (company.name, company.employees) == ("Northwind Logistics", 300)
    deal = crm.get_deal(DEAL)
    assert deal is not None
    assert (deal.stage, deal.amount, deal.contact_id, deal.company_id) == (
        "presentationscheduled",
        48000.0,
        OMAR,
        "202",
    )
    assert abs(deal.stage_changed_at - (NOW - timedelta(days=20))) < timedelta(seconds=1)
    owner = crm.get_owner("501")
    assert owner is not None and (owner.email, owner.name) == (
        "dana.whitfield@followup-demo.com",
        "Dana Whitfield",
    )


def test_history(crm: CRM):
    since = crm.engagements_since(NOW - timedelta(days=14))
    assert [(e.type.value, e.direction, e.contact_id, e.body) for e in since] == [
        ("form", "inbound", SARAH, DEMO_REQUEST)
    ]
    [call] = crm.engagements_for(contact_id=OMAR, deal_id=DEAL)
    assert (call.type.value, call.direction, call.subject, call.body) == (
        "call",
        "outbound",
        "Pricing call",
        CALL_NOTE,
    )
    assert [d.id for d in crm.open_deals(["closedwon", "closedlost"])] == [DEAL]
    assert crm.open_deals(["presentationscheduled"]) == []


def test_the_rules_see_the_same_leads(crm: CRM):
    config = FollowupConfig()
    found = detect(crm, config, NOW)
    assert sorted((t.rule, t.contact_id, t.deal_id) for t in found) == [
        ("inbound_no_response", SARAH, None),
        ("stale_deal", OMAR, DEAL),
    ]


def test_logged_email_shows_in_history_and_answers_the_inquiry(crm: CRM):
    sent_at = NOW + timedelta(minutes=5)
    crm.log_email(
        contact_id=SARAH,
        deal_id=None,
        owner_id="501",
        subject="Re: Demo request",
        body="Thursday?",
        message_id="<followup-1.abc@followup.local>",
        sent_at=sent_at,
    )
    crm.log_note(contact_id=OMAR, deal_id=DEAL, body="Escalated to the manager: discount asked", at=sent_at)
    latest = crm.engagements_for(contact_id=SARAH)[0]
    assert (latest.type.value, latest.direction, latest.subject, latest.body) == (
        "email",
        "outbound",
        "Re: Demo request",
        "Thursday?",
    )
    note = crm.engagements_for(contact_id=OMAR, deal_id=DEAL)[0]
    assert (note.type.value, note.body) == ("note", "Escalated to the manager: discount asked")
    config = FollowupConfig()
    later = detect(crm, config, NOW + timedelta(hours=1))
    assert SARAH not in [t.contact_id for t in later]  # a reply was sent: the inquiry is answered


def test_hubspot_write_back_uses_hubspot_defined_associations(hubspot):
    small_book_in_hubspot(hubspot, NOW)
    crm = HubSpotCRM(hubspot.token, base_url=hubspot.base_url)
    crm.log_email(
        contact_id=OMAR,
        deal_id=DEAL,
        owner_id="501",
        subject="s",
        body="b",
        message_id="<followup-2.x@followup.local>",
        sent_at=NOW,
    )
    [created] = hubspot.created
    assert created["kind"] == "emails"
    assert created["properties"]["hs_email_direction"] == "EMAIL"
    assert created["properties"]["hs_email_headers"] == '{"messageId": "<followup-2.x@followup.local>"}'
    assert [(a["to"]["id"], a["types"][0]["associationTypeId"]) for a in created["associations"]] == [
        (OMAR, 198),
        (DEAL, 210),
    ]


def test_hubspot_rejects_a_bad_token(hubspot):
    small_book_in_hubspot(hubspot, NOW)
    crm = HubSpotCRM("pat-wrong", base_url=hubspot.base_url)
    with pytest.raises(Exception, match="401"):
        crm.get_contact(SARAH)


def test_intake_finds_creates_and_assigns_contacts(crm: CRM):
    found = crm.find_contact("sarah.chen@northwind.example")
    assert found is not None and found.id == SARAH
    assert crm.find_contact("nobody@northwind.example") is None
    company = crm.find_company("northwind.example")
    assert company is not None and company.id == "201"
    assert crm.find_company("unknown.example") is None
    assert {o.email for o in crm.owners().values()} == {"dana.whitfield@followup-demo.com"}

    new_id = crm.create_contact(
        email="li.wei@northwind.example", first_name="Li", last_name="Wei", company_id="201", source="test"
    )
    again = crm.create_contact(
        email="li.wei@northwind.example", first_name="Li", last_name="Wei", company_id="201", source="test"
    )
    li = crm.find_contact("li.wei@northwind.example")
    assert li is not None and li.id == new_id and (li.name, li.company_id) == ("Li Wei", "201")
    assert again == new_id  # a retried create finds the first one
    by_name = crm.find_contact_by_name("Sarah", "Chen", "201")
    assert by_name is not None and by_name.id == SARAH
    assert crm.find_contact_by_name("Sarah", "Chen", "202") is None
    crm.set_owner(new_id, "501")
    assert (crm.get_contact(new_id) or li).owner_id == "501"
