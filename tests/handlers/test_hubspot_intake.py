"""HubSpot as a source of new leads: signed webhook batches to the running app (signature v3), and the
polling fallback with its stored watermark. The same form fill reported twice — by two events, by a retried
delivery, or by the webhook and the poll — is one lead, across a restart too."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.models import FollowUp, InboundLead, WorkItem
from bot.services import intake
from handlers.hubspot_webhook import sign
from tests.blockkit import assert_valid_blocks, texts
from tests.builders import small_book_in_hubspot
from tests.conftest import DANA
from tests.handlers.flow import settle, start_on_hubspot
from tests.handlers.test_inbound import HOT, HOT_TEXT

CLIENT_SECRET = "hubspot-client-secret"


@pytest.fixture
def config_file(config_file: Path) -> Path:
    config_file.write_text(
        config_file.read_text()
        + f"""
[inbound]
hot_channel = "{HOT}"

[routing]
default_owners = ["dana.whitfield@followup-demo.com"]
"""
    )
    return config_file


@pytest.fixture
def h(settings, clock, slack, mailbox, hubspot):  # type: ignore[no-untyped-def]
    small_book_in_hubspot(hubspot, clock.now())
    with_secret = settings.model_copy(update={"hubspot_client_secret": SecretStr(CLIENT_SECRET)})
    app = start_on_hubspot(with_secret, clock, slack, mailbox, hubspot)
    yield app
    app.stop()


def new_form_fill(hubspot, clock, contact_id: str = "103", email: str = "li.wei@northwind.example") -> None:  # type: ignore[no-untyped-def]
    hubspot.add(
        "contacts",
        contact_id,
        email=email,
        firstname="Li",
        lastname="Wei",
        associatedcompanyid="201",
        createdate=(clock.now() - timedelta(minutes=2)).isoformat(),
        recent_conversion_date=(clock.now() - timedelta(minutes=1)).isoformat(),
        recent_conversion_event_name="Demo request",
        message=HOT_TEXT,
    )


def deliver(h, events, *, secret: str = CLIENT_SECRET, stamp: str | None = None, raw: bytes | None = None,  # type: ignore[no-untyped-def]
            signature: str | None = None):  # fmt: skip
    body = raw if raw is not None else json.dumps(events).encode()
    stamp = str(int(time.time() * 1000)) if stamp is None else stamp
    uri = h.deps.public_url.rstrip("/") + "/hubspot/webhook"
    headers = {
        "Content-Type": "application/json",
        "X-HubSpot-Request-Timestamp": stamp,
        "X-HubSpot-Signature-v3": signature or sign(secret, "POST", uri, body, stamp),
    }
    return h.request("POST", "/hubspot/webhook", body, headers)


def event(event_id: int, kind: str, object_id: int = 103, prop: str | None = None) -> dict:
    out = {
        **{"eventId": event_id, "subscriptionId": 9, "portalId": 62515, "appId": 1, "occurredAt": 1},
        **{"subscriptionType": kind, "attemptNumber": 0, "objectId": object_id, "changeSource": "FORM"},
    }
    if prop:
        out |= {"propertyName": prop, "propertyValue": "1"}
    return out


def leads(h) -> list[InboundLead]:  # type: ignore[no-untyped-def]
    with h.deps.db.session() as s:
        return list(s.scalars(select(InboundLead).order_by(InboundLead.id)))


def test_a_webhook_batch_makes_one_lead_of_one_form_fill_routed_alerted_and_owned(h, hubspot, clock):
    new_form_fill(hubspot, clock)
    batch = [
        event(1, "contact.creation"),
        event(2, "contact.propertyChange", prop="recent_conversion_date"),
        {**event(4, "object.creation"), "objectTypeId": "0-1"},  # the developer platform's name for it
        event(3, "deal.creation", object_id=555),  # not a lead: answered, ignored
        {**event(5, "object.creation", object_id=556), "objectTypeId": "0-3"},  # a deal: ignored
    ]
    first = deliver(h, batch)
    assert first.status == 200 and first.json() == {"received": 5, "new": 3}
    assert deliver(h, batch).json() == {"received": 5, "new": 0}  # HubSpot retried the delivery
    settle(h)
    rows = leads(h)  # the three events are worked at once: whichever takes the form fill first is the lead
    [done] = [r for r in rows if r.state == "done"]
    assert (done.route, done.email, done.contact_id) == ("hot", "li.wei@northwind.example", "103")
    assert sorted((r.state, r.duplicate_of) for r in rows if r is not done) == [("duplicate", done.id)] * 2
    assert hubspot.objects["contacts"]["103"]["hubspot_owner_id"] == "501"  # routed, written back
    with h.deps.db.session() as s:
        fu = s.scalar(select(FollowUp).where(FollowUp.id == done.followup_id))
        assert fu is not None and fu.dedupe_key == f"inbound_no_response:{done.moment}"
    [alert] = [c for c in h.slack.of("chat.postMessage") if c.args["channel"] == HOT]
    assert_valid_blocks(alert.args["blocks"]) and f"<@{DANA}>, this one is yours." in texts(
        alert.args["blocks"]
    )
    assert intake.poll_hubspot(h.deps) == 0  # the poll sees the same form fill: already a lead


@pytest.mark.parametrize(
    ("kwargs", "status", "says"),
    [
        ({"secret": "wrong"}, 401, "X-HubSpot-Signature-v3"),
        ({"stamp": str(int(time.time() * 1000) - 400_000)}, 401, "Timestamp"),
        ({"stamp": "yesterday"}, 401, "Timestamp"),
        ({"stamp": "\u00b9" * 13}, 401, "Timestamp"),  # "¹".isdigit(), but no number
        ({"signature": "\u00e9" * 44}, 401, "X-HubSpot-Signature-v3"),  # compare_digest refuses non-ASCII
        (
            {"raw": b'[{"eventId": "x", "subscriptionType": "contact.creation", "objectId": 1}]'},
            400,
            "0.eventId",
        ),
        ({"raw": b"{oops"}, 400, "Invalid JSON"),
        (
            {"raw": json.dumps([{"eventId": 1, "subscriptionType": "contact.creation"}]).encode()},
            400,
            "0.objectId",
        ),
        ({"raw": b"x" * 1_100_000}, 413, "over"),
    ],
)
def test_bad_deliveries_get_their_status_and_change_nothing(h, hubspot, clock, kwargs, status, says):
    new_form_fill(hubspot, clock)
    reply = deliver(h, [event(1, "contact.creation")], **kwargs)
    assert reply.status == status, reply.body
    assert says in reply.json()["error"]
    settle(h)
    assert leads(h) == [] and h.slack.of("chat.postMessage") == []


def test_the_poll_finds_the_same_leads_once_each_across_a_restart(h, hubspot, clock):
    h.deps.config.inbound.hubspot_poll_seconds = 60
    new_form_fill(hubspot, clock, "103", "li.wei@northwind.example")
    assert intake.poll_hubspot(h.deps) == 1
    settle(h)
    clock.advance(timedelta(minutes=5))
    new_form_fill(hubspot, clock, "104", "ana.ruiz@northwind.example")
    h2 = h.restart()
    try:
        assert intake.poll_hubspot(h2.deps) == 1  # only the new one: the watermark was kept
        assert intake.poll_hubspot(h2.deps) == 0
        settle(h2)
        deliver(h2, [event(7, "contact.creation", object_id=104)])  # the webhook reports it too, late
        settle(h2)
        rows = leads(h2)
        assert [(r.contact_id, r.state) for r in rows] == [
            ("103", "done"),
            ("104", "done"),
            ("104", "duplicate"),
        ]
        with h2.deps.db.session() as s:
            assert len(s.scalars(select(FollowUp)).all()) == 2
    finally:
        h2.stop()


def test_a_large_delivery_is_stored_in_one_go_and_a_redelivery_adds_only_what_is_new(h):
    h.runtime.workers.stop()  # only the storing is looked at here
    first = [(f"event:{n}", str(5000 + n)) for n in range(300)]
    assert intake.accept_events(h.deps, first) == 300
    again = first[250:] + [(f"event:{n}", str(5000 + n)) for n in range(300, 320)]
    assert intake.accept_events(h.deps, again) == 20
    with h.deps.db.session() as s:
        assert s.scalar(select(func.count()).select_from(InboundLead)) == 320
        assert s.scalar(select(func.count()).where(WorkItem.kind == "inbound")) == 320


def test_a_form_fill_holding_a_nul_and_a_broken_character_is_still_a_lead(h, hubspot, clock):
    """What a visitor typed reaches us through HubSpot unchecked: a NUL and an unpaired surrogate are valid
    JSON, but PostgreSQL can store neither and Slack takes no surrogate."""
    new_form_fill(hubspot, clock)
    hubspot.objects["contacts"]["103"]["message"] = "Demo for 2,000 drivers\x00 please \ud83d soon"
    hubspot.objects["contacts"]["103"]["lastname"] = "Wei\x00"
    assert deliver(h, [event(1, "contact.creation")]).status == 200
    settle(h)
    [lead] = leads(h)
    assert (lead.state, lead.name) == ("done", "Li Wei")
    assert lead.text == "Demo for 2,000 drivers please ? soon"
    [card] = [c for c in h.slack.of("chat.postMessage") if c.args["channel"] == DANA]
    assert_valid_blocks(card.args["blocks"]) and "Li Wei" in texts(card.args["blocks"])
