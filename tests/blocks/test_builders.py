"""Every message and modal the app builds passes slack_sdk's Block Kit validation, in every state."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from blocks.card import card_blocks, to_dicts
from blocks.ids import ActionId
from blocks.modals import ModalContext, edit_modal, escalate_modal
from blocks.status import help_blocks, status_blocks
from bot.demo import builder_link
from bot.snapshot import CardRef, DraftView, FollowUpView, QueueView
from bot.states import State
from tests.blockkit import action_ids, assert_valid_blocks, assert_valid_view, texts

AT = datetime(2026, 11, 18, 20, 0, tzinfo=UTC)


def make(state: State = State.PENDING, *, long: bool = False, **changes) -> FollowUpView:
    body = (
        ("A <b>tricky</b> & long line. " * 200)[:2900]
        if long
        else "Hi Sarah,\n\nWould Thursday work?\n\nDana"
    )
    draft = DraftView(
        id=1,
        origin="ai",
        author="offline",
        summary=("Summary & <context> " * 300) if long else "Sarah wants a demo.",
        classification="demo request",
        urgency="high",
        missing_information=["Budget", "Timeline"] * (20 if long else 1),
        review_flags=["Pricing comes up: a person decides what to quote or discount."] * (30 if long else 1),
        sources=[
            {"kind": "form", "id": "eng-1", "label": "Inbound form: Demo request " * (10 if long else 1)}
        ]
        * 6,
        subject="Re: Demo request",
        body=body,
    )
    fu = FollowUpView(
        id=7,
        rule="inbound_no_response",
        reason="Inbound form unanswered for 8.0 business hours (limit 2)",
        state=state,
        contact_name="Sarah Chen" * (30 if long else 1),
        contact_email="sarah@northwind.example",
        company_name="Northwind",
        owner_name="Dana Whitfield",
        owner_slack_id="UDANA",
        draft=draft,
        edited=False,
        cards=[
            CardRef(
                "DDANA",
                "1700000000.000001",
                "https://acme.slack.com/archives/DDANA/p1700000000000001",
                "card",
            )
        ],
    )
    return replace(fu, **changes)


STATES = {
    State.PENDING: {},
    State.SENDING: {},
    State.SENT: {"sent_at": AT, "sent_by": "UDANA", "edited": True},
    State.FAILED: {"last_error": "554 5.7.1 Relay access denied " * 40},
    State.SNOOZED: {"snoozed_until": AT},
    State.ESCALATED: {
        "escalated_to": "UMANAGER",
        "escalated_by": "UDANA",
        "escalation_reason": "discount " * 200,
    },
}


@pytest.mark.parametrize("long", [False, True], ids=["normal", "oversized"])
@pytest.mark.parametrize("state", list(STATES))
def test_card_is_valid_in_every_state(state: State, long: bool):
    fu = make(state, long=long, **STATES[state])
    for escalation in (False, True):
        assert_valid_blocks(to_dicts(card_blocks(fu, escalation=escalation)))


def test_buttons_follow_the_state():
    assert action_ids(to_dicts(card_blocks(make()))) == [
        ActionId.CARD_APPROVE,
        ActionId.CARD_EDIT,
        ActionId.CARD_SNOOZE,
        ActionId.CARD_ESCALATE,
        ActionId.CARD_DISMISS,
        ActionId.CARD_HISTORY,
    ]
    escalated = make(State.ESCALATED, **STATES[State.ESCALATED])
    assert ActionId.CARD_ESCALATE not in action_ids(to_dicts(card_blocks(escalated)))
    assert action_ids(to_dicts(card_blocks(make(State.FAILED, **STATES[State.FAILED])))) == [
        ActionId.CARD_RETRY,
        ActionId.CARD_DISMISS,
        ActionId.CARD_HISTORY,
    ]
    for state in (State.SENT, State.SENDING, State.SNOOZED):
        assert action_ids(to_dicts(card_blocks(make(state, **STATES[state])))) == [ActionId.CARD_HISTORY]


def test_user_text_cannot_inject_mentions():
    fu = make(contact_name="<!channel> Eve", draft=replace(make().draft, body="<@U999> hello <!here>"))
    shown = texts(to_dicts(card_blocks(fu)), kinds=("mrkdwn",))  # plain_text never parses mentions
    assert (
        "&lt;@U999&gt; hello" in shown
        and "<!channel>" not in shown
        and "<@U999>" not in shown
        and "<!here>" not in shown
    )


@pytest.mark.parametrize("long", [False, True])
def test_modals_are_valid(long: bool):
    fu = make(long=long)
    ctx = ModalContext(followup_id=7, channel="DDANA", ts="1700000000.000001")
    assert_valid_view(edit_modal(fu, ctx).to_dict())
    for channel in ("CESCALATE", None):
        assert_valid_view(escalate_modal(fu, ctx, escalation_channel=channel).to_dict())
    assert json.loads(edit_modal(fu, ctx).private_metadata or "") == ctx.model_dump()


def test_status_and_help_are_valid_even_with_a_long_queue():
    many = [make(long=True) for _ in range(8)]  # the service reads at most 8 per group
    groups = {
        "Overdue": many,
        "Pending": many,
        "Escalated": many,
        "Snoozed": [make(State.SNOOZED, snoozed_until=AT)],
        "Failed": many,
        "Sent today": many,
    }
    counts = {title: 30 for title in groups} | {"Snoozed": 1}
    blocks = to_dicts(status_blocks(QueueView(groups, counts)))
    assert_valid_blocks(blocks)
    assert "…and 22 more" in texts(blocks)  # the first groups show 8 of 30
    assert "Sent today* (30)" in texts(blocks)  # every group keeps its title
    assert_valid_blocks(to_dicts(status_blocks(QueueView({"Pending": []}, {"Pending": 0}))))
    assert_valid_blocks(to_dicts(help_blocks()))
    assert_valid_blocks(to_dicts(help_blocks(unknown="x" * 5000)))


def test_block_kit_builder_link_carries_the_blocks():
    from urllib.parse import unquote

    blocks = to_dicts(card_blocks(make()))
    link = builder_link(blocks)
    assert link.startswith("https://app.slack.com/block-kit-builder/#")
    assert json.loads(unquote(link.split("#", 1)[1])) == {"blocks": blocks}


def test_a_sent_card_shows_what_came_back_as_inert_text():
    from tests.blockkit import assert_valid_blocks, texts

    said = "Sarah Chen replied Wed 25 Nov 15:00: “<!channel> *urgent* " + "x" * 600 + "”"
    blocks = to_dicts(card_blocks(make(State.SENT, heard_back=said)))
    assert_valid_blocks(blocks)
    shown = texts(blocks)
    assert ":leftwards_arrow_with_hook: Sarah Chen replied Wed 25 Nov 15:00" in shown
    assert "<!channel>" not in shown and "&lt;!channel&gt;" in shown  # escaped, never a mention
    assert all(len(t) <= 3000 for t in shown.split("\n"))
    assert "replied" not in texts(to_dicts(card_blocks(make(State.SENT))))
