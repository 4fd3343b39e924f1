"""The Claude path as the current API sees it: each step's model and effort, no sampling parameters, safety
refusals, and classify/extract/score running at the same time — read back from what reached the local fake
of the Messages API, the ledger and the card."""

from __future__ import annotations

import threading

import anthropic
import pytest
from sqlalchemy import select

from bot.config import Drafting, parse_config
from bot.drafting.ledger import Ledger, StepRecord
from bot.errors import ConfigError
from bot.models import AiOutput
from prompts import PromptError, _parse
from tests.bot.pipelines import claude_pipeline, ledger_at
from tests.bot.test_pipeline import lead, rows
from tests.fakes.anthropic_api import step_of

NARROW = ("classify", "extract", "score")


@pytest.fixture
def ledger(tmp_path) -> Ledger:
    return ledger_at(tmp_path / "ledger.db")


def test_narrow_steps_run_on_haiku_at_low_effort_and_the_rest_on_sonnet(claude, ledger):
    claude_pipeline(claude, ledger=ledger).draft(lead())
    claude_pipeline(claude, ledger=ledger).breakup(lead(2))
    sent = {(step_of(r), r["model"], r["output_config"].get("effort")) for r in claude.requests}
    assert sent == {
        ("classify", "claude-haiku-5-5", "low"),
        ("extract", "claude-haiku-5-5", "low"),
        ("score", "claude-haiku-5-5", "low"),
        ("summarize", "claude-sonnet-5-5", "high"),
        ("draft", "claude-sonnet-5-5", "high"),
        ("breakup", "claude-sonnet-5-5", "high"),
    }
    for r in claude.requests:  # effort sits next to the structured-output format, in one output_config
        assert set(r["output_config"]) == {"effort", "format"}
        assert r["output_config"]["format"]["type"] == "json_schema"
    assert {(r.step, r.model) for r in rows(ledger)} >= {
        ("classify", "claude-haiku-5-5"),
        ("draft", "claude-sonnet-5-5"),
    }


def test_the_config_file_overrides_a_steps_model_and_effort(claude):
    config = parse_config(
        {
            "drafting": {
                "steps": {
                    "score": {"model": "claude-sonnet-5-5", "effort": "medium"},
                    "draft": {"effort": "max"},
                }
            }
        }
    ).drafting
    claude_pipeline(claude, config=config).draft(lead())
    [score] = claude.calls_for("score")
    [draft] = claude.calls_for("draft")
    [extract] = claude.calls_for("extract")
    assert (score["model"], score["output_config"]["effort"]) == ("claude-sonnet-5-5", "medium")
    assert (draft["model"], draft["output_config"]["effort"]) == ("claude-sonnet-5-5", "max")
    assert (extract["model"], extract["output_config"]["effort"]) == ("claude-haiku-5-5", "low")
    with pytest.raises(ConfigError, match=r"drafting\.steps\.score\.effort: Input should be 'low'"):
        parse_config({"drafting": {"steps": {"score": {"effort": "lowest"}}}})
    with pytest.raises(ConfigError, match=r"drafting\.steps\.draft\.temperature: unknown key"):
        parse_config({"drafting": {"steps": {"draft": {"temperature": 0.2}}}})
    with pytest.raises(PromptError, match="effort 'fast' is not one of low, medium, high, xhigh, max"):
        _parse("---\nname: draft\nversion: 3\nmodel: m\nmax_tokens: 9\neffort: fast\n---\nStep: draft.", "x")


def test_no_sampling_parameter_is_sent_and_the_fake_rejects_one_like_the_api(claude, ledger):
    client = anthropic.Anthropic(api_key=claude.api_key, base_url=claude.base_url, max_retries=0)
    for param in ("temperature", "top_p", "top_k"):  # SDK 2.x has no such argument: sent as extra_body
        with pytest.raises(anthropic.BadRequestError, match=f"{param}: sampling parameters are not"):
            client.messages.create(
                model="claude-sonnet-5-5",
                max_tokens=10,
                messages=[{"role": "user", "content": "hi"}],
                extra_body={param: 0.5},
            )
    pipeline = claude_pipeline(claude, ledger=ledger)
    pipeline.draft(lead())
    pipeline.draft_batch([lead(2), lead(3)])
    assert claude.requests and all(not {"temperature", "top_p", "top_k"} & set(r) for r in claude.requests)
    assert {r.status for r in rows(ledger)} == {"ok"}  # nothing was turned away


def test_a_refusal_is_not_retried_the_offline_path_writes_the_step_and_the_ledger_keeps_it(claude, ledger):
    claude.refuse_text, claude.refuse_steps = "lead7@acme.example", {"extract"}
    out = claude_pipeline(claude, ledger=ledger).draft(lead(7))
    assert len(claude.calls_for("extract")) == 1  # declined once: not sent back as a validation error
    assert out.analysis["engines"]["extract"] == "offline"
    assert out.analysis["engines"]["classify"] == "claude classify/v1"  # the other steps stayed on Claude
    assert out.analysis["engines"]["draft"] == "claude draft/v3"
    assert (
        "Claude declined to extract this lead's details (safety refusal); the offline path wrote it."
        in out.review_flags
    )
    extract = [(r.engine, r.status, r.error) for r in rows(ledger) if r.step == "extract"]
    assert extract == [("claude", "refused", "safety refusal; general_harms"), ("offline", "ok", None)]
    other = claude_pipeline(claude, ledger=ledger).draft(lead(8))  # another lead is answered as usual
    assert other.analysis["engines"]["extract"] == "claude extract/v1"


def test_a_refusal_in_a_batch_is_final_too(claude, ledger):
    claude.refuse_text, claude.refuse_steps = "lead2@acme.example", {"draft"}
    outs = claude_pipeline(claude, ledger=ledger).draft_batch([lead(1), lead(2)])
    assert not [r for r in claude.requests if "batch" not in r]  # no call-by-call retry of the refusal
    assert outs[0].analysis["engines"]["draft"] == "claude draft/v3 batch"
    assert outs[1].analysis["engines"]["draft"] == "offline"
    assert "Claude declined to draft the email to this lead (safety refusal); the offline path wrote it." in (
        outs[1].review_flags
    )
    assert [
        (r.engine, r.status) for r in rows(ledger) if r.step == "draft" and r.run_id == outs[1].run_id
    ] == [
        ("claude", "refused"),
        ("offline", "ok"),
    ]


def test_the_card_says_claude_declined_and_the_offline_path_wrote_it(
    settings, clock, slack, mailbox, claude, tmp_path
):
    from tests.handlers.flow import seed_and_scan
    from tests.handlers.test_ai_cards import card_texts, start_on_claude

    claude.refuse_text, claude.refuse_steps = "@", {"draft"}  # every lead's draft step is declined
    h = start_on_claude(settings, clock, slack, mailbox, claude, tmp_path)
    try:
        seed_and_scan(h)
        cards = card_texts(slack)
        line = "Claude declined to draft the email to this lead (safety refusal); the offline path wrote it."
        assert cards and all(line in c for c in cards)
        with h.deps.db.session() as s:
            refused = s.scalars(select(AiOutput).where(AiOutput.status == "refused")).all()
            assert refused and {r.step for r in refused} == {"draft"}
    finally:
        h.stop()


def test_classify_extract_and_score_run_at_the_same_time(claude, ledger):
    claude.delay = 1.0  # a model that takes a second a call
    claude_pipeline(claude, ledger=ledger).draft(lead())
    [classify], [extract], [score] = (claude.timings_for(s) for s in NARROW)
    narrow = [classify, extract, score]
    # all three requests were open at one moment: the latest start came before the earliest end
    assert max(t.started for t in narrow) < min(t.ended for t in narrow)
    [summarize] = claude.timings_for("summarize")
    [draft] = claude.timings_for("draft")
    assert summarize.started >= max(t.ended for t in narrow)  # summarize reads what the three found
    assert draft.started >= summarize.ended
    summarize_turn = claude.calls_for("summarize")[0]["messages"][0]["content"]
    assert all(f'"{s}"' in summarize_turn for s in NARROW)  # the three answers reach the later steps
    assert all("<earlier_steps>" not in claude.calls_for(s)[0]["messages"][0]["content"] for s in NARROW)
    assert [r.step for r in rows(ledger)] == ["classify", "extract", "score", "summarize", "draft"]


def test_the_steps_records_are_written_on_the_leads_own_thread(claude, tmp_path):
    class WritesOnOneThread(Ledger):
        """The real ledger, noting which thread writes each record."""

        writers: list[tuple[str, str]]

        def record_many(self, records: list[StepRecord]) -> None:
            self.writers += [(r.step, threading.current_thread().name) for r in records]
            super().record_many(records)

    base = ledger_at(tmp_path / "threads.db")
    ledger = WritesOnOneThread(base.db, base.clock, base.config, "America/New_York")
    ledger.writers = []
    claude.answers["score"] = {"fit": {"score": 140}, "intent": {}, "urgency": {}}  # invalid twice: offline
    claude.delay = 0.2
    out = claude_pipeline(claude, ledger=ledger).draft(lead())
    assert out.analysis["engines"]["score"] == "offline"
    assert {name for _, name in ledger.writers} == {threading.current_thread().name}
    assert [s for s, _ in ledger.writers].count("score") == 3  # two invalid answers and the offline one
    assert len(claude.timings) == 6


def test_calls_in_flight_together_cannot_spend_past_the_cap(claude, tmp_path):
    config = Drafting(daily_spend_cap_usd=0.05)
    ledger = ledger_at(tmp_path / "cap.db", config)
    pipeline = claude_pipeline(claude, config=config, ledger=ledger)
    claude.delay = 0.1
    threads = [threading.Thread(target=pipeline.draft, args=(lead(n),)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert claude.requests
    assert 0 < ledger.spent_today() <= 0.05
    with ledger.db.session() as s:
        assert s.scalar(select(AiOutput.id).where(AiOutput.engine == "offline").limit(1))  # the cap bit


def test_concurrency_bounds_the_calls_in_flight_however_they_are_spread(claude):
    claude.delay = 0.2
    pipeline = claude_pipeline(claude, config=Drafting(concurrency=2))
    threads = [threading.Thread(target=pipeline.draft, args=(lead(n),)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(claude.requests) == 15 and claude.max_in_flight == 2
