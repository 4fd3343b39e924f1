"""POST /inbound end to end: signed posts to the running app, and what reached the fake Slack (the alert,
the mention, the channel), the CRM (the contact, the owner written) and the database. Duplicates count once;
every bad input gets its status code and changes nothing; a hot lead nobody acts on reminds, then escalates,
at the right business time."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from blocks.ids import SHORTCUT_LEAD, ActionId, BlockId, CallbackId
from bot import jobs
from bot.models import CardMessage, FollowUp, InboundLead
from crm.tables import CrmContact, CrmDeal, CrmOwner
from handlers.inbound import sign
from tests.blockkit import assert_valid_blocks, assert_valid_view, texts
from tests.builders import DEAL, SARAH, small_book
from tests.conftest import DANA, MANAGER, OTHER
from tests.handlers.flow import followup, settle

SECRET = "inbound-test-secret"
HOT, SUPPORT = "CHOT", "CSUPPORT"
OTHER_EMAIL = "other.rep@followup-demo.com"


@pytest.fixture
def config_file(config_file: Path) -> Path:
    config_file.write_text(
        config_file.read_text()
        + f"""
[inbound]
hot_channel = "{HOT}"
support_channel = "{SUPPORT}"

[routing]
default_owners = ["dana.whitfield@followup-demo.com", "{OTHER_EMAIL}"]
team_lead = "{MANAGER}"
"""
    )
    return config_file


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return settings.model_copy(update={"inbound_signing_secret": SecretStr(SECRET)})


@pytest.fixture
def h(harness):  # type: ignore[no-untyped-def]
    small_book(harness.deps.db, harness.clock.now())
    with harness.deps.db.session() as s:
        s.add(CrmOwner(id="502", email=OTHER_EMAIL, first_name="Olu", last_name="Rep"))
    return harness


def post(h, body, *, secret: str = SECRET, stamp: str | None = None, signature: str | None = None):  # type: ignore[no-untyped-def]
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    stamp = str(int(time.time())) if stamp is None else stamp
    headers = {
        "Content-Type": "application/json",
        "Content-Length": str(len(raw)),
        "X-Followup-Timestamp": stamp,
        "X-Followup-Signature": signature or sign(secret, stamp, raw),
    }
    return h.request("POST", "/inbound", raw, headers)


HOT_TEXT = (
    "Hi, we run dispatch for 2,000 drivers and need a demo this week. Budget is approved and we want to "
    "start a pilot before Q1. Can someone call me?"
)


def leads(h) -> list[InboundLead]:  # type: ignore[no-untyped-def]
    with h.deps.db.session() as s:
        return list(s.scalars(select(InboundLead).order_by(InboundLead.id)))


def posts_to(h, channel: str) -> list:  # type: ignore[no-untyped-def]
    return [c for c in h.slack.of("chat.postMessage") if c.args["channel"] == channel]


def test_a_hot_lead_is_stored_matched_routed_and_alerted_with_the_owner_mentioned(h):
    body = {"email": "Li.Wei@Northwind.example", "name": "Li Wei", "text": HOT_TEXT,
            "subject": "Demo for 2,000 drivers", "source": "pricing form", "id": "form-1"}  # fmt: skip
    reply = post(h, body)
    assert reply.status == 202, reply.body
    lead_id = reply.json()["id"]
    settle(h)
    [lead] = leads(h)
    assert (lead.id, lead.state, lead.route, lead.email) == (
        lead_id,
        "done",
        "hot",
        "li.wei@northwind.example",
    )
    with h.deps.db.session() as s:  # a new CRM contact at the company matched by its domain, owner written
        contact = s.scalar(select(CrmContact).where(CrmContact.email == "li.wei@northwind.example"))
        assert contact is not None and (contact.company_id, contact.owner_id) == ("201", "501")
    fu = followup(h, lead.followup_id)
    assert fu.owner_slack_id == DANA and fu.rule == "inbound_no_response"
    assert "New lead from the website (pricing form)" in fu.reason
    [card] = posts_to(h, DANA)
    assert_valid_blocks(card.args["blocks"]) and "Li Wei" in texts(card.args["blocks"])
    [alert] = posts_to(h, HOT)
    assert_valid_blocks(alert.args["blocks"])
    shown = texts(alert.args["blocks"])
    assert (
        ":fire: Hot lead: Li Wei · Northwind Logistics" in shown and f"<@{DANA}>, this one is yours." in shown
    )
    assert "dispatch for 2,000 drivers" in shown


def test_the_same_delivery_twice_and_the_same_person_again_within_minutes_are_one_lead(h):
    body = {"email": "li.wei@northwind.example", "text": HOT_TEXT, "id": "form-7"}
    first, again = post(h, body), post(h, body)
    assert (first.status, again.status) == (202, 202)
    assert first.json()["id"] == again.json()["id"] and again.json()["duplicate"] is True
    h.clock.advance(timedelta(minutes=3))
    post(h, {**body, "id": "form-8", "text": "Sorry, one more thing: we are in Rotterdam."})
    settle(h)
    one, two = leads(h)
    assert (one.state, two.state, two.duplicate_of) == ("done", "duplicate", one.id)
    assert "3 min earlier" in (two.reason or "")
    with h.deps.db.session() as s:
        assert s.scalar(select(func.count()).select_from(FollowUp)) == 1
    assert len(posts_to(h, HOT)) == 1


@pytest.mark.parametrize(
    ("body", "kwargs", "status", "says"),
    [
        (b"{not json", {}, 400, "the body is not valid JSON"),
        (b"[1, 2]", {}, 400, "the body is not a JSON object"),
        ({"text": "hello"}, {}, 400, "email: is required"),
        ({"email": "a@b.example"}, {}, 400, "text: is required"),
        ({"email": "a@b.example, c@d.example", "text": "hi"}, {}, 400, "email:"),
        ({"email": "a@b.example", "text": "   "}, {}, 400, "text:"),
        (
            {"email": "a@b.example", "text": "hi"},
            {"signature": "v1=" + "0" * 64},
            401,
            "X-Followup-Signature",
        ),
        ({"email": "a@b.example", "text": "hi"}, {"secret": "wrong"}, 401, "X-Followup-Signature"),
        ({"email": "a@b.example", "text": "hi"}, {"stamp": str(int(time.time()) - 600)}, 401, "Timestamp"),
        ({"email": "a@b.example", "text": "hi"}, {"stamp": "soon"}, 401, "Timestamp"),
        ({"email": "a@b.example", "text": "hi"}, {"stamp": "\u00b2"}, 401, "Timestamp"),  # "²".isdigit()
        ({"email": "a@b.example", "text": "hi"}, {"signature": "v1=\u00e9t\u00e9"}, 401, "Signature"),
        ({"email": 5, "text": "hi"}, {}, 400, "email: Input should be a valid string"),
        ({"email": "a@b.example", "text": ["hi"]}, {}, 400, "text: Input should be a valid string"),
        ({"email": "a@b.example", "text": "x" * 100_001}, {}, 400, "text: String should have at most"),
        ({"email": "<!channel>@b.example", "text": "hi"}, {}, 400, "email:"),
        (b'{"email": "a@b.example", "text": "\\ud800"}', {}, 400, "unpaired surrogate"),
        (b'{"email": "a@b.example", "text": "a\\u0000b"}', {}, 400, "NUL"),
        (b"[" * 100_000, {}, 400, "not valid JSON"),
        (b"x" * (600 * 1024), {}, 413, "over"),
    ],
)
def test_bad_input_gets_its_status_naming_the_problem_and_changes_nothing(h, body, kwargs, status, says):
    reply = post(h, body, **kwargs)
    assert reply.status == status, reply.body
    assert says in reply.json()["error"]
    settle(h)
    assert leads(h) == [] and h.slack.of("chat.postMessage") == []


def test_spam_and_vendor_pitches_are_recorded_with_the_reason_and_alert_nobody(h):
    post(h, {"email": "promo@cheap-pills.example", "text": "Cheap viagra, free crypto, click now!!! winner"})
    pitch = "Hi there, I noticed your website loads slowly on mobile. Our agency can improve your SEO and double your organic traffic in 90 days. Can I send a proposal?"  # noqa: E501
    post(h, {"email": "sdr@leadgen.example", "text": pitch})
    settle(h)
    routed = [(lead.route, lead.classification) for lead in leads(h)]
    assert routed == [("filtered", "spam"), ("filtered", "vendor_pitch")]
    assert all(lead.reason and lead.followup_id is None and lead.contact_id is None for lead in leads(h))
    assert h.slack.of("chat.postMessage") == []
    with h.deps.db.session() as s:  # nothing written to the CRM for them
        assert (
            s.scalar(
                select(func.count()).where(
                    CrmContact.email.in_(["promo@cheap-pills.example", "sdr@leadgen.example"])
                )
            )
            == 0
        )
    h.command("status", user=DANA)
    [answer] = h.slack.wait_for_response(1)
    assert "Filtered today: 2 (spam 1, vendor pitch 1)" in texts(answer["blocks"])


def test_an_existing_customers_support_request_goes_to_the_support_channel(h):
    broken = "Our login is broken since this morning and the whole team is locked out, please help."
    post(h, {"email": "sarah.chen@northwind.example", "name": "Sarah Chen", "text": broken})
    settle(h)
    [lead] = leads(h)
    assert lead.route == "support"
    [message] = posts_to(h, SUPPORT)
    assert "Support request from an existing customer" in message.args["text"]
    assert "whole team is locked out" in message.args["text"]


def test_not_enough_information_goes_to_review_with_what_is_missing(h):
    post(h, {"email": "j@somewhere.example", "text": "hi"})
    settle(h)
    [lead] = leads(h)
    assert lead.route == "review" and lead.classification == "not_enough_information"
    fu = followup(h, lead.followup_id)
    assert fu.current_draft.missing_information
    from tests.conftest import REVIEW_CHANNEL

    [card] = posts_to(h, REVIEW_CHANNEL)
    assert "Missing:" in texts(card.args["blocks"])


def test_text_that_speaks_slack_markup_is_shown_escaped_and_clipped(h):
    hostile = "<!channel> <@UADMIN> <https://evil.example|our pricing> *today* \u202eFDP.ksat "
    text = f"We run 2,000 drivers and want a demo and pricing this month. {hostile}" + "x" * 50_000
    body = {"email": "li.wei@northwind.example", "text": text, "name": f"Li {hostile}Wei", "subject": hostile,
            "source": hostile, "company": hostile}  # fmt: skip
    assert post(h, body).status == 202
    # an existing customer's request goes to the support channel as plain text: escaped there too
    customer = {**body, "email": "omar.haddad@bluepeak.example", "text": f"Our login is broken. {hostile}"}
    assert post(h, customer).status == 202
    settle(h)
    assert [lead.route for lead in leads(h)] == ["hot", "support"]
    calls = h.slack.of("chat.postMessage") + h.slack.of("chat.update")
    reached = {c.args["channel"] for c in calls}
    assert reached & {DANA, OTHER} and reached >= {HOT, SUPPORT}
    for call in calls:
        blocks = call.args.get("blocks") or []
        if blocks:
            assert_valid_blocks(blocks)
        flat = " ".join([*mrkdwn(blocks), str(call.args.get("text") or "")])  # plain_text is never markup
        assert "\u202e" not in json.dumps(blocks, ensure_ascii=False) + flat
        assert "<!channel>" not in flat and "<@UADMIN>" not in flat and "<https://evil" not in flat


def mrkdwn(node: object) -> list[str]:
    """Every mrkdwn text in a block tree (what Slack reads mentions and links from)."""
    if isinstance(node, dict):
        found = [node["text"]] if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str) else []
        return found + [t for v in node.values() for t in mrkdwn(v)]
    if isinstance(node, list):
        return [t for v in node for t in mrkdwn(v)]
    return []


def test_round_robin_routes_new_contacts_in_turn_and_skips_someone_away(h):
    for n in range(3):
        post(h, {"email": f"lead{n}@acme-{n}.example", "text": "We would like a demo for our sales team."})
        settle(h)
    with h.deps.db.session() as s:
        owners = [s.scalar(select(CrmContact.owner_id).where(CrmContact.email == f"lead{n}@acme-{n}.example"))
                  for n in range(3)]  # fmt: skip
    assert owners == ["501", "502", "501"]
    h.slack.users[OTHER].status_text = "Out of office until Monday"
    post(h, {"email": "lead9@acme-9.example", "text": "We would like a demo for our sales team."})
    settle(h)
    with h.deps.db.session() as s:
        assert (
            s.scalar(select(CrmContact.owner_id).where(CrmContact.email == "lead9@acme-9.example")) == "501"
        )


def ny(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)


def test_a_hot_lead_nobody_acts_on_reminds_the_owner_then_escalates_in_business_time(h):
    h.clock.advance(ny("2026-11-18 16:30") - h.clock.now())  # Wednesday, half an hour before closing
    post(h, {"email": "li.wei@northwind.example", "name": "Li Wei", "text": HOT_TEXT})
    settle(h)
    assert [lead.route for lead in leads(h)] == ["hot"]
    [alert] = posts_to(h, HOT)  # the clock on the alert: one business hour, most of it the next morning
    answer_by = int(ny("2026-11-19 09:30").timestamp())
    assert f"Answer by <!date^{answer_by}^" in texts(alert.args["blocks"])

    def tick() -> None:
        jobs.run_due_work(h.deps, holder=f"t{h.clock.now().timestamp()}")
        settle(h)

    def dms(user: str) -> list[str]:
        return [c.args["text"] for c in posts_to(h, user) if not c.args.get("blocks")]

    h.clock.advance(ny("2026-11-18 23:00") - h.clock.now())  # evening: only half a business hour has passed
    tick()
    assert dms(DANA) == [] and dms(MANAGER) == []
    h.clock.advance(ny("2026-11-19 09:29") - h.clock.now())
    tick()
    assert dms(DANA) == []
    h.clock.advance(ny("2026-11-19 09:30") - h.clock.now())  # one business hour
    tick()
    [reminder] = dms(DANA)
    assert "Hot lead *Li Wei* has waited 1 business hour(s)" in reminder
    h.clock.advance(ny("2026-11-19 10:30") - h.clock.now())  # two business hours: the team lead is told
    tick()
    [escalation] = dms(MANAGER)
    assert "has waited 2 business hours and nobody has acted" in escalation and f"<@{DANA}>" in escalation
    tick()
    assert len(dms(DANA)) == 1 and len(dms(MANAGER)) == 1  # once each
    # a late answer is still the first response: recorded at the moment of the click
    [lead] = leads(h)
    fu = followup(h, lead.followup_id)
    h.clock.advance(ny("2026-11-19 11:05") - h.clock.now())
    assert h.click(ActionId.CARD_APPROVE, user=DANA, card=(fu.cards[0].channel, fu.cards[0].ts),
                   value=str(fu.id)).status == 200  # fmt: skip
    h.mailbox.wait_for(1)
    settle(h)
    [lead] = leads(h)
    assert lead.first_action_at == ny("2026-11-19 11:05")


def test_a_hot_lead_answered_outside_the_app_stops_the_clock_without_a_reminder(h):
    h.clock.advance(ny("2026-11-19 09:00") - h.clock.now())
    post(h, {"email": "li.wei@northwind.example", "text": HOT_TEXT})
    settle(h)
    [lead] = leads(h)
    h.clock.advance(timedelta(minutes=30))  # the rep writes back from their own mail, logged in the CRM
    h.deps.crm.log_email(contact_id=lead.contact_id, deal_id=None, owner_id=lead.owner_crm_id,
                         subject="Re: demo", body="Happy to show you. Tuesday?", message_id="<rep-1@x>",
                         sent_at=h.clock.now(), sender="dana@x.test", recipient=lead.email)  # fmt: skip
    jobs.run_scan(h.deps, holder="scan")
    settle(h)
    assert followup(h, lead.followup_id).state == "resolved"
    h.clock.advance(timedelta(hours=3))
    jobs.run_due_work(h.deps, holder="t")
    settle(h)
    [lead] = leads(h)
    assert lead.reminded_at is None and lead.escalated_at is None
    assert lead.first_action_at is None  # nobody acted on the card: not counted as a touch from here
    assert [c for c in posts_to(h, DANA) if not c.args.get("blocks")] == []


def test_acting_on_a_hot_lead_stops_the_clock_and_records_the_first_response(h):
    post(h, {"email": "li.wei@northwind.example", "text": HOT_TEXT})
    settle(h)
    [lead] = leads(h)
    fu = followup(h, lead.followup_id)
    card = (fu.cards[0].channel, fu.cards[0].ts)
    h.clock.advance(timedelta(minutes=20))
    assert h.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fu.id)).status == 200
    h.mailbox.wait_for(1)
    settle(h)
    h.clock.advance(timedelta(hours=3))
    jobs.run_due_work(h.deps, holder="t")
    settle(h)
    [lead] = leads(h)
    assert lead.first_action_at == lead.received_at + timedelta(minutes=20)
    assert lead.reminded_at is None and lead.escalated_at is None
    with h.deps.db.session() as s:
        [alert] = s.scalars(select(CardMessage).where(CardMessage.kind == "alert")).all()
        assert alert.channel == HOT
    updates = [c for c in h.slack.of("chat.update") if (c.args["channel"], c.args["ts"]) == (HOT, alert.ts)]
    assert updates and "Sent by" in texts(updates[-1].args["blocks"])  # the alert shows it was handled


def test_on_hubspot_the_new_contact_is_created_there_and_its_owner_written(hubspot_harness, hubspot):
    h = hubspot_harness
    reply = post(h, {"email": "li.wei@northwind.example", "name": "Li Wei", "text": HOT_TEXT})
    assert reply.status == 202
    settle(h)
    [created] = [c for c in hubspot.created if c["kind"] == "contacts"]
    assert created["properties"] == {
        "email": "li.wei@northwind.example",
        "firstname": "Li",
        "lastname": "Wei",
    }
    assert created["associations"][0]["to"]["id"] == "201"  # the company found by its domain
    assert hubspot.objects["contacts"][created["id"]]["hubspot_owner_id"] == "501"
    [lead] = leads(h)
    assert (lead.route, lead.contact_id, lead.owner_crm_id) == ("hot", created["id"], "501")
    assert len(posts_to(h, HOT)) == 1


def test_a_new_person_at_an_account_with_an_open_deal_goes_to_the_deal_owner_with_the_deal(h):
    with h.deps.db.session() as s:  # Bluepeak's pilot is Olu's deal
        s.get(CrmDeal, DEAL).owner_id = "502"
    post(h, {"email": "priya.nair@bluepeak.example", "name": "Priya Nair",
             "text": "Omar asked me to look at the pilot's security review. Who can help?"})  # fmt: skip
    settle(h)
    [lead] = leads(h)
    with h.deps.db.session() as s:
        contact = s.scalar(select(CrmContact).where(CrmContact.email == "priya.nair@bluepeak.example"))
        assert contact is not None and (contact.company_id, contact.owner_id) == ("202", "502")
    fu = followup(h, lead.followup_id)
    assert (fu.deal_id, lead.owner_crm_id, fu.owner_slack_id) == (DEAL, "502", OTHER)
    [card] = posts_to(h, OTHER)
    assert "Bluepeak — Pilot" in texts(card.args["blocks"])
    # a deal that has closed is no longer one to join: the next new person is routed by the rules
    with h.deps.db.session() as s:
        s.get(CrmDeal, DEAL).stage = "closedlost"
    post(
        h,
        {"email": "ken.ito@bluepeak.example", "name": "Ken Ito", "text": "Could we get a demo for my team?"},
    )
    settle(h)
    ken = next(lead for lead in leads(h) if lead.email == "ken.ito@bluepeak.example")
    assert followup(h, ken.followup_id).deal_id is None


def test_on_hubspot_the_accounts_open_deal_is_found_through_its_associations(hubspot_harness, hubspot):
    h = hubspot_harness
    hubspot.owners["502"] = {"email": OTHER_EMAIL, "firstName": "Olu", "lastName": "Rep", "userId": 2}
    hubspot.objects["deals"][DEAL]["hubspot_owner_id"] = "502"
    post(
        h,
        {
            "email": "priya.nair@bluepeak.example",
            "name": "Priya Nair",
            "text": "About the pilot's security review",
        },
    )
    settle(h)
    [lead] = leads(h)
    assert lead.owner_crm_id == "502" and followup(h, lead.followup_id).deal_id == DEAL
    [created] = [c for c in hubspot.created if c["kind"] == "contacts"]
    assert hubspot.objects["contacts"][created["id"]]["hubspot_owner_id"] == "502"
    assert hubspot.calls_to(r"/crm/associations/[^/]+/companies/deals/batch/read") == 1


def shortcut(h, text: str, ts: str = "1700000001.000100"):  # type: ignore[no-untyped-def]
    return h.interact(
        {
            "type": "message_action",
            "callback_id": SHORTCUT_LEAD,
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            "user": {"id": DANA, "username": "dana", "team_id": "T0001"},
            "team": {"id": "T0001"},
            "channel": {"id": "CSALES", "name": "sales"},
            "message": {"type": "message", "user": OTHER, "ts": ts, "text": text},
            "message_ts": ts,
            "response_url": h.slack.response_url("shortcut"),
        }
    )


def lead_values(email: str, text: str, name: str = "") -> dict:
    return {
        BlockId.LEAD_EMAIL: {ActionId.LEAD_EMAIL_INPUT: {"type": "plain_text_input", "value": email}},
        BlockId.LEAD_NAME: {ActionId.LEAD_NAME_INPUT: {"type": "plain_text_input", "value": name}},
        BlockId.LEAD_COMPANY: {ActionId.LEAD_COMPANY_INPUT: {"type": "plain_text_input", "value": None}},
        BlockId.LEAD_TEXT: {ActionId.LEAD_TEXT_INPUT: {"type": "plain_text_input", "value": text}},
    }


def test_the_message_shortcut_turns_a_forwarded_intro_into_a_lead(h):
    intro = (
        "Intro: meet Li Wei <mailto:li.wei@northwind.example|li.wei@northwind.example>, who runs dispatch "
        "for 2,000 drivers and needs a demo this week; budget approved. "
        "See <https://northwind.example|their site>."
    )
    assert shortcut(h, intro).status == 200
    [opened] = h.slack.wait_for("views.open")
    view = opened.args["view"]
    assert_valid_view(view)
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert inputs[BlockId.LEAD_EMAIL]["initial_value"] == "li.wei@northwind.example"
    assert "for 2,000 drivers" in inputs[BlockId.LEAD_TEXT]["initial_value"]
    assert "their site" in inputs[BlockId.LEAD_TEXT]["initial_value"]

    meta = view["private_metadata"]
    refused = h.submit(
        CallbackId.LEAD_MODAL, user=DANA, private_metadata=meta, values=lead_values("not an address", "")
    )
    assert refused.json()["response_action"] == "errors"
    assert set(refused.json()["errors"]) == {BlockId.LEAD_EMAIL, BlockId.LEAD_TEXT}
    settle(h)
    assert leads(h) == []

    text = inputs[BlockId.LEAD_TEXT]["initial_value"]
    values = lead_values("li.wei@northwind.example", text, "Li Wei")
    assert h.submit(CallbackId.LEAD_MODAL, user=DANA, private_metadata=meta, values=values).status == 200
    assert h.submit(CallbackId.LEAD_MODAL, user=DANA, private_metadata=meta, values=values).status == 200
    settle(h)
    [lead] = leads(h)  # the same message shared twice is one lead
    assert (lead.source, lead.state, lead.external_id) == ("slack", "done", "CSALES:1700000001.000100")
    fu = followup(h, lead.followup_id)
    assert "Slack (message shortcut)" in fu.reason and fu.owner_slack_id == DANA
    [card] = posts_to(h, DANA)
    assert "Li Wei" in texts(card.args["blocks"])


def test_the_same_person_from_another_address_at_the_company_is_matched_not_duplicated(h):
    post(h, {"email": "s.chen@northwind.example", "name": "Sarah Chen", "text": HOT_TEXT})
    settle(h)
    [lead] = leads(h)
    assert (lead.contact_id, lead.owner_crm_id) == (SARAH, "501")  # her existing contact and owner
    with h.deps.db.session() as s:
        assert s.scalar(select(func.count()).where(CrmContact.email == "s.chen@northwind.example")) == 0
