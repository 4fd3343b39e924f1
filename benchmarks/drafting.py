"""Drafting wall time for about 100 leads with a model that answers in 1 s (run by benchmarks/run.py)."""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime

NOW = datetime(2026, 11, 18, 20, 0, tzinfo=UTC)


def bench_drafting(contacts: int = 140, latency_s: float = 1.0) -> dict:
    """A scan with Claude running the pipeline's five steps per lead, against a local fake of the Messages
    API answering after 1 s and reporting prompt-cache reads the way the API does."""
    from pydantic import SecretStr
    from pytest_httpserver import HTTPServer
    from sqlalchemy import select

    from app import build_deps
    from bot import sample_data
    from bot.clock import FixedClock
    from bot.models import AiOutput
    from bot.services import scan
    from bot.settings import Settings
    from tests.fakes.anthropic_api import FakeClaude

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    fake = FakeClaude(server, delay=latency_s)
    fake.install()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(  # type: ignore[call-arg]
                _env_file=None,
                database_url=f"sqlite:///{tmp}/bench.db",
                anthropic_api_key=SecretStr(fake.api_key),
                anthropic_base_url=fake.base_url,
            )
            deps = build_deps(settings, clock=FixedClock(NOW))
            book = sample_data.generate(NOW, contacts=contacts, companies=max(25, contacts // 5))
            with deps.db.session() as s:
                for group in (book.owners, book.companies, book.contacts, book.deals, book.engagements):
                    s.add_all(group)
                    s.flush()
            start = time.perf_counter()
            result = scan.scan(deps)
            wall = time.perf_counter() - start
            concurrency = deps.config.drafting.concurrency
            with deps.db.session() as s:
                rows = s.execute(
                    select(AiOutput.input_tokens, AiOutput.cache_read_tokens, AiOutput.cache_write_tokens)
                    .where(AiOutput.engine == "claude")
                    .order_by(AiOutput.id)
                ).all()
            deps.db.engine.dispose()
    finally:
        server.stop()
    leads = len(result.created) + len(result.scheduled)
    later = rows[5:]  # after the first lead's five calls have written the cache
    read = sum(r[1] for r in later)
    total = sum(r[0] + r[1] + r[2] for r in later)
    return {
        "leads": leads,
        "calls": len(fake.requests),
        "cached_share": read / total if total else 0.0,
        "latency_s": latency_s,
        "concurrency": concurrency,
        "wall_s": wall,
        "sequential_s": len(fake.requests) * latency_s,
        "max_in_flight": fake.max_in_flight,
        "failures": len(result.draft_failures),
    }


def bench_lead_latency(leads: int = 5, latency_s: float = 1.0) -> dict:
    """One lead at a time through the Claude path (the real SDK, the ledger on SQLite) against the local
    Messages API fake answering each call in 1 s: how long a lead takes, and how long its classify, extract
    and score calls take together (one after another they would take three calls' time)."""
    import statistics

    import anthropic
    from pytest_httpserver import HTTPServer

    from bot.adapters.claude import ClaudeSteps
    from bot.clock import FixedClock
    from bot.config import Drafting
    from bot.db import Database, make_engine, migrate
    from bot.drafting.ledger import Ledger
    from bot.drafting.pipeline import TOGETHER, Pipeline
    from bot.records import Company, Contact, Engagement, EngagementType, LeadContext, Owner
    from tests.fakes.anthropic_api import FakeClaude

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    fake = FakeClaude(server, delay=latency_s)
    fake.install()
    walls, spans = [], []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(make_engine(f"sqlite:///{tmp}/bench.db"))
            migrate(db.engine)
            config = Drafting()
            ledger = Ledger(db, FixedClock(NOW), config, "America/New_York")
            client = anthropic.Anthropic(api_key=fake.api_key, base_url=fake.base_url, max_retries=0)
            pipeline = Pipeline(ClaudeSteps(client, config, ledger), ledger, config)
            for n in range(leads):
                ctx = LeadContext(
                    rule="inbound_no_response",
                    reason="Inbound form unanswered for 3 business hours (limit 2)",
                    as_of=NOW,
                    contact=Contact(id=f"c{n}", email=f"lead{n}@acme.example", first_name="Ana"),
                    company=Company(id="co", name="Acme"),
                    owner=Owner(id="o1", email="sam@followup-demo.com", first_name="Sam"),
                    engagements=[
                        Engagement(
                            id=f"f{n}",
                            type=EngagementType.FORM,
                            direction="inbound",
                            occurred_at=NOW,
                            body="We are 40 reps on HubSpot and want a demo before Q1.",
                        )
                    ],
                )
                first = len(fake.timings)
                start = time.perf_counter()
                out = pipeline.draft(ctx)
                walls.append(time.perf_counter() - start)
                assert "offline" not in out.analysis["engines"].values(), out.analysis["engines"]
                narrow = [t for t in fake.timings[first:] if t.step in TOGETHER]
                spans.append(max(t.ended for t in narrow) - min(t.started for t in narrow))
            db.engine.dispose()
    finally:
        server.stop()
    return {
        "leads": leads,
        "latency_s": latency_s,
        "calls_per_lead": len(fake.timings) / leads,
        "lead_p50_s": statistics.median(walls),
        "lead_max_s": max(walls),
        "narrow_p50_s": statistics.median(spans),
        "narrow_max_s": max(spans),
        "serial_s": len(fake.timings) / leads * latency_s,
    }
