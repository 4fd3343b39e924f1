from __future__ import annotations

from datetime import timedelta

from bot.config import FollowupConfig, parse_config
from bot.db import Database, make_engine, migrate
from crm.embedded import EmbeddedCRM
from crm.tables import CrmEngagement
from tests.builders import DEAL, OMAR, SARAH, detect, small_book
from tests.conftest import NOW


def _crm(database_url: str) -> tuple[Database, EmbeddedCRM]:
    db = Database(make_engine(database_url))
    migrate(db.engine)
    small_book(db, NOW)
    return db, EmbeddedCRM(db)


def _rules(crm, config: FollowupConfig, now=NOW):
    return {t.contact_id: t for t in detect(crm, config, now)}


def test_both_rules_fire_on_the_small_book(database_url):
    _, crm = _crm(database_url)
    found = _rules(crm, FollowupConfig())
    assert found[SARAH].rule == "inbound_no_response"
    assert found[SARAH].dedupe_key == "inbound_no_response:401"
    assert "8.0 business hours" in found[SARAH].reason
    assert found[OMAR].rule == "stale_deal" and found[OMAR].deal_id == DEAL
    assert "has sat in presentationscheduled since" in found[OMAR].reason
    assert "20 days (limit 14)" in found[OMAR].reason


def test_an_answered_inquiry_does_not_fire(database_url):
    db, crm = _crm(database_url)
    with db.session() as s:
        s.add(
            CrmEngagement(
                id="409",
                type="email",
                direction="outbound",
                occurred_at=NOW - timedelta(hours=20),
                contact_id=SARAH,
                body="Happy to show you a demo.",
                subject="Re: Demo request",
            )
        )
    assert SARAH not in _rules(crm, FollowupConfig())


def test_inquiry_within_the_business_hour_limit_does_not_fire(database_url):
    _, crm = _crm(database_url)
    strict = parse_config({"triggers": {"inbound_no_response": {"business_hours": 9}}})
    assert SARAH not in _rules(crm, strict)  # 8 business hours have passed, the limit is 9


def test_stale_thresholds_are_per_stage(database_url):
    _, crm = _crm(database_url)
    lenient = parse_config({"triggers": {"stale_deal": {"days_by_stage": {"presentationscheduled": 30}}}})
    assert OMAR not in _rules(crm, lenient)
    off = parse_config(
        {"triggers": {"stale_deal": {"enabled": False}, "inbound_no_response": {"enabled": False}}}
    )
    assert _rules(crm, off) == {}
