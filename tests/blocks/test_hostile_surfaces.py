"""Every surface built from any text a lead or a CRM field could hold: valid Block Kit, within Slack's
limits, and nothing in it parsed as a mention or a link but the app's own markup."""

from __future__ import annotations

import re
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blocks.card import card_blocks, card_text, to_dicts
from blocks.format import person
from blocks.modals import ModalContext, dismiss_modal, edit_modal, escalate_modal
from blocks.status import help_blocks, status_blocks
from bot.snapshot import QueueView
from bot.states import State
from tests.blockkit import assert_valid_blocks, assert_valid_view, texts
from tests.blocks.test_builders import AT, make

HOSTILE = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U0123ABC>",
    "<#C0123ABC>",
    "<!subteam^S123>",
    "UX> <!channel> <https://evil.example|x",
    "<https://evil.example|Click here>",
    "<script>alert(1)</script>",
    "&lt;!channel&gt;",
    "&",
    "\u202eevil\u202c",
    "שלום مرحبا",
    "```",
    "*_~`>",
    "\r\n\r\n",
    "x" * 3000,
    "&" * 3000,
    "<" * 3000,
]
text = st.one_of(
    st.sampled_from(HOSTILE), st.text(max_size=400), st.text(alphabet="<>&!@#|^ \n", max_size=400)
)
long_text = st.one_of(text, st.integers(2000, 60_000).map(lambda n: ("<!here> & " * (n // 10 + 1))[:n]))
ours = re.compile(
    r"<(@[UW][A-Z0-9]{2,20}|#[CDG][A-Z0-9]{2,20}|!date\^\d+\^[^|>]*\|[^<>]*|https://acme\.slack\.com/[^<>|]*)>"
)


def live_markup(mrkdwn: str) -> list[str]:
    return [m for m in re.findall(r"<[^>]*>|<[^>]*$", mrkdwn) if not ours.fullmatch(m)]


def _inert(blocks: list[dict], *extra: str) -> None:
    shown = "\n".join([texts(blocks, kinds=("mrkdwn",)), *extra])
    assert live_markup(shown) == [], live_markup(shown)[:3]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=text,
    company=st.one_of(st.none(), text),
    email=text,
    owner=st.one_of(st.none(), text),
    reason=long_text,
    summary=long_text,
    subject=text.filter(lambda s: s.strip() != ""),
    body=long_text.filter(lambda s: s.strip() != ""),
    flags=st.lists(long_text, max_size=15),
    missing=st.lists(text, max_size=15),
    someone=text,
    error=long_text,
    state=st.sampled_from(list(State)),
)
def test_every_surface_is_valid_and_inert_for_any_text(
    name, company, email, owner, reason, summary, subject, body, flags, missing, someone, error, state
):
    base = make()
    draft = replace(
        base.draft,
        summary=summary,
        subject=subject,
        body=body,
        review_flags=flags,
        missing_information=missing,
        classification=name[:80],
        sources=[{"kind": "form", "id": "1", "label": name}],
    )
    fu = replace(
        base,
        state=state,
        contact_name=name,
        company_name=company,
        contact_email=email,
        owner_name=owner,
        owner_slack_id=None if owner else "UDANA",
        reason=reason,
        draft=draft,
        snoozed_until=AT,
        due_at=AT,
        sent_at=AT,
        sent_by=someone,
        escalated_to=someone,
        escalated_by=someone,
        escalation_reason=error,
        last_error=error,
        outcome_reason=error,
        outcome_by=someone,
    )
    for escalation in (False, True):
        blocks = to_dicts(card_blocks(fu, escalation=escalation))
        assert_valid_blocks(blocks)
        _inert(blocks, card_text(fu))
    assert len(card_text(fu)) <= 500

    ctx = ModalContext(followup_id=fu.id, channel="DDANA", ts="1700000000.000001")
    views = [
        edit_modal(fu, ctx),
        escalate_modal(fu, ctx, escalation_channel="CESCALATE"),
        dismiss_modal(fu, ctx, {"other": "Other"}),
    ]
    for view in views:
        raw = view.to_dict()
        assert_valid_view(raw)
        _inert(raw["blocks"])

    queue = to_dicts(status_blocks(QueueView({"Pending": [fu] * 8, "Escalated": [fu]}, {"Pending": 40})))
    assert_valid_blocks(queue)
    _inert(queue)
    help_text = to_dicts(help_blocks(unknown=name))
    assert_valid_blocks(help_text)
    _inert(help_text)


@given(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=100)))
def test_only_well_formed_ids_become_mentions(value):
    shown = person(value, fallback=value)
    if re.fullmatch(r"[UW][A-Z0-9]{2,20}", value):
        assert shown == f"<@{value}>"
    elif re.fullmatch(r"[CDG][A-Z0-9]{2,20}", value):
        assert shown == f"<#{value}>"
    else:
        assert "<" not in shown and ">" not in shown and len(shown) <= 100
