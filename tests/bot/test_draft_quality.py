"""Drafts a rep would send, and checks that can tell a good draft from a bad one.

The offline drafter on the situations the issue names (a call three months ago, a quote that ran out, a
break-up, spam and the press, a German and a Portuguese lead, a deal whose CRM name is internal); the
eval's checks fed known-bad drafts, each failing; and the demo's whole run measured for repetition."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.drafting.classifier import Classification, LeadClass
from bot.evaluation import MEETING, ask_of, check_draft, repetition
from bot.records import Company, Contact, Deal, Engagement, EngagementType, LeadContext, Owner
from tests.bot.pipelines import offline
from tests.bot.test_cli import run

NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)  # Wednesday 18 Nov, 10:00 in New York
DAYS = [date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 23)]
INTERNAL = "Acme — Pilot Q3 (ent. pipeline, 2nd try)"


def _ctx(
    rule: str, engagements: list[Engagement], *, deal: Deal | None = None, reason: str = ""
) -> LeadContext:
    return LeadContext(
        rule=rule,
        reason=reason or f"{rule} fired",
        as_of=NOW,
        contact=Contact(id="c1", email="lee@acme.example", first_name="Lee", last_name="Park"),
        company=Company(id="co1", name="Acme"),
        deal=deal,
        owner=Owner(id="o1", email="rae@us.example", first_name="Rae"),
        engagements=engagements,
        workdays_ahead=DAYS,
        zone="America/New_York",
    )


def _deal(**extra) -> Deal:
    return Deal(
        id="d1", name=INTERNAL, stage="contractsent", stage_changed_at=NOW - timedelta(days=20), **extra
    )


def _call(
    days_ago: int, notes: str = "Walked through pricing and the HubSpot integration; econ buyer is CFO"
) -> Engagement:
    return Engagement(
        id="call1",
        type=EngagementType.CALL,
        occurred_at=NOW - timedelta(days=days_ago),
        direction="outbound",
        subject="Discovery call",
        body=notes,
    )


def _inbound(body: str, subject: str | None = None) -> Engagement:
    return Engagement(
        id="in1",
        type=EngagementType.FORM,
        occurred_at=NOW - timedelta(hours=20),
        direction="inbound",
        subject=subject,
        body=body,
    )


def _cls(label: LeadClass) -> Classification:
    return Classification(label=label, confidence=0.9, reason="test")


def test_thanks_for_the_call_only_when_the_call_was_recent():
    recent = offline().draft(_ctx("call_no_next_step", [_call(2)]))
    old = offline().draft(_ctx("stale_deal", [_call(90)], deal=_deal()))
    assert any(
        w in recent.body
        for w in ("Thanks again", "Thank you for your time", "good to talk", "enjoyed", "making time")
    )
    for phrase in ("Thanks again", "Thank you for your time", "good to talk", "enjoyed our", "making time"):
        assert phrase not in old.body, old.body
    assert "August" in old.body  # how long ago, in words a lead reads: "back in August"


def test_what_the_call_covered_is_paraphrased_never_quoted_nor_shorthand():
    out = offline().draft(_ctx("call_no_next_step", [_call(2)]))
    assert "econ buyer" not in out.body.casefold() and "walked through" not in out.body.casefold()
    assert "pricing" in out.body.casefold() or "integration" in out.body.casefold()
    assert check_draft(out.body, _ctx("call_no_next_step", [_call(2)]))["no_internal_note_text"]


@pytest.mark.parametrize("rule", ["proposal_no_reply", "quote_expired", "stale_deal", "call_no_next_step"])
def test_subjects_never_carry_the_crms_internal_deal_name(rule):
    sent = Engagement(
        id="p1",
        type=EngagementType.EMAIL,
        direction="outbound",
        occurred_at=NOW - timedelta(days=5),
        subject="Proposal for Acme",
        body="Attached.",
    )
    deal = _deal(quote_expires_at=NOW - timedelta(days=2))
    out = offline().draft(_ctx(rule, [sent, _call(30)], deal=deal))
    assert INTERNAL.casefold() not in out.subject.casefold() and "Pilot Q3" not in out.subject
    assert INTERNAL not in out.body


def test_a_quote_gets_the_quotes_next_step_and_its_expiry():
    deal = _deal(quote_expires_at=datetime(2026, 11, 13, 17, 0, tzinfo=UTC))
    out = offline().draft(_ctx("quote_expired", [_call(30)], deal=deal))
    assert "quote" in out.body.casefold() and ("Friday" in out.body or "November 13" in out.body)
    assert not MEETING.search(ask_of(out.body)) or "quote" in ask_of(out.body).casefold()


def test_a_break_up_is_a_break_up():
    ctx = _ctx(
        "stale_deal",
        [_call(40)],
        deal=_deal(),
        reason="Touch 3 of 3: no reply to touch 2 — the break-up message",
    )
    out = offline().draft(ctx)
    assert out.subject.startswith("Closing the loop")
    assert any(w in out.body for w in ("last", "final", "stop here", "crowd your inbox"))


@pytest.mark.parametrize(
    ("label", "text"),
    [
        (LeadClass.SPAM, "CONGRATULATIONS you won $5,000,000, click here to claim"),
        (LeadClass.VENDOR_PITCH, "We are an SEO agency and can get your website to page one."),
        (LeadClass.RECRUITING, "I have three senior account executives available for your team."),
        (LeadClass.PRESS, "I'm writing a piece on sales tools for TechDaily and would love a comment."),
    ],
)
def test_no_meeting_is_offered_to_spam_vendors_recruiters_or_the_press(label, text, monkeypatch):
    from bot.drafting import compose

    ctx = _ctx("inbound_no_response", [_inbound(text)])
    draft = compose.compose(ctx, _cls(label))
    assert not MEETING.search(draft.ask), draft.ask
    assert check_draft(draft.body, ctx, label=label)["ask_fits_class"]


def test_a_german_lead_gets_a_german_draft():
    ctx = _ctx("inbound_no_response", [_inbound(
        "Guten Tag, wir sind ein Maschinenbauer mit 200 Mitarbeitern und suchen eine Lösung für die "
        "Nachverfolgung von Anfragen. Können Sie uns eine Demo zeigen?"
    )])  # fmt: skip
    out = offline().draft(ctx)
    assert out.body.startswith(("Hallo Lee", "Guten Tag Lee")) and "Donnerstag" in out.body
    assert not any("They wrote in" in f for f in out.review_flags)
    assert check_draft(out.body, ctx, flags=out.review_flags)["language_matches"]


def test_a_portuguese_lead_gets_english_and_the_card_says_they_wrote_in_portuguese():
    ctx = _ctx("inbound_no_response", [_inbound(
        "Olá, somos uma transportadora em Campinas e gostaríamos de saber o preço para 20 usuários."
    )])  # fmt: skip
    out = offline().draft(ctx)
    assert "They wrote in Portuguese: the draft is in English." in " ".join(out.review_flags)
    assert check_draft(out.body, ctx, flags=out.review_flags)["language_matches"]


def test_dates_in_a_draft_are_in_the_teams_zone():
    """An inquiry at 23:30 on Tuesday in New York is 04:30 on Wednesday in UTC: the draft says Tuesday."""
    late = Engagement(
        id="in1",
        type=EngagementType.FORM,
        direction="inbound",
        body="Can we see a demo for 40 reps?",
        occurred_at=datetime(2026, 11, 18, 4, 30, tzinfo=UTC),
    )
    out = offline().draft(_ctx("inbound_no_response", [late]))
    assert "Tuesday" in out.body and "Wednesday" not in out.body.split("\n\n")[1]


# ---- the checks, each fed a known-bad draft ----


def test_each_check_fails_on_a_known_bad_draft():
    german = _ctx(
        "inbound_no_response", [_inbound("Guten Tag, wir möchten gern ein Angebot für 30 Lizenzen erhalten.")]
    )
    english = "Hi Lee,\n\nThanks for your note on Tuesday.\n\nWould Thursday work for a call?\n\nBest,\nRae"
    assert not check_draft(english, german, flags=[])["language_matches"]
    spam = _ctx("inbound_no_response", [_inbound("You won a prize, click here")])
    assert not check_draft(english, spam, label=LeadClass.SPAM)["ask_fits_class"]
    press = _ctx("inbound_no_response", [_inbound("I'm a reporter at the Times.")])
    assert not check_draft(english, press, label=LeadClass.PRESS)["ask_fits_class"]
    with_deal = _ctx("stale_deal", [_call(20)], deal=_deal())
    assert not check_draft(english, with_deal, subject=f"Next step for {INTERNAL}")["no_deal_name_in_subject"]
    leaky = "Hi Lee,\n\nWalked through pricing and the HubSpot integration, as you know.\n\nAny news?\n\nRae"
    assert not check_draft(leaky, _ctx("call_no_next_step", [_call(2)]))["no_internal_note_text"]
    two_asks = "Hi Lee,\n\nCan we talk? Or shall I call?\n\nRae"
    assert not check_draft(two_asks, spam)["one_ask"]
    # and a good draft passes them all
    good = offline().draft(german)
    assert all(check_draft(good.body, german, subject=good.subject, label=LeadClass.SALES_OPPORTUNITY,
                           flags=good.review_flags).values())  # fmt: skip


def test_the_repetition_score_tells_one_template_from_varied_drafts():
    same = [
        ("Hi,\n\nThanks again for our call on Monday.\n\nWould 20 minutes on Thursday or Friday work?", "")
    ] * 10
    same = [(b, ask_of(b)) for b, _ in same]
    bad = repetition(same)
    assert bad.unique_share <= 0.2 and bad.top_ask_share == 1.0
    varied = [
        (
            f"Hi,\n\nYour note about item {i} arrived.\n\nCould you confirm order {i}?",
            f"Could you confirm order {i}?",
        )
        for i in range(10)
    ]
    good = repetition(varied)
    assert good.unique_share == 1.0 and good.top_ask_share == 0.1


def test_the_demos_drafts_are_varied_and_fit_their_situation(tmp_path):
    """The demo as a user runs it; its database then read: >= 60% of sentences unique, no ask on more than a
    quarter of cards, no subject with a deal's CRM name, and no meeting offered to a non-buyer."""
    db = tmp_path / "demo.db"
    out = run("demo", "--database-url", f"sqlite:///{db}", cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT d.subject, d.body, f.deal_id FROM drafts d JOIN followups f ON f.id = d.followup_id "
        "WHERE d.id IN (SELECT MIN(id) FROM drafts GROUP BY followup_id)"
    ).fetchall()
    deal_names = dict(con.execute("SELECT id, name FROM crm_deals").fetchall())
    assert len(rows) >= 20
    score = repetition([(body, ask_of(body)) for _, body, _ in rows])
    assert score.unique_share >= 0.6, score
    assert score.top_ask_share <= 0.25, score
    for subject, _, deal_id in rows:
        if deal_id in deal_names:
            assert deal_names[deal_id].casefold() not in subject.casefold()
    thanks = [body for _, body, _ in rows if body.split("\n\n")[1].startswith("Thanks again")]
    assert len(thanks) <= len(rows) // 4


@pytest.mark.parametrize(
    "text",
    [
        "My card is four one one one one one one one one one one one one one one one, exp 12/28",
        "meine Kartennummer ist vier eins eins eins fünf fünf fünf fünf",
        "mi tarjeta: cuatro cinco cinco cinco uno dos tres cuatro nueve",
    ],
)
def test_private_data_written_out_in_words_is_taken_out_and_flagged(text):
    """Digits spelled as words are a number all the same: replaced before a model reads the lead, and a
    draft carrying them is flagged for a person."""
    from bot.drafting.redact import redact, sensitive_in

    assert "[number in words]" in redact(text)
    assert "a number written out in words" in sensitive_in(text)
    ctx = _ctx("inbound_no_response", [_inbound("Can we see a demo?")])
    out = offline().draft(ctx)
    from bot.drafting.guardrails import apply_guardrails

    flagged = apply_guardrails(out.model_copy(update={"body": out.body + "\n\n" + text}), ctx)
    assert any("written out in words" in f for f in flagged.review_flags)


def test_ordinary_numbers_in_words_are_left_alone():
    from bot.drafting.redact import sensitive_in

    for text in ("We have one, two or three offices.", "Could we talk at two or three on Tuesday?"):
        assert sensitive_in(text) == []


def test_a_calls_title_never_reaches_the_lead():
    """The rep's label for a call ("champ wavering") is internal: a draft names the call by its day."""
    call = Engagement(
        id="c9",
        type=EngagementType.CALL,
        occurred_at=NOW - timedelta(days=6),
        direction="outbound",
        subject="Negotiation call - champ wavering, econ buyer hates price",
        body="Went through the numbers.",
    )
    deal = _deal()
    for rule in ("proposal_no_reply", "stale_deal", "quote_expired", "closed_lost_nurture"):
        out = offline().draft(_ctx(rule, [call], deal=deal))
        assert "champ" not in out.body and "Negotiation call" not in out.body, (rule, out.body)
        assert "champ" not in out.subject


def test_our_label_for_a_form_without_subject_is_not_replied_to():
    from bot.records import SYNTHETIC_SUBJECT

    ctx = _ctx(
        "inbound_no_response",
        [_inbound("Can we get pricing for 12 seats?", subject=f"{SYNTHETIC_SUBJECT}the website")],
    )
    out = offline().draft(ctx)
    assert SYNTHETIC_SUBJECT not in out.subject and "the website" not in out.subject


@pytest.mark.parametrize(
    "body",
    [
        "We are a team of 40 and want a demo.",
        "Guten Tag, wir möchten gern ein Angebot für 30 Lizenzen und eine Vorführung.",
        "Bonjour, nous voulons une démonstration pour notre équipe de vente.",
        "Hola, queremos una demostración para nuestro equipo comercial.",
    ],
)
@pytest.mark.parametrize("days_ago", [0, 3, 10, 30, 90])
@pytest.mark.parametrize(
    "rule", ["inbound_no_response", "call_no_next_step", "stale_deal", "closed_lost_nurture"]
)
def test_no_doubled_preposition_or_broken_fallback_in_any_language(body, days_ago, rule):
    first = Engagement(id="in1", type=EngagementType.FORM, direction="inbound", body=body,
                       occurred_at=NOW - timedelta(days=days_ago, hours=1))  # fmt: skip
    call = _call(days_ago + 1)
    ctx = _ctx(rule, [first, call], deal=_deal(close_date=NOW - timedelta(days=days_ago + 61)))
    ctx = ctx.model_copy(update={"company": None})
    for reason in ("fired", "Touch 3 of 3: no reply to touch 2 — the break-up message"):
        out = offline().draft(ctx.model_copy(update={"reason": reason}))
        text = f"{out.subject}\n{out.body}"
        for wrong in ("from on ", "since on ", "vom am ", "seit am ", "à le ", "depuis en ", "desde en ",
                      "bei Ihr Team", "von Ihr Team", "at your team", "{", "}"):  # fmt: skip
            assert wrong not in text, (wrong, text)


def test_silence_after_the_reps_answer_is_worded_as_such():
    sent = Engagement(
        id="p1",
        type=EngagementType.EMAIL,
        direction="outbound",
        occurred_at=NOW - timedelta(days=9),
        subject="Proposal for Acme",
        body="Attached.",
    )
    reason = (
        "Lee Park replied to proposal “Proposal for Acme” on Mon 9 Nov and got your answer on Tue 10 Nov; "
        "no word since in 5 business days (limit 3)"
    )
    out = offline().draft(_ctx("proposal_no_reply", [sent], reason=reason))
    assert "answer" in out.body.split("\n\n")[1].casefold() or "reply" in out.body.split("\n\n")[1].casefold()
    assert "reached the right people" not in out.body and out.subject == "Re: Proposal for Acme"
