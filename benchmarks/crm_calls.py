"""HubSpot calls per scan, against the fake HubSpot enforcing HubSpot's limits (run by benchmarks/run.py)."""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime

NOW = datetime(2026, 11, 18, 20, 0, tzinfo=UTC)


def _endpoints(requests: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in requests:
        key = "/".join("{id}" if p.isdigit() else p for p in r.split("/"))
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def bench_hubspot_calls(contacts: int = 2000, deals: int = 1000) -> dict:
    """A first scan and a rescan of a 2,000-contact / 1,000-deal portal with 200 triggered leads, under a
    fake that answers 429 past 100 requests a 10 s and 5 searches a second."""
    from pydantic import SecretStr
    from pytest_httpserver import HTTPServer

    from app import build_deps
    from bot.clock import FixedClock
    from bot.services import scan
    from bot.settings import Settings
    from tests.builders import hubspot_portal
    from tests.fakes.hubspot_api import FakeHubSpot

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    fake = FakeHubSpot(server)
    fake.install()
    try:
        expected = hubspot_portal(fake, NOW, contacts=contacts, deals=deals)
        fake.per_10s, fake.search_per_s = 100, 5
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(  # type: ignore[call-arg]
                _env_file=None,
                database_url=f"sqlite:///{tmp}/bench.db",
                hubspot_access_token=SecretStr(fake.token),
                hubspot_api_url=fake.base_url,
            )
            deps = build_deps(settings, clock=FixedClock(NOW))
            start = time.perf_counter()
            first = scan.scan(deps)
            first_s = time.perf_counter() - start
            first_calls = list(fake.requests)
            start = time.perf_counter()
            second = scan.scan(deps)
            rescan_s = time.perf_counter() - start
            rescan_calls = fake.requests[len(first_calls) :]
            deps.db.engine.dispose()
    finally:
        server.stop()
    return {
        "contacts": contacts,
        "deals": deals,
        "leads": len(first.created) + len(first.queued),  # shown now, or held by the daily budget
        "expected_leads": len(expected),
        "first_calls": len(first_calls),
        "first_s": first_s,
        "first_by_endpoint": _endpoints(first_calls),
        "rescan_calls": len(rescan_calls),
        "rescan_s": rescan_s,
        "rescan_new": len(second.created) + len(second.queued),
        "rescan_by_endpoint": _endpoints(rescan_calls),
        "rate_limited": fake.rate_limited,
    }
