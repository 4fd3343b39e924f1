"""One-click unsubscribe (RFC 8058), end to end: the header in every email we send, a GET that changes
nothing, a POST that stops everything for that address, and the CRM told."""

from __future__ import annotations

import re

from sqlalchemy import select

from blocks.ids import ActionId
from bot.models import FollowUp, Suppression
from bot.services import scan
from crm.tables import CrmContact
from tests.builders import OMAR, SARAH
from tests.conftest import DANA
from tests.handlers.flow import followup, last_update_for, seed_and_scan, settle

LINK = re.compile(r"<(http://[^>]+/unsubscribe/([A-Za-z0-9_-]+))>")


def send_to_sarah(harness):  # type: ignore[no-untyped-def]
    cards = seed_and_scan(harness)
    fid, card = cards[SARAH]
    harness.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid))
    [mail] = harness.mailbox.wait_for(1)
    settle(harness)
    return cards, mail


def test_every_email_carries_a_one_click_unsubscribe_link(harness):
    _, mail = send_to_sarah(harness)
    match = LINK.search(mail["List-Unsubscribe"])
    assert match and match.group(1).startswith(harness.deps.public_url.rstrip("/") + "/unsubscribe/")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert len(match.group(2)) >= 32  # random, not derived from the address


def test_a_get_shows_a_button_and_changes_nothing(harness):
    _, mail = send_to_sarah(harness)
    path = "/unsubscribe/" + LINK.search(mail["List-Unsubscribe"]).group(2)
    page = harness.request("GET", path)
    assert (
        page.status == 200
        and '<form method="post">' in page.body
        and "sarah.chen@northwind.example" in page.body
    )
    with harness.deps.db.session() as s:
        assert s.scalars(select(Suppression)).all() == []


def test_a_one_click_post_stops_everything_for_the_address(harness):
    cards, mail = send_to_sarah(harness)
    path = "/unsubscribe/" + LINK.search(mail["List-Unsubscribe"]).group(2)
    reply = harness.request(
        "POST", path, b"List-Unsubscribe=One-Click", {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert reply.status == 200 and "You are unsubscribed" in reply.body
    again = harness.request("POST", path, b"List-Unsubscribe=One-Click")
    assert again.status == 200  # a second click (or the client retrying) is fine, recorded once
    settle(harness)
    with harness.deps.db.session() as s:
        [row] = s.scalars(select(Suppression)).all()
        assert (row.email, row.contact_id, row.reason) == (
            "sarah.chen@northwind.example",
            SARAH,
            "unsubscribed",
        )
        contact = s.get(CrmContact, SARAH)
        assert contact is not None and contact.opted_out_at is not None  # the CRM's marker
    assert "Already unsubscribed" in harness.request("GET", path).body
    # nothing new for her, whatever triggers
    harness.clock.advance(__import__("datetime").timedelta(days=30))
    scan.scan(harness.deps)
    with harness.deps.db.session() as s:
        fresh = s.scalars(
            select(FollowUp).where(FollowUp.contact_id == SARAH, FollowUp.state == "pending")
        ).all()
        assert fresh == []
    assert OMAR in cards  # someone else's follow-ups are untouched
    assert followup(harness, cards[OMAR][0]).state == "pending"


def test_an_unsubscribe_ends_the_contacts_waiting_follow_up_and_its_card_says_so(harness):
    cards = seed_and_scan(harness)
    fid, card = cards[SARAH]
    with harness.deps.db.session() as s:
        from bot.services import optout

        fu = s.get(FollowUp, fid)
        token = optout.token_for(s, fu, harness.clock.now())
    assert harness.request("POST", f"/unsubscribe/{token}", b"List-Unsubscribe=One-Click").status == 200
    fu = followup(harness, fid)
    assert fu.state == "resolved" and "Unsubscribed" in (fu.outcome_reason or "")
    from tests.blockkit import texts

    assert "Unsubscribed" in texts(last_update_for(harness, card))
    reply = harness.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid))
    assert reply.status == 200
    settle(harness)
    assert harness.mailbox.messages == []  # approving the old card sends nothing


def test_unknown_malformed_and_other_methods_are_refused_without_effect(harness):
    seed_and_scan(harness)
    assert harness.request("GET", "/unsubscribe/" + "a" * 32).status == 404
    assert harness.request("POST", "/unsubscribe/../../etc/passwd").status == 404
    assert harness.request("POST", "/unsubscribe/<script>").status == 404
    assert harness.request("PUT", "/unsubscribe/" + "a" * 32).status == 405
    with harness.deps.db.session() as s:
        assert s.scalars(select(Suppression)).all() == []


def test_on_hubspot_the_unsubscribe_reaches_the_portals_communication_preferences(hubspot_harness, hubspot):
    h = hubspot_harness
    scan.scan(h.deps)
    settle(h)
    with h.deps.db.session() as s:
        fu = s.scalars(select(FollowUp).where(FollowUp.contact_id == SARAH)).one()
        card = (fu.cards[0].channel, fu.cards[0].ts)
        fid = fu.id
    h.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid))
    [mail] = h.mailbox.wait_for(1)
    token = LINK.search(mail["List-Unsubscribe"]).group(2)
    assert h.request("POST", f"/unsubscribe/{token}", b"List-Unsubscribe=One-Click").status == 200
    settle(h)
    assert hubspot.unsubscribed == {"sarah.chen@northwind.example"}
    assert hubspot.calls_to(r"^POST /communication-preferences/2026-03/statuses/.+/unsubscribe-all$") == 1


def test_without_the_optional_scope_the_unsubscribe_still_stops_everything(hubspot_harness, hubspot):
    hubspot.scopes.discard("communication_preferences.write")
    h = hubspot_harness
    scan.scan(h.deps)
    settle(h)
    with h.deps.db.session() as s:
        fu = s.scalars(select(FollowUp).where(FollowUp.contact_id == SARAH)).one()
        from bot.services import optout

        token = optout.token_for(s, fu, h.clock.now())
    assert h.request("POST", f"/unsubscribe/{token}", b"List-Unsubscribe=One-Click").status == 200
    settle(h)
    assert hubspot.unsubscribed == set()
    with h.deps.db.session() as s:
        assert s.scalars(select(Suppression.email)).all() == ["sarah.chen@northwind.example"]
        from bot.models import WorkItem

        assert s.scalars(select(WorkItem.state).where(WorkItem.kind == "crm_optout")).all() == ["done"]


def test_a_send_already_on_its_way_stops_if_the_address_unsubscribed_meanwhile(harness):
    """Approved a moment before the unsubscribe: the send job finds the suppression and nothing leaves."""
    from sqlalchemy import update

    from bot.services import optout, review
    from bot.work.queue import Job, Kind

    cards = seed_and_scan(harness)
    fid, _ = cards[SARAH]
    with harness.deps.db.session() as s:  # approved: on its way to the mail server
        s.execute(
            update(FollowUp).where(FollowUp.id == fid).values(state="sending", version=FollowUp.version + 1)
        )
    optout.suppress(
        harness.deps,
        email="Sarah.Chen@Northwind.example",  # any case: addresses compare lower-cased
        contact_id=SARAH,
        reason="unsubscribed",
        detail="Unsubscribed (sarah.chen@northwind.example) with the link in our email",
        actor="unsubscribe",
    )
    assert followup(harness, fid).state == "sending"  # a send in flight is the send job's to settle
    review.send_job(
        harness.deps, Job(id=0, kind=Kind.SEND, followup_id=fid, payload={}, attempts=1, holder="t")
    )
    fu = followup(harness, fid)
    assert fu.state == "resolved" and fu.outcome_reason.startswith("Not sent: Unsubscribed")
    assert harness.mailbox.messages == []
