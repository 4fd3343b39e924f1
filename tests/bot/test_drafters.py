"""The offline drafter on the whole sample book, and Claude through the real SDK against a local fake."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import FollowupConfig
from bot.db import Database, make_engine, migrate
from bot.drafting import draft_with_fallback
from bot.records import Company, Contact, Deal, DraftOutput, Engagement, EngagementType, LeadContext, Owner
from bot.sample_data import seed
from bot.services.deps import Deps
from bot.services.scan import assemble_context
from crm.embedded import EmbeddedCRM
from prompts import load
from tests.bot.pipelines import claude_pipeline, offline
from tests.builders import detect
from tests.conftest import NOW
from tests.fakes.anthropic_api import DEFAULTS, step_of


@pytest.fixture
def contexts(tmp_path) -> list[LeadContext]:
    db = Database(make_engine(f"sqlite:///{tmp_path / 'book.db'}"))
    migrate(db.engine)
    seed(db, NOW)
    config = FollowupConfig()
    crm = EmbeddedCRM(db)
    deps = Deps(
        db=db,
        crm=crm,
        drafter=offline(),
        fallback_drafter=None,
        mailer=None,  # type: ignore[arg-type]
        chat=None,
        clock=None,
        config=config,
    )  # type: ignore[arg-type]
    triggers = detect(crm, config, NOW)
    return [assemble_context(deps, t) for t in triggers]


def test_sample_book_triggers_every_rule(contexts):
    from bot.triggers.registry import RULES

    rules = {c.rule for c in contexts}
    assert rules == {r.name for r in RULES}
    assert len(contexts) >= 10


def test_offline_drafts_quote_the_last_interaction_and_make_one_ask(contexts):
    drafter = offline()
    for ctx in contexts:
        out = drafter.draft(ctx)
        body = out.body
        assert not re.search(r"just checking in|circling back|touching base", body, re.I), body
        own_words = re.sub(r'"[^"]*"', "", body)  # the lead's quoted words may hold questions of their own
        assert own_words.count("?") == 1, body  # one clear ask
        # only the lead's own words are quoted (or the title of something we sent or held); a call's or
        # meeting's body and a note are the rep's internal notes, never put in the lead's mouth
        for quoted in re.findall(r'"([^"]+)"', body):
            fragment = quoted.rstrip("…").rstrip("?")[:40]
            own_words = [e.body for e in ctx.engagements if e.is_inbound]
            titles = [e.subject or "" for e in ctx.engagements]
            assert any(fragment in t for t in own_words + titles), (fragment, body)
            internal = [e.body for e in ctx.engagements if not e.is_inbound and e.body]
            assert not any(
                fragment and fragment in t for t in internal if fragment not in " ".join(titles)
            ), body
        assert ctx.contact.first_name in body
        assert out.sources and ctx.engagements[0].id in {s.id for s in out.sources}
        assert out.summary and out.classification


def test_guardrails_flag_pricing_for_a_person(contexts):
    pricing = next(
        c for c in contexts if any("pricing" in e.body.lower() for e in c.engagements if e.is_inbound)
    )
    out, used = draft_with_fallback(offline(), None, pricing)
    assert used.name == "offline"
    assert any("Pricing comes up" in f for f in out.review_flags)


def test_the_claude_path_sends_the_context_as_data_and_keeps_each_steps_answer(claude, contexts):
    ctx = next(c for c in contexts if c.rule == "stale_deal")
    call_id = next(e.id for e in ctx.engagements if e.type.value == "call")
    claude.answers["draft"] = {
        "subject": "The DPA review",
        "body": f"Hi {ctx.contact.first_name},\n\nOn our call you said legal review was the last step. "
        "Would a 15-minute call with your counsel on Friday help close it out?\n\nDana",
        "ask": "Would a 15-minute call with your counsel on Friday help close it out?",
        "source_ids": [call_id, "made-up-id"],
    }
    out = claude_pipeline(claude).draft(ctx)
    steps = [step_of(r) for r in claude.requests]  # the first three run together, in any order
    assert sorted(steps[:3]) == ["classify", "extract", "score"] and steps[3:] == ["summarize", "draft"]
    for req in claude.requests:
        assert req["model"] == load(step_of(req)).model
        assert not {"temperature", "top_p", "top_k"} & set(req)  # the current API rejects sampling
        assert req["output_config"]["format"]["type"] == "json_schema"
        assert "You never send" in req["system"][0]["text"]
        assert req["messages"][0]["content"].startswith("<lead>")
        assert ctx.contact.email in req["messages"][0]["content"] and call_id in req["messages"][0]["content"]
    draft_req = claude.calls_for("draft")[0]
    assert "<earlier_steps>" in draft_req["messages"][0]["content"]  # what classify..summarize found
    assert draft_req["max_tokens"] == 900
    assert out.subject == "The DPA review" and out.urgency == "high"
    assert out.classification == "sales_opportunity" and out.analysis["confidence"] == 0.88
    assert out.summary.splitlines() == [
        "Who: a sales lead.",
        "Last: a form on Tuesday.",
        "Watch: budget unknown.",
    ]
    assert [s.id for s in out.sources] == [call_id]  # unknown ids are dropped, not invented
    assert set(out.analysis["engines"].values()) == {
        "claude classify/v1",
        "claude extract/v1",
        "claude score/v1",
        "claude summarize/v1",
        "claude draft/v3",
    }


def test_claude_outage_falls_back_to_the_offline_path_for_every_step(claude, contexts):
    claude.status = 529
    out = claude_pipeline(claude).draft(contexts[0])
    assert set(out.analysis["engines"].values()) == {"offline"}
    assert out.review_flags[0] == (
        "Claude's classify step failed (OverloadedError); the offline path answered the classify step."
    )
    assert len(claude.requests) == 5  # each step tried once (the SDK's retries are off here)


# --- any input at all ------------------------------------------------------------------------------------
HOSTILE_NAMES = [
    "<!channel>",
    "Bartholomew-" * 250,
    "\u202eevil\u202c",
    "a\r\nBcc: x@evil.example",
    "",
    " ",
    "\x00",
]
names = st.one_of(st.text(max_size=120), st.sampled_from(HOSTILE_NAMES))
bodies = st.one_of(
    names, st.integers(1000, 50_000).map(lambda n: ("<b>note</b> & more. " * (n // 20 + 1))[:n])
)
moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))


@st.composite
def lead_contexts(draw: st.DrawFn) -> LeadContext:
    from bot.triggers.registry import RULES

    deal = draw(
        st.none()
        | st.builds(
            Deal,
            id=st.just("3"),
            name=names,
            stage=names,
            amount=st.none() | st.floats(0, 1e9),
            stage_changed_at=moments,
            close_date=st.none() | moments,
            quote_expires_at=st.none() | moments,
            lost_reason=st.none() | names,
        )
    )
    engagement = st.builds(
        Engagement,
        id=st.text(min_size=1, max_size=6),
        type=st.sampled_from(list(EngagementType)),
        occurred_at=moments,
        direction=st.sampled_from([None, "inbound", "outbound"]),
        subject=st.none() | names,
        body=bodies,
    )
    return LeadContext(
        rule=draw(st.sampled_from([r.name for r in RULES] + ["no_such_rule"])),
        reason=draw(names),
        as_of=draw(moments),
        contact=Contact(
            id="1",
            email=draw(names),
            first_name=draw(names),
            last_name=draw(names),
            title=draw(st.none() | names),
        ),
        company=draw(st.none() | st.builds(Company, id=st.just("2"), name=names)),
        deal=deal,
        owner=draw(
            st.none() | st.builds(Owner, id=st.just("5"), email=names, first_name=names, last_name=names)
        ),
        engagements=draw(st.lists(engagement, max_size=5)),
    )


def _fits(out: DraftOutput) -> None:
    DraftOutput.model_validate(out.model_dump())  # every limit holds
    assert "\n" not in out.subject and "\r" not in out.subject and "\x00" not in out.body + out.summary
    assert out.body.strip() and out.summary.strip()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ctx=lead_contexts())
def test_the_offline_drafter_drafts_any_lead_within_the_limits(ctx):
    out, used = draft_with_fallback(offline(), None, ctx)
    assert used.name == "offline"
    _fits(out)


def test_a_hostile_claude_answer_is_cleaned_like_the_offline_one(claude, contexts):
    claude.answers["draft"] = {
        "subject": "Re: demo\r\nBcc: attacker@evil.example" + "s" * 150,
        "body": "B\x00ody " * 300,
        "ask": "Would Friday work?",
        "source_ids": [],
    }
    claude.answers["extract"] = {**DEFAULTS["extract"], "still_needed": ["m" * 90] * 10}
    out = claude_pipeline(claude).draft(contexts[0])
    _fits(out)
    assert out.subject.startswith("Re: demo Bcc:") and "\n" not in out.subject
    assert len(out.missing_information) == 10


def test_internal_notes_are_never_quoted_and_only_working_days_are_proposed():
    from datetime import date

    from bot.clock import BusinessCalendar
    from bot.config import BusinessHours

    wednesday = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # the day before Thanksgiving
    calendar = BusinessCalendar(BusinessHours(timezone="America/New_York", holidays_country="US"))
    note = (
        "Mentioned the Q2 implementation timeline is the key constraint; legal review of the DPA still open"
    )
    ctx = LeadContext(
        rule="call_no_next_step",
        reason="Call on Mon 23 Nov with no next step",
        as_of=wednesday,
        contact=Contact(id="1", email="omar@bluepeak.example", first_name="Omar", last_name="Haddad"),
        company=Company(id="2", name="Bluepeak Health"),
        engagements=[
            Engagement(
                id="e1",
                type=EngagementType.CALL,
                occurred_at=datetime(2026, 11, 23, 16, 0, tzinfo=UTC),
                direction="outbound",
                subject="Pricing call",
                body=note,
            ),
            Engagement(
                id="e2",
                type=EngagementType.FORM,
                occurred_at=datetime(2026, 11, 2, 16, 0, tzinfo=UTC),
                direction="inbound",
                body="We are a company our size (about 300 employees) looking at options.",
            ),
        ],
        workdays_ahead=calendar.workdays_after(wednesday),
    )
    assert ctx.workdays_ahead[0] == date(2026, 11, 27)  # Thursday the 26th is Thanksgiving
    out = offline().draft(ctx)
    assert "Q2 implementation" not in out.body and "DPA" not in out.body and "legal review" not in out.body
    named = {
        d for d in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday") if d in out.body.split("\n\n")[2]
    }
    assert "Thursday" not in out.body and named <= {"Friday", "Monday"}  # the ask: working days only
    assert "on Monday" in out.body  # the conversation is named by its day (two days ago), not its notes
    assert "Company size" not in out.missing_information  # they told us: about 300 employees
