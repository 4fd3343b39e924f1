"""Pipelines for tests: offline, or on Claude through the real SDK against the local fake."""

from __future__ import annotations

import anthropic

from bot.adapters.claude import ClaudeSteps
from bot.config import Drafting
from bot.drafting.ledger import Ledger
from bot.drafting.pipeline import Pipeline
from tests.fakes.anthropic_api import FakeClaude


def offline(config: Drafting | None = None) -> Pipeline:
    return Pipeline(None, None, config or Drafting())


def claude_pipeline(
    fake: FakeClaude, *, config: Drafting | None = None, ledger: Ledger | None = None
) -> Pipeline:
    client = anthropic.Anthropic(api_key=fake.api_key, base_url=fake.base_url, max_retries=0)
    config = config or Drafting()
    return Pipeline(ClaudeSteps(client, config, ledger, sleep=lambda s: None), ledger, config)
