"""The record of every AI step: written as each call returns, read for the daily spend cap and for reports."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot import telemetry
from bot.config import Drafting, ModelPrice
from bot.db import Database
from bot.errors import FollowupError
from bot.models import AiOutput
from bot.ports import Clock


class OverSpendCap(FollowupError):
    """Today's model spend reached the cap: no new model calls until tomorrow (the offline path drafts)."""


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @classmethod
    def of(cls, usage: Any) -> Usage:
        """From the API's `usage` object; absent cache fields count as zero."""
        return cls(
            input_tokens=getattr(usage, "input_tokens", 0) or 0,
            output_tokens=getattr(usage, "output_tokens", 0) or 0,
            cache_read_tokens=getattr(usage, "cache_read_input_tokens", 0) or 0,
            cache_write_tokens=getattr(usage, "cache_creation_input_tokens", 0) or 0,
        )


def worst_case(price: ModelPrice | None, prompt_chars: int, max_tokens: int, *, batch: bool = False) -> float:
    """The most a call can cost: every input token uncached (about four characters a token, rounded up
    generously) and every output token used."""
    if price is None:
        return 0.0
    dollars = (prompt_chars / 3 * price.input * 1.25 + max_tokens * price.output) / 1_000_000
    return dollars * (0.5 if batch else 1.0)


def cost(price: ModelPrice | None, usage: Usage, *, batch: bool = False) -> float:
    """US dollars for one call. Unknown model: priced at zero, and the ledger still has the tokens."""
    if price is None:
        return 0.0
    dollars = (
        usage.input_tokens * price.input
        + usage.cache_write_tokens * price.input * 1.25
        + usage.cache_read_tokens * price.input * 0.1
        + usage.output_tokens * price.output
    ) / 1_000_000
    return round(dollars * (0.5 if batch else 1.0), 6)


@dataclass
class StepRecord:
    run_id: str
    step: str
    engine: str
    status: str
    prompt_name: str | None = None
    prompt_version: int | None = None
    prompt_sha: str | None = None
    model: str | None = None
    arm: str | None = None
    batch: bool = False
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    latency_ms: int = 0
    error: str | None = None
    output: dict[str, Any] | None = None


class Ledger:
    def __init__(self, db: Database, clock: Clock, config: Drafting, timezone: str) -> None:
        self.db = db
        self.clock = clock
        self.config = config
        self.tz = ZoneInfo(timezone)
        self._lock = threading.Lock()
        self._in_flight = 0.0  # dollars reserved by calls still running in this process
        self._unwritten = 0.0  # dollars of answered calls whose records wait in a Pending to be written

    def record(self, rec: StepRecord) -> None:
        self.record_many([rec])

    def record_many(self, records: list[StepRecord]) -> None:
        """In one transaction: a scan writes a lead's offline steps together, not one commit a step."""
        if not records:
            return
        telemetry.model_calls(records)
        with self.db.session() as s:
            s.add_all(
                AiOutput(
                    run_id=rec.run_id,
                    step=rec.step,
                    engine=rec.engine,
                    status=rec.status,
                    prompt_name=rec.prompt_name,
                    prompt_version=rec.prompt_version,
                    prompt_sha=rec.prompt_sha,
                    model=rec.model,
                    arm=rec.arm,
                    batch=rec.batch,
                    input_tokens=rec.usage.input_tokens,
                    output_tokens=rec.usage.output_tokens,
                    cache_read_tokens=rec.usage.cache_read_tokens,
                    cache_write_tokens=rec.usage.cache_write_tokens,
                    cost_usd=rec.cost_usd,
                    latency_ms=rec.latency_ms,
                    error=rec.error,
                    output=rec.output,
                    created_at=self.clock.now(),
                )
                for rec in records
            )

    def pending(self) -> Pending:
        """A buffer for records made on worker threads, written later by the thread that owns the run."""
        return Pending(self)

    def spent_today(self) -> float:
        local = self.clock.now().astimezone(self.tz)
        start = datetime.combine(local.date(), time(0), tzinfo=self.tz)
        with self.db.session() as s:
            total = s.scalar(
                select(func.coalesce(func.sum(AiOutput.cost_usd), 0.0)).where(AiOutput.created_at >= start)
            )
        return float(total or 0.0)

    def check_cap(self) -> None:
        """Raise when today's spend has reached the cap."""
        with self.reserve(0.0):
            pass

    @contextmanager
    def reserve(self, estimate: float) -> Iterator[None]:
        """Hold `estimate` dollars of today's budget for one call while it is in flight, so calls running at
        the same time cannot together spend past the cap: spent + in flight + this call must fit."""
        cap = self.config.daily_spend_cap_usd
        with self._lock:
            spent = self.spent_today()
            spent += self._unwritten
            if spent >= cap or spent + self._in_flight + estimate > cap:
                raise OverSpendCap(f"today's AI spend cap (${cap:.2f}) is reached (${spent:.2f} spent)")
            self._in_flight += estimate
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= estimate


class Pending:
    """Step records made on worker threads (the model calls of steps that run at the same time), kept until
    the run's own thread writes them in one transaction: database sessions stay on that thread. What they
    cost counts against today's cap from the moment they are added, so the wait to be written cannot let
    other calls spend past it."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.records: list[StepRecord] = []

    def add(self, rec: StepRecord) -> None:
        with self.ledger._lock:
            self.records.append(rec)
            self.ledger._unwritten += rec.cost_usd

    def write(self, order: Callable[[StepRecord], int] | None = None) -> None:
        """Write what was added, in one transaction on the calling thread (sorted by `order`, stable, so
        one step's records keep the order they were made in)."""
        with self.ledger._lock:
            records, self.records = self.records, []
        held = sum(r.cost_usd for r in records)
        try:
            self.ledger.record_many(sorted(records, key=order) if order else records)
        finally:
            with self.ledger._lock:  # released once written (and counted by spent_today), or lost
                self.ledger._unwritten -= held
