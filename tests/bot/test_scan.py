"""The scan as a whole: stored once, routed to the right place, never lost when Slack fails."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.models import AuditEvent, CardMessage, Draft, FollowUp
from bot.services import scan
from tests.builders import small_book
from tests.conftest import DANA, REVIEW_CHANNEL
from tests.handlers.flow import settle


def _count(h, model) -> int:
    with h.deps.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_rescanning_does_not_duplicate(harness):
    small_book(harness.deps.db, harness.clock.now())
    first = scan.scan(harness.deps)
    second = scan.scan(harness.deps)
    assert len(first.created) == 2 and second.created == [] and second.already_known == 2
    settle(harness)
    assert len(harness.slack.of("users.lookupByEmail")) == 1  # both leads are Dana's: one lookup
    assert _count(harness, FollowUp) == 2 and len(harness.slack.of("chat.postMessage")) == 2


def test_every_ai_output_and_decision_is_kept(harness):
    small_book(harness.deps.db, harness.clock.now())
    scan.scan(harness.deps)
    with harness.deps.db.session() as s:
        drafts = s.scalars(select(Draft)).all()
        assert {d.origin for d in drafts} == {"ai"}
        for d in drafts:
            assert d.author == "offline" and d.prompt_version == "offline/2"
            assert d.summary and d.classification and d.sources
        events = s.scalars(select(AuditEvent)).all()
        assert {(e.action, e.from_state, e.to_state, e.actor) for e in events} == {
            ("create", None, "pending", "drafter:offline")
        }


def test_owner_without_slack_account_goes_to_the_review_channel(harness):
    harness.slack.users.pop(DANA)  # Dana's CRM email matches nobody in Slack
    small_book(harness.deps.db, harness.clock.now())
    result = scan.scan(harness.deps)
    assert result.post_failures == []
    settle(harness)
    assert [p.args["channel"] for p in harness.slack.of("chat.postMessage")] == [REVIEW_CHANNEL] * 2
    with harness.deps.db.session() as s:
        assert {fu.owner_slack_id for fu in s.scalars(select(FollowUp))} == {None}


def test_email_map_in_config_wins_over_lookup(harness):
    harness.deps.config.slack.users = {"dana.whitfield@followup-demo.com": "UMAPPED"}
    small_book(harness.deps.db, harness.clock.now())
    scan.scan(harness.deps)
    settle(harness)
    assert {p.args["channel"] for p in harness.slack.of("chat.postMessage")} == {"UMAPPED"}
    assert harness.slack.of("users.lookupByEmail") == []


def test_cards_not_posted_during_a_slack_outage_are_posted_once_it_recovers(harness):
    small_book(harness.deps.db, harness.clock.now())
    harness.slack.down = True
    first = scan.scan(harness.deps)
    assert len(first.created) == 2
    settle(harness)
    assert _count(harness, FollowUp) == 2  # stored, not lost
    assert _cards(harness) == 0

    harness.slack.down = False
    harness.clock.advance(timedelta(seconds=6))  # past the first backoff
    settle(harness)
    assert _cards(harness) == 2
    assert scan.scan(harness.deps).created == []
    harness.clock.advance(timedelta(hours=1))
    settle(harness)
    posted = [p for p in harness.slack.of("chat.postMessage") if p.args.get("blocks")]
    assert len({p.args["text"] for p in posted}) == 2  # one card per follow-up that got through


def _cards(h) -> int:
    with h.deps.db.session() as s:
        return s.scalar(select(func.count()).select_from(CardMessage))


def test_one_broken_record_does_not_stop_the_scan(hubspot, tmp_path, clock):
    from datetime import timedelta

    from app import build_deps
    from bot.settings import Settings
    from tests.builders import small_book_in_hubspot

    small_book_in_hubspot(hubspot, clock.now())
    hubspot.add(
        "deals",
        "302",
        dealname="Ghost — Renewal",
        dealstage="qualifiedtobuy",
        hs_v2_date_entered_current_stage=(clock.now() - timedelta(days=40)).isoformat(),
    )
    hubspot.link("deals", "302", "contacts", "999")  # the contact was deleted in HubSpot
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'f.db'}",  # type: ignore[call-arg]
        hubspot_access_token=hubspot.token,
        hubspot_api_url=hubspot.base_url,
    )
    deps = build_deps(settings, clock=clock)
    result = scan.scan(deps)
    assert len(result.created) == 2
    [failure] = result.draft_failures
    assert failure.startswith("stale_deal:302:") and "CRM contact 999 was not found" in failure
    deps.db.engine.dispose()


def test_a_waiting_nurture_does_not_hold_back_a_new_inquiry(harness):
    from crm.tables import CrmDeal
    from tests.builders import SARAH

    now = harness.clock.now()
    small_book(harness.deps.db, now)  # Sarah's demo request from yesterday, unanswered
    with harness.deps.db.session() as s:
        # and an old deal of hers, marked lost "not right now" since (the inquiry is not about it)
        s.add(
            CrmDeal(
                id="309",
                name="Northwind — 2025 pilot",
                stage="closedlost",
                stage_changed_at=now - timedelta(minutes=5),
                close_date=now - timedelta(minutes=5),
                lost_reason="Not right now",
                contact_id=SARAH,
                owner_id="501",
            )
        )
    result = scan.scan(harness.deps)
    with harness.deps.db.session() as s:
        sarah = {fu.rule: fu.state for fu in s.scalars(select(FollowUp).where(FollowUp.contact_id == SARAH))}
    assert sarah == {"inbound_no_response": "pending", "closed_lost_nurture": "scheduled"}
    assert len(result.scheduled) == 1


def test_a_nurture_is_moot_at_detection_when_the_lead_wrote_in_after_the_loss(harness):
    """Seen for the first time after the lead got in touch again: never stored, counted as left alone."""
    from crm.tables import CrmDeal
    from tests.builders import SARAH

    now = harness.clock.now()
    small_book(harness.deps.db, now)
    with harness.deps.db.session() as s:
        s.add(
            CrmDeal(
                id="309",
                name="Northwind — 2025 pilot",
                stage="closedlost",
                stage_changed_at=now - timedelta(days=10),
                close_date=now - timedelta(days=10),
                lost_reason="Not right now",
                contact_id=SARAH,
                owner_id="501",
            )
        )
    result = scan.scan(harness.deps)
    with harness.deps.db.session() as s:
        sarah = {fu.rule: fu.state for fu in s.scalars(select(FollowUp).where(FollowUp.contact_id == SARAH))}
    assert sarah == {"inbound_no_response": "pending"}
    assert result.skipped == {"closed_lost_nurture: already moot (they got in touch)": 1}


def test_a_scan_drafts_several_leads_at_once_with_a_slow_model(settings, claude):
    """Drafting runs `[drafting] concurrency` model calls at a time, not one after another."""
    from pydantic import SecretStr

    from app import build_deps
    from bot.clock import FixedClock
    from bot.sample_data import seed
    from tests.conftest import NOW

    claude.delay = 0.2
    deps = build_deps(
        settings.model_copy(
            update={"anthropic_api_key": SecretStr(claude.api_key), "anthropic_base_url": claude.base_url}
        ),
        clock=FixedClock(NOW),
    )
    try:
        seed(deps.db, NOW, hours=deps.config.business_hours)
        result = scan.scan(deps)
    finally:
        deps.db.engine.dispose()
    assert result.draft_failures == [] and len(result.created) >= 20
    # five steps per lead, each one call
    assert len(claude.requests) == 5 * (len(result.created) + len(result.scheduled))
    assert 2 <= claude.max_in_flight <= deps.config.drafting.concurrency


def test_a_contact_emailed_in_the_last_two_business_days_gets_no_new_follow_up_yet(harness):
    """Overlap suppression: Omar's stale deal waits while the rep's email of yesterday is fresh; Sarah, who
    wrote in after an email of ours, is answered anyway; both come back when the quiet days have passed."""
    from crm.tables import CrmEngagement
    from tests.builders import OMAR, SARAH

    deps = harness.deps
    now = deps.clock.now()
    small_book(deps.db, now)
    with deps.db.session() as s:
        for n, (who, days) in enumerate([(OMAR, 1), (SARAH, 2)]):
            s.add(
                CrmEngagement(
                    id=f"90{n}", type="email", direction="outbound", occurred_at=now - timedelta(days=days),
                    subject="Checking in", contact_id=who, owner_id="501", body="Hi, any news?",
                )
            )  # fmt: skip
    first = scan.scan(deps)
    with deps.db.session() as s:
        contacts = set(s.scalars(select(FollowUp.contact_id)).all())
    assert SARAH in contacts and OMAR not in contacts  # Sarah's form (yesterday) came after our email
    assert first.paced >= 1
    harness.clock.advance(timedelta(days=4))  # two business days and a weekend, at least
    scan.scan(deps)
    with deps.db.session() as s:
        assert OMAR in set(s.scalars(select(FollowUp.contact_id)).all())
