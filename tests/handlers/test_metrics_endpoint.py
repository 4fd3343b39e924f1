"""`GET /metrics` on the running app, read back with Prometheus's own text parser: what a scan, a click,
a send and the model did is counted, the work queue is read from the database, and a token keeps it
private when one is set."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from blocks.ids import ActionId
from bot.models import WorkItem
from bot.work.queue import Kind
from tests.builders import SARAH
from tests.conftest import DANA, SIGNING_SECRET
from tests.handlers.flow import seed_and_scan, settle
from tests.handlers.test_ai_cards import start_on_claude
from tests.harness import AppHarness

MINUTE = timedelta(minutes=1)


def scrape(h, **headers: str) -> dict[tuple[str, tuple], float]:  # type: ignore[no-untyped-def]
    reply = h.request("GET", "/metrics", headers=headers)
    assert reply.status == 200, reply.body
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(reply.body)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_what_the_app_did_and_read_the_queue_from_the_database(harness):
    before = scrape(harness)
    cards = seed_and_scan(harness)
    fid, card = cards[SARAH]
    assert harness.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid)).status == 200
    harness.mailbox.wait_for(1)
    settle(harness)
    now = harness.clock.now()
    with harness.deps.db.session() as s:  # waiting: two sequence marks due now, a DM due ten minutes ago
        for kind, due in (
            (Kind.CRM_SEQUENCE, now),
            (Kind.CRM_SEQUENCE, now),
            (Kind.NOTIFY, now - 10 * MINUTE),
        ):
            item = WorkItem(kind=kind.value, payload={}, state="queued", attempts=0, due_at=due)
            s.add(item)
            item.created_at = item.updated_at = now
    after = scrape(harness)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("followup_triggers_total", rule="inbound_no_response") == 1
    assert grew("followup_triggers_total", rule="stale_deal") == 1
    assert grew("followup_cards_posted_total", kind="card") >= 2
    assert grew("followup_actions_total", action="approve") == 1
    assert grew("followup_sends_total", result="sent") == 1
    assert grew("followup_http_request_seconds_count", route="slack") >= 1
    assert grew("followup_http_request_seconds_count", route="metrics") >= 1
    assert value(after, "followup_work_queue_depth", kind="crm_sequence") == 2
    assert value(after, "followup_work_queue_depth", kind="notify") == 1
    assert value(after, "followup_work_queue_oldest_age_seconds", kind="notify") >= 600


def test_model_calls_are_timed_and_their_tokens_and_cost_counted(
    settings, clock, slack, mailbox, claude, tmp_path
):
    h = start_on_claude(settings, clock, slack, mailbox, claude, tmp_path)
    try:
        before = scrape(h)
        seed_and_scan(h)
        after = scrape(h)
    finally:
        h.stop()
    calls = value(after, "followup_ai_latency_seconds_count", step="draft") - value(
        before, "followup_ai_latency_seconds_count", step="draft"
    )
    assert calls == 2  # one draft step per lead
    assert value(after, "followup_ai_tokens_total", kind="input") > value(
        before, "followup_ai_tokens_total", kind="input"
    )
    assert value(after, "followup_ai_cost_usd_total") > value(before, "followup_ai_cost_usd_total")


def test_with_a_token_a_scrape_must_bring_it(settings, clock, slack, mailbox):
    private = settings.model_copy(update={"metrics_token": SecretStr("s3cret-scrape")})
    h = AppHarness.start(private, clock=clock, slack=slack, mailbox=mailbox[1], signing_secret=SIGNING_SECRET)
    try:
        assert h.request("GET", "/metrics").status == 401
        assert h.request("GET", "/metrics", headers={"Authorization": "Bearer nope"}).status == 401
        assert h.request("GET", "/metrics", headers={"Authorization": "Bearer \u00e9"}).status == 401
        assert (
            "followup_work_queue_depth"
            in h.request("GET", "/metrics", headers={"Authorization": "Bearer s3cret-scrape"}).body
        )
        assert h.request("POST", "/metrics").status == 405
    finally:
        h.stop()
