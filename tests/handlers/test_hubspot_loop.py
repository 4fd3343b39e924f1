"""The same loop with HubSpot as the CRM: triggers read from HubSpot, the sent email is logged there."""

from __future__ import annotations

import pytest

from blocks.ids import ActionId
from bot.services import scan
from tests.blockkit import texts
from tests.builders import DEMO_REQUEST, SARAH, small_book_in_hubspot
from tests.conftest import DANA
from tests.handlers.flow import settle, start_on_hubspot


@pytest.fixture
def hubspot_harness(settings, clock, slack, mailbox, hubspot):
    small_book_in_hubspot(hubspot, clock.now())
    h = start_on_hubspot(settings, clock, slack, mailbox, hubspot)
    yield h
    h.stop()


def test_hubspot_lead_is_drafted_approved_sent_and_logged(hubspot_harness, hubspot):
    h = hubspot_harness
    assert h.deps.crm.name == "hubspot"
    result = scan.scan(h.deps)
    assert len(result.created) == 2
    settle(h)
    assert len(h.slack.of("chat.postMessage")) == 2
    post = next(p for p in h.slack.of("chat.postMessage") if "Sarah Chen" in texts(p.args["blocks"]))
    assert DEMO_REQUEST[:40] in texts(post.args["blocks"])

    with h.deps.db.session() as s:
        from bot.models import FollowUp

        fu = s.query(FollowUp).filter_by(contact_id=SARAH).one()
        fid, card = fu.id, (fu.cards[0].channel, fu.cards[0].ts)
    h.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid))
    [mail] = h.mailbox.wait_for(1)
    settle(h)
    [logged] = [c for c in hubspot.created if c["kind"] == "emails"]
    assert logged["properties"]["hs_email_text"] == mail.get_content().replace("\r\n", "\n").strip()
    assert logged["properties"]["hubspot_owner_id"] == "501"
    assert mail["Message-ID"] in logged["properties"]["hs_email_headers"]
    assert logged["associations"][0]["to"]["id"] == SARAH
