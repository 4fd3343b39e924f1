"""Leads whose CRM records were written by an attacker or a careless hand, through HubSpot (where anyone
can edit a field) to every surface: each lead still gets a draft, every message and modal is valid Block
Kit with the lead's text inert, and an approved email goes to exactly one, valid address."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from blocks.ids import ActionId
from bot.models import FollowUp, WorkItem
from bot.services import scan
from tests.blockkit import assert_valid_blocks, assert_valid_view, texts
from tests.conftest import DANA
from tests.handlers.flow import followup, settle, start_on_hubspot

HUGE = "Bartholomew-" * 250  # 3,000 characters
NOTE = ("<!channel> <script>alert(1)</script> call me at <https://evil.example|our portal> & now. " * 600)[
    :50_000
]
# contact id -> (properties that make it hostile, whether its address can be sent to)
LEADS: dict[str, tuple[dict[str, str], bool]] = {
    "701": ({"firstname": "<!channel>", "lastname": "<@U0123ABC>"}, True),
    "702": ({"firstname": "<https://evil.example|Click>", "company": "<!here> & <b>Co</b>"}, True),
    "703": ({"firstname": "\u202eevil\u202c", "lastname": "שלום مرحبا"}, True),
    "704": ({"firstname": HUGE, "lastname": HUGE, "company": HUGE}, True),
    "705": ({"email": "lead705@example.com, attacker@evil.example"}, False),
    "706": ({"email": "lead706@example.com\r\nBcc: attacker@evil.example"}, False),
    "707": ({"email": "a" * 2500 + "@example.com"}, False),
    "708": ({"message": NOTE, "recent_conversion_event_name": "Demo\r\nBcc: attacker@evil.example"}, True),
    "709": ({"email": " lead709@Example.COM\r\n"}, True),  # stray whitespace around one address is fine
}
OURS = re.compile(
    r"<(@(?:UDANA|UMANAGER|UOTHER|UADMIN)|#(?:CREVIEW|CESCALATE|D[A-Z0-9]+)|!date\^\d+\^[^|>]*\|[^>]*"
    r"|https://acme\.slack\.com/[^>|]*)>"
)


def live_markup(text: str) -> list[str]:
    """Every `<…>` in mrkdwn that is not markup the app itself wrote (a known mention, a date)."""
    return [m for m in re.findall(r"<[^>]*>", text) if not OURS.fullmatch(m)]


def _surface_text(blocks: list[dict], fallback: str | None = None) -> str:
    return texts(blocks, kinds=("mrkdwn",)) + "\n" + (fallback or "")


def _check_message(args: dict) -> None:
    assert_valid_blocks(args["blocks"])
    shown = _surface_text(args["blocks"], args.get("text"))
    assert live_markup(shown) == [], live_markup(shown)[:3]
    assert len(args.get("text") or "") <= 40_000


@pytest.fixture
def hostile(settings, clock, slack, mailbox, hubspot):
    now = clock.now()
    hubspot.owners["501"] = {
        "email": "dana.whitfield@followup-demo.com",
        "firstName": "Dana",
        "lastName": "Whitfield",
        "userId": 1,
    }
    for cid, (props, _) in LEADS.items():
        base = {
            "email": f"lead{cid}@example.com",
            "firstname": "Pat",
            "lastname": f"Lead{cid}",
            "hubspot_owner_id": "501",
            "createdate": (now - timedelta(days=3)).isoformat(),
            "recent_conversion_date": (now - timedelta(days=1)).isoformat(),
            "recent_conversion_event_name": "Demo request",
            "message": "Could we get a demo next week?",
        }
        company = props.get("company")
        if company:
            hubspot.add("companies", f"9{cid}", name=company)
            base["associatedcompanyid"] = f"9{cid}"
        hubspot.add("contacts", cid, **(base | {k: v for k, v in props.items() if k != "company"}))
    slack.add_user("UTGT", "target@followup-demo.com")
    h = start_on_hubspot(settings, clock, slack, mailbox, hubspot)
    yield h
    h.stop()


def _cards(h) -> dict[str, tuple[int, tuple[str, str]]]:
    with h.deps.db.session() as s:
        return {
            fu.contact_id: (fu.id, (fu.cards[0].channel, fu.cards[0].ts))
            for fu in s.scalars(select(FollowUp).order_by(FollowUp.id))
        }


def test_every_hostile_lead_is_drafted_and_every_surface_is_inert_and_within_limits(hostile):
    h = hostile
    result = scan.scan(h.deps)
    assert result.draft_failures == [] and result.post_failures == []
    assert len(result.created) == len(LEADS)  # a draft for every lead
    settle(h)
    posts = h.slack.of("chat.postMessage")
    assert len(posts) == len(LEADS)  # Slack (which checks Block Kit's limits) took every card
    for post in posts:
        _check_message(post.args)
    # mrkdwn and the fallback text are parsed for mentions and links; plain text (the header) never is
    everything = "\n".join(_surface_text(p.args["blocks"], p.args.get("text")) for p in posts)
    for live in ("<!channel>", "<!here>", "<@U0123ABC>", "<https://evil.example", "<script>"):
        assert live not in everything

    cards = _cards(h)
    # the card warns before anyone approves an address that can't be sent to
    for cid, (_, sendable) in LEADS.items():
        fu = followup(h, cards[cid][0])
        flagged = any("address" in f for f in fu.current_draft.review_flags)
        assert flagged == (not sendable), cid
        draft = fu.current_draft
        assert "\n" not in draft.subject and "\r" not in draft.subject and len(draft.subject) <= 200
        assert 0 < len(draft.body) <= 2900 and len(draft.summary) <= 1500

    # the three modals, from a hostile lead's card: Slack validates each view it is asked to open
    fid, card = cards["701"]
    for action in (ActionId.CARD_EDIT, ActionId.CARD_ESCALATE, ActionId.CARD_DISMISS):
        h.click(action, user=DANA, card=card, value=str(fid))
    views = h.slack.wait_for("views.open", 3)
    for call in views:
        assert_valid_view(call.args["view"])
        assert live_markup(texts(call.args["view"]["blocks"], kinds=("mrkdwn",))) == []

    # /followup status and the App Home list every hostile lead
    h.command("status", user=DANA, response="status")
    [status] = h.slack.wait_for_response()
    _check_message(status)
    h.event({"type": "app_home_opened", "user": DANA, "tab": "home", "channel": "DDANA"})
    [home] = h.slack.wait_for("views.publish")
    assert_valid_view(home.args["view"])
    assert live_markup(texts(home.args["view"]["blocks"], kinds=("mrkdwn",))) == []


def test_approved_hostile_leads_get_one_email_to_one_address_or_a_clear_failure(hostile):
    h = hostile
    scan.scan(h.deps)
    settle(h)
    cards = _cards(h)
    for cid in LEADS:
        fid, card = cards[cid]
        assert h.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid)).status == 200
    sendable = [cid for cid, (_, ok) in LEADS.items() if ok]
    # each send checks HubSpot first (inbox thread, "still needed?") within the client's rate budget
    messages = h.mailbox.wait_for(len(sendable), timeout=60)
    settle(h)
    assert len(h.mailbox.messages) == len(sendable)
    for _sender, rcpts in h.mailbox.envelopes:
        assert len(rcpts) == 1 and "evil" not in rcpts[0]
    for msg in messages:
        assert len(msg.get_all("To")) == 1 and msg["Bcc"] is None and msg["Cc"] is None
        assert "\n" not in msg["Subject"] and "evil" not in msg["To"]
    assert "lead709@example.com" in {m["To"] for m in messages}

    for cid, (_, ok) in LEADS.items():
        fu = followup(h, cards[cid][0])
        if ok:
            assert fu.state == "sent", (cid, fu.last_error)
            continue
        assert fu.state == "failed"
        assert "address" in (fu.last_error or "")
        update = [c for c in h.slack.of("chat.update") if c.args["ts"] == cards[cid][1][1]][-1]
        _check_message(update.args)
        assert "Sending failed" in texts(update.args["blocks"])

    # Retry does not loop: it fails again at once, with the same reason, and sends nothing
    fid, card = cards["705"]
    h.click(ActionId.CARD_RETRY, user=DANA, card=card, value=str(fid))
    settle(h)
    fu = followup(h, fid)
    assert fu.state == "failed" and "more than one address" in (fu.last_error or "")
    assert len(h.mailbox.messages) == len(sendable)
    with h.deps.db.session() as s:
        sends = s.scalars(select(WorkItem).where(WorkItem.followup_id == fid, WorkItem.kind == "send")).all()
        assert sends and all(w.state == "done" and w.attempts == 1 for w in sends)
