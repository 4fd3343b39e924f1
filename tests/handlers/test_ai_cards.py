"""What the AI pipeline puts on the card a rep sees in Slack, with the app running on Claude (a local fake of
the Messages API): the class and how sure, what the draft rests on, and when the offline path stood in."""

from __future__ import annotations

import json

from pydantic import SecretStr
from sqlalchemy import func, select

from bot import jobs
from bot.models import AiOutput, Draft, FollowUp
from tests.blockkit import assert_valid_blocks, texts
from tests.conftest import SIGNING_SECRET
from tests.handlers.flow import seed_and_scan, settle
from tests.harness import AppHarness


def start_on_claude(settings, clock, slack, mailbox, claude, tmp_path, drafting: str = ""):  # type: ignore[no-untyped-def]
    config = tmp_path / "claude.toml"
    config.write_text(settings.followup_config.read_text() + "\n[drafting]\n" + drafting, encoding="utf-8")
    on_claude = settings.model_copy(
        update={
            "anthropic_api_key": SecretStr(claude.api_key),
            "anthropic_base_url": claude.base_url,
            "followup_config": config,
        }
    )
    return AppHarness.start(
        on_claude, clock=clock, slack=slack, mailbox=mailbox[1], signing_secret=SIGNING_SECRET
    )


def card_texts(slack) -> list[str]:  # type: ignore[no-untyped-def]
    out = []
    for call in slack.of("chat.postMessage"):
        blocks = call.args.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if blocks:
            assert_valid_blocks(blocks)
            out.append(texts(blocks))
    return out


def test_the_card_shows_the_class_its_confidence_and_what_the_draft_rests_on(
    settings, clock, slack, mailbox, claude, tmp_path
):
    h = start_on_claude(settings, clock, slack, mailbox, claude, tmp_path)
    try:
        seed_and_scan(h)
        cards = card_texts(slack)
        assert cards and all("sales opportunity (88% sure)" in c for c in cards)
        assert all("Based on:" in c for c in cards)
        with h.deps.db.session() as s:
            drafts = s.scalars(select(Draft).where(Draft.origin == "ai")).all()
            assert drafts and all(
                d.run_id and d.analysis["engines"]["draft"] == "claude draft/v3" for d in drafts
            )
            assert {(d.prompt_version, d.model) for d in drafts} == {("draft/v3", "claude-sonnet-5-5")}
            for d in drafts:  # each draft's five steps are in the ledger under its run
                steps = s.scalars(select(AiOutput.step).where(AiOutput.run_id == d.run_id)).all()
                assert sorted(steps) == sorted(["classify", "extract", "score", "summarize", "draft"])
    finally:
        h.stop()


def test_past_the_daily_spend_cap_the_card_says_the_offline_path_drafted_it(
    settings, clock, slack, mailbox, claude, tmp_path
):
    h = start_on_claude(settings, clock, slack, mailbox, claude, tmp_path, "daily_spend_cap_usd = 0.5\n")
    try:
        with h.deps.db.session() as s:  # earlier today's calls have used the budget up
            s.add(AiOutput(run_id="earlier", step="draft", engine="claude", status="ok", cost_usd=0.5,
                           created_at=clock.now()))  # fmt: skip
        seed_and_scan(h)
        cards = card_texts(slack)
        assert cards and all(
            "Drafted offline: today's AI spend cap ($0.50) is reached ($0.50 spent)" in c for c in cards
        )
        assert claude.requests == []  # not one model call past the cap
    finally:
        h.stop()


def test_calls_in_flight_together_never_spend_past_the_cap(claude, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from bot.config import Drafting
    from tests.bot.pipelines import claude_pipeline, ledger_at
    from tests.bot.test_pipeline import lead

    config = Drafting(daily_spend_cap_usd=0.05)
    ledger = ledger_at(tmp_path / "cap.db", config)
    pipeline = claude_pipeline(claude, config=config, ledger=ledger)
    claude.delay = 0.2  # eight leads' calls overlap
    with ThreadPoolExecutor(8) as pool:
        outs = list(pool.map(pipeline.draft, [lead(n) for n in range(8)]))
    assert ledger.spent_today() <= 0.05
    assert any(
        any(f.startswith("Drafted offline: today's AI spend cap") for f in o.review_flags) for o in outs
    )


def test_a_scheduled_scan_drafts_through_message_batches_when_configured(
    settings, clock, slack, mailbox, claude, tmp_path
):
    h = start_on_claude(
        settings, clock, slack, mailbox, claude, tmp_path, "use_batches = true\nbatch_poll_seconds = 0.01\n"
    )
    try:
        from tests.builders import small_book

        small_book(h.deps.db, clock.now())
        result = jobs.run_scan(h.deps, holder="test")
        assert result is not None and result.created
        settle(h)
        assert len(claude.batches) == 5  # one batch a step, all the new leads in each
        assert all(
            len(b["requests"]) == len(result.created) + len(result.scheduled) for b in claude.batches.values()
        )
        with h.deps.db.session() as s:
            assert (
                s.scalar(select(func.count()).where(AiOutput.batch.is_(False), AiOutput.engine == "claude"))
                == 0
            )
            assert s.scalar(select(func.count()).select_from(FollowUp)) == len(result.created) + len(
                result.scheduled
            )
        assert card_texts(slack)
    finally:
        h.stop()


def test_eval_runs_the_claude_path_when_a_key_is_set(claude, tmp_path):
    from tests.bot.test_cli import run

    data = tmp_path / "two.jsonl"
    data.write_text(
        '{"id": "a", "text": "We want a demo for 30 reps.", "label": "sales_opportunity"}\n'
        '{"id": "b", "text": "You won a prize, click here", "label": "spam"}\n',
        encoding="utf-8",
    )
    env = {"ANTHROPIC_API_KEY": claude.api_key, "ANTHROPIC_BASE_URL": claude.base_url}
    out = run("eval", "--data", str(data), "--json", cwd=tmp_path, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["engine"].startswith("claude")
    assert [i["predicted"] for i in report["items"]] == ["sales_opportunity", "sales_opportunity"]
    assert report["accuracy"] == 0.5
    assert len(claude.calls_for("classify")) >= 2
