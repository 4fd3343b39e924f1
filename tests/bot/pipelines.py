"""Pipelines for tests: offline, or on Claude through the real SDK against the local fake."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import anthropic

from bot.adapters.claude import ClaudeSteps
from bot.config import Drafting
from bot.db import Database, make_engine, migrate
from bot.drafting.ledger import Ledger
from bot.drafting.pipeline import Pipeline
from tests.fakes.anthropic_api import FakeClaude

AT = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


class FixedNow:
    def now(self) -> datetime:
        return AT


def ledger_at(path: Path, config: Drafting | None = None) -> Ledger:
    """A ledger in its own SQLite file, its clock fixed at AT (Wednesday 25 Nov, 10:00 in New York)."""
    db = Database(make_engine(f"sqlite:///{path}"))
    migrate(db.engine)
    return Ledger(db, FixedNow(), config or Drafting(), "America/New_York")


def offline(config: Drafting | None = None) -> Pipeline:
    return Pipeline(None, None, config or Drafting())


def claude_pipeline(
    fake: FakeClaude, *, config: Drafting | None = None, ledger: Ledger | None = None
) -> Pipeline:
    client = anthropic.Anthropic(api_key=fake.api_key, base_url=fake.base_url, max_retries=0)
    config = config or Drafting()
    return Pipeline(ClaudeSteps(client, config, ledger, sleep=lambda s: None), ledger, config)
