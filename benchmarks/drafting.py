"""Drafting wall time for about 100 leads with a model that answers in 1 s (run by benchmarks/run.py)."""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime

NOW = datetime(2026, 11, 18, 20, 0, tzinfo=UTC)
ANSWER = {
    "summary": "A lead.",
    "classification": "sales opportunity",
    "urgency": "medium",
    "subject": "Following up",
    "body": "Hi,\n\nThanks for the call. Would Friday work for 20 minutes?\n\nDana",
}


def bench_drafting(contacts: int = 140, latency_s: float = 1.0) -> dict:
    """A scan with Claude as the drafter, against a local fake of the Messages API answering after 1 s."""
    from pydantic import SecretStr
    from pytest_httpserver import HTTPServer

    from app import build_deps
    from bot import sample_data
    from bot.clock import FixedClock
    from bot.services import scan
    from bot.settings import Settings
    from tests.fakes.anthropic_api import FakeClaude

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    fake = FakeClaude(server, delay=latency_s, tool_input=ANSWER)
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
            deps.db.engine.dispose()
    finally:
        server.stop()
    drafted = len(fake.requests)
    return {
        "leads": drafted,
        "latency_s": latency_s,
        "concurrency": concurrency,
        "wall_s": wall,
        "sequential_s": drafted * latency_s,
        "max_in_flight": fake.max_in_flight,
        "failures": len(result.draft_failures),
    }
