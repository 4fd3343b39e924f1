"""HubSpot at portal scale, against a fake that enforces HubSpot's limits: a first scan of 2,000 contacts and
1,000 deals with 200 leads in at most 150 calls, a rescan in at most 40, no 429 under a 100-per-10-s
budget, every trigger found past the 10,000-result search cap, and the transport's retries."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from bot.services import scan
from crm.hubspot import HubSpotCRM
from crm.hubspot_http import HubSpotHTTP, HubSpotScopeError, HubSpotUnavailable, RateBudget
from tests.builders import hubspot_portal
from tests.conftest import NOW


@pytest.fixture
def portal_deps(settings, hubspot):
    """The app's services with HubSpot as the CRM (no Slack: the cards stay queued)."""
    from app import build_deps

    hs_settings = settings.model_copy(
        update={"hubspot_access_token": hubspot.token, "hubspot_api_url": hubspot.base_url}
    )
    from pydantic import SecretStr

    hs_settings = settings.model_copy(
        update={"hubspot_access_token": SecretStr(hubspot.token), "hubspot_api_url": hubspot.base_url}
    )
    from bot.clock import FixedClock

    deps = build_deps(hs_settings, clock=FixedClock(NOW))
    yield deps
    deps.db.engine.dispose()


def test_a_first_scan_of_a_mid_size_portal_fits_the_call_budget_and_the_rate_limit(portal_deps, hubspot):
    expected = hubspot_portal(hubspot, NOW)
    hubspot.per_10s, hubspot.search_per_s = 100, 5  # the portal's limits, enforced with 429s
    first = scan.scan(portal_deps)
    calls = len(hubspot.requests)
    assert first.rule_failures == {} and first.draft_failures == []
    from bot.models import FollowUp

    with portal_deps.db.session() as s:
        found = {fu.contact_id for fu in s.query(FollowUp)}
    assert found == expected and len(expected) == 200  # the renewals pipeline's closed deals are not "stale"
    assert calls <= 150, _by_endpoint(hubspot)
    assert hubspot.rate_limited == 0  # the client's own budget kept it under the portal's limit

    before = len(hubspot.requests)
    second = scan.scan(portal_deps)
    assert second.created == [] and second.already_known == 200
    assert len(hubspot.requests) - before <= 40, _by_endpoint(hubspot, since=before)
    assert hubspot.rate_limited == 0


def _by_endpoint(hubspot, since: int = 0) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in hubspot.requests[since:]:
        key = " ".join(p if not p.isdigit() else "{id}" for p in r.split("/"))
        counts[key] = counts.get(key, 0) + 1
    return counts


def test_a_search_past_ten_thousand_results_finds_them_all(hubspot):
    for n in range(10_450):
        hubspot.add(
            "contacts",
            str(100000 + n),
            email=f"c{n}@x.example",
            recent_conversion_date=(NOW - timedelta(days=1)).isoformat(),
        )
    crm = HubSpotCRM(hubspot.token, base_url=hubspot.base_url, requests_per_10s=1000, searches_per_second=100)
    forms = [e for e in crm.engagements_since(NOW - timedelta(days=2))]
    assert len({e.contact_id for e in forms}) == 10_450
    searches = [r for r in hubspot.requests if r.endswith("/contacts/search")]
    assert len(searches) == 53  # 200 a page: 50 pages to the cap, then a new window for the rest


def test_the_rate_budget_spaces_calls_without_a_429():
    now = [0.0]
    budget = RateBudget(
        per_10s=3, search_per_s=1, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s)
    )
    stamps = []
    for _ in range(7):
        budget.take()
        stamps.append(now[0])
    assert stamps[:3] == [0.0, 0.0, 0.0] and 10.0 <= stamps[3] < 10.1 and 20.0 <= stamps[6] < 20.1
    budget.take(search=True)
    t = now[0]
    budget.take(search=True)
    assert now[0] - t >= 1.0


def test_429_waits_for_retry_after_and_reads_retry_server_errors(hubspot):
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    http = HubSpotHTTP(hubspot.token, base_url=hubspot.base_url, sleep=sleep)
    hubspot.search_per_s = 1  # a portal allowing one search a second; the client's own budget allows more
    for _ in range(2):  # the second is answered 429 with Retry-After; the client waits, then succeeds
        http.read("/crm/objects/2026-03/contacts/search", {"limit": 1}, search=True)
    assert slept and slept[0] >= 1 and hubspot.rate_limited == 1
    hubspot.search_per_s = None
    hubspot.fail_next = {"/crm/objects/2026-03/contacts/batch/read": 502}  # a POST that only reads
    http.read("/crm/objects/2026-03/contacts/batch/read", {"inputs": []})
    assert hubspot.fail_next == {}
    hubspot.scopes.discard("crm.objects.deals.read")
    with pytest.raises(HubSpotScopeError) as refused:
        http.read("/crm/objects/2026-03/deals/search", {"limit": 1}, search=True)
    assert refused.value.scopes == ["crm.objects.deals.read"] and "crm.objects.deals.read" in str(
        refused.value
    )


def test_every_call_has_a_timeout_and_a_write_is_not_retried_blindly(hubspot):
    hold = threading.Event()
    hubspot.hold_creates = hold
    http = HubSpotHTTP(hubspot.token, base_url=hubspot.base_url, timeout=0.5, sleep=lambda s: None)
    started = time.monotonic()
    try:
        with pytest.raises(HubSpotUnavailable):
            http.write(
                "POST",
                "/crm/objects/2026-03/notes",
                {"properties": {"hs_note_body": "x"}, "associations": []},
            )
    finally:
        hold.set()
    assert time.monotonic() - started < 5
    assert len([c for c in hubspot.created if c["kind"] == "notes"]) == 1  # written once, not retried


def test_a_missing_scope_fails_only_the_rules_that_need_it_and_names_it(portal_deps, hubspot):
    expected = hubspot_portal(hubspot, NOW, contacts=300, deals=200)
    hubspot.scopes.discard("sales-email-read")  # emails can't be read: the engagement-reading rules can't run
    result = scan.scan(portal_deps)
    assert "sales-email-read" in " ".join(result.rule_failures.values())
    assert "stale_deal" not in result.rule_failures  # deals are readable: that rule still ran
    from bot.models import FollowUp

    with portal_deps.db.session() as s:
        stale = {fu.contact_id for fu in s.query(FollowUp).filter_by(rule="stale_deal")}
    assert stale and stale <= expected
