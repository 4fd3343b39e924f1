"""Prometheus metrics (`GET /metrics` on PORT, in HTTP and Socket Mode; `METRICS_PORT` for a process with no
port of its own: `followup work`, or the separate worker process).

Counters and histograms count what this process did since it started (Prometheus sums the replicas): triggers
fired, cards posted, actions by kind, sends by result, work failures, AI latency, tokens and cost, HTTP
request latency. The work queue's depth and the age of its oldest due item are read from the database at
each scrape, so they are the same whichever replica is asked."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from bot.models import WorkItem

if TYPE_CHECKING:
    from bot.drafting.ledger import StepRecord
    from bot.services.deps import Deps

TRIGGERS = Counter("followup_triggers", "Follow-ups created by a trigger (or a new lead)", ["rule"])
CARDS = Counter("followup_cards_posted", "Cards posted to Slack", ["kind"])
ACTIONS = Counter("followup_actions", "State changes of follow-ups, by action", ["action"])
SENDS = Counter("followup_sends", "Emails handed to the mail path, by result", ["result"])
FAILURES = Counter("followup_work_failures", "Failed work item attempts", ["kind", "final"])
AI_LATENCY = Histogram(
    "followup_ai_latency_seconds",
    "Model call latency by pipeline step",
    ["step"],
    buckets=(0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120),
)
AI_TOKENS = Counter("followup_ai_tokens", "Model tokens", ["kind"])
AI_COST = Counter("followup_ai_cost_usd", "Model spend in US dollars")
REQUESTS = Histogram(
    "followup_http_request_seconds",
    "HTTP request latency (to the answer, which for Slack is the ack)",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

SOCKET_CONNECTED = Gauge("followup_slack_socket_connected", "1 while the Socket Mode connection is up")
SOCKET_RECONNECTS = Counter(
    "followup_slack_socket_disconnects", "Socket Mode disconnects, by Slack's reason (or closed)", ["reason"]
)

SEND_RESULTS = {"delivered": "sent", "delivery_failed": "failed", "delivery_unknown": "unknown"}


class WorkQueue(Collector):
    """The queue as the database holds it: items waiting by kind, and the age of the oldest one due."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def collect(self) -> Iterator[Metric]:
        now = self.deps.clock.now()
        depth = GaugeMetricFamily("followup_work_queue_depth", "Work items waiting, by kind", labels=["kind"])
        age = GaugeMetricFamily(
            "followup_work_queue_oldest_age_seconds",
            "Age of the oldest due work item, by kind",
            labels=["kind"],
        )
        with self.deps.db.session() as s:
            rows = s.execute(
                select(WorkItem.kind, WorkItem.state, func.count(), func.min(WorkItem.due_at))
                .where(WorkItem.state.in_(["queued", "claimed"]))
                .group_by(WorkItem.kind, WorkItem.state)
            ).all()
        waiting: dict[str, int] = {}
        oldest: dict[str, datetime] = {}
        for kind, _state, count, due in rows:
            waiting[kind] = waiting.get(kind, 0) + int(count)
            if due is not None and due <= now:
                oldest[kind] = min(oldest.get(kind, due), due)
        for kind in sorted(waiting):
            depth.add_metric([kind], waiting[kind])
            age.add_metric([kind], (now - oldest[kind]).total_seconds() if kind in oldest else 0.0)
        yield depth
        yield age


class _Process(Collector):
    """This process's counters and histograms (the default registry), inside a registry of the runtime's."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def registry(deps: Deps) -> CollectorRegistry:
    """What one runtime exposes: the process's metrics and its database's work queue."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(_Process())
    reg.register(WorkQueue(deps))
    return reg


def exposition(reg: CollectorRegistry) -> bytes:
    return generate_latest(reg)


def model_calls(records: Iterable[StepRecord]) -> None:
    """The model's calls as the ledger records them (the offline path's steps are not model calls)."""
    for rec in records:
        if rec.engine != "claude":
            continue
        if not rec.batch:  # a batch's latency is the batch's, not a call's
            AI_LATENCY.labels(rec.step).observe(rec.latency_ms / 1000)
        for kind, count in (
            ("input", rec.usage.input_tokens),
            ("output", rec.usage.output_tokens),
            ("cache_read", rec.usage.cache_read_tokens),
            ("cache_write", rec.usage.cache_write_tokens),
        ):
            if count:
                AI_TOKENS.labels(kind).inc(count)
        if rec.cost_usd:
            AI_COST.inc(rec.cost_usd)


def transitioned(action: str) -> None:
    ACTIONS.labels(action).inc()
    if action in SEND_RESULTS:
        SENDS.labels(SEND_RESULTS[action]).inc()
