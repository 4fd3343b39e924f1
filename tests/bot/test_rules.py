"""Each of the six trigger rules: fires at its threshold and not a minute before (business time where the
rule counts it), explains itself in a rep's words, and resolves when it no longer applies."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.clock import BusinessCalendar
from bot.config import FollowupConfig
from bot.db import Database, make_engine, migrate
from bot.triggers.base import Pipeline, RuleContext, Watch
from bot.triggers.registry import BY_NAME, RULES, run_rules, still_applies
from crm.embedded import EmbeddedCRM
from crm.tables import CrmCompany, CrmContact, CrmDeal, CrmEngagement, CrmOwner

# Tuesday 3 Nov 2026, 10:00 in New York: the start of each episode below.
T0 = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)
CONFIG = FollowupConfig()
MINUTE = timedelta(minutes=1)


@pytest.fixture
def book(database_url):
    db = Database(make_engine(database_url))
    migrate(db.engine)
    with db.session() as s:
        s.add(CrmOwner(id="o1", email="rep@example.com", first_name="Rae", last_name="Rep"))
        s.add(CrmCompany(id="co1", name="Acme"))
        s.flush()
        s.add(
            CrmContact(
                id="c1",
                email="lead@acme.example",
                first_name="Lee",
                last_name="Park",
                company_id="co1",
                owner_id="o1",
                created_at=T0 - timedelta(days=90),
            )
        )
        s.flush()
    yield db, EmbeddedCRM(db)
    db.engine.dispose()


def _ctx(crm, now: datetime) -> RuleContext:
    return RuleContext(
        crm=crm,
        calendar=BusinessCalendar(CONFIG.business_hours),
        now=now,
        pipeline=Pipeline(["closedwon"], ["closedlost"]),
    )


def _found(crm, rule: str, now: datetime):
    run = run_rules(CONFIG.triggers, _ctx(crm, now))
    assert run.failures == {}
    return [t for t in run.triggers if t.rule == rule]


def _add(db, row) -> None:
    with db.session() as s:
        s.add(row)


def _deal(db, stage: str, changed: datetime, deal_id: str = "d1", **extra) -> None:
    _add(
        db,
        CrmDeal(
            id=deal_id,
            name="Acme — Pilot",
            stage=stage,
            stage_changed_at=changed,
            contact_id="c1",
            company_id="co1",
            owner_id="o1",
            **extra,
        ),
    )


def _eng(db, eid: str, kind: str, at: datetime, *, direction=None, subject=None, body="", deal=None) -> None:
    _add(
        db,
        CrmEngagement(
            id=eid,
            type=kind,
            direction=direction,
            occurred_at=at,
            subject=subject,
            body=body,
            contact_id="c1",
            deal_id=deal,
            owner_id="o1",
        ),
    )


def _resolution(crm, trigger, now: datetime) -> str | None:
    watch = Watch(trigger.rule, trigger.contact_id, trigger.deal_id, trigger.since, trigger.dedupe_key)
    return still_applies(CONFIG.triggers, watch, _ctx(crm, now))


def test_every_rule_is_registered_with_its_config_section():
    assert [r.name for r in RULES] == [
        "inbound_no_response",
        "proposal_no_reply",
        "call_no_next_step",
        "stale_deal",
        "quote_expired",
        "closed_lost_nurture",
    ]
    for rule in RULES:
        assert getattr(CONFIG.triggers, rule.name).enabled is True
        assert rule.label


def test_inbound_no_response(book):
    db, crm = book
    _eng(db, "e1", "form", T0, direction="inbound", subject="Demo request", body="Can we see a demo?")
    due = T0 + timedelta(hours=2)  # 2 business hours: Tue 12:00 New York
    assert _found(crm, "inbound_no_response", due - MINUTE) == []
    [t] = _found(crm, "inbound_no_response", due)
    assert "Inbound form submission on Tue 3 Nov unanswered for 2.0 business hours" in t.reason
    assert _resolution(crm, t, due) is None
    _eng(db, "e2", "call", due + timedelta(hours=1), direction="outbound", subject="Intro call")
    assert "got an answer another way: a call on Tue 3 Nov" in (
        _resolution(crm, t, due + timedelta(hours=2)) or ""
    )


def test_inbound_after_hours_waits_for_business_time(book):
    db, crm = book
    friday_evening = datetime(2026, 11, 6, 23, 0, tzinfo=UTC)  # Fri 18:00 New York
    _eng(db, "e1", "email", friday_evening, direction="inbound", subject="Question", body="Pricing?")
    monday_11 = datetime(2026, 11, 9, 16, 0, tzinfo=UTC)  # Mon 11:00: exactly 2 business hours later
    assert _found(crm, "inbound_no_response", monday_11 - MINUTE) == []
    assert len(_found(crm, "inbound_no_response", monday_11)) == 1


def test_proposal_no_reply(book):
    db, crm = book
    _deal(db, "presentationscheduled", T0 - timedelta(days=2))
    _eng(
        db, "e1", "email", T0, direction="outbound", subject="Proposal for Acme", body="Attached.", deal="d1"
    )
    due = datetime(2026, 11, 6, 15, 0, tzinfo=UTC)  # Fri 10:00: 3 business days after Tue 10:00
    assert _found(crm, "proposal_no_reply", due - MINUTE) == []
    [t] = _found(crm, "proposal_no_reply", due)
    assert t.reason.startswith("Proposal “Proposal for Acme” sent Tue 3 Nov, no reply in 3 business days")
    later = due + timedelta(days=5)  # Wed 11 Nov: Veterans Day is a US holiday, so 5 business days, not 6
    [t_later] = _found(crm, "proposal_no_reply", later)
    assert "no reply in 5 business days" in t_later.reason
    _eng(
        db,
        "e2",
        "email",
        due + timedelta(hours=1),
        direction="inbound",
        subject="Re: Proposal",
        body="Looks good",
    )
    assert _found(crm, "proposal_no_reply", later) == []
    assert "They replied: an email on Fri 6 Nov" in (_resolution(crm, t, later) or "")


def test_proposal_stage_counts_as_sent(book):
    db, crm = book
    _deal(db, "contractsent", T0)
    due = datetime(2026, 11, 6, 15, 0, tzinfo=UTC)
    assert _found(crm, "proposal_no_reply", due - MINUTE) == []
    [t] = _found(crm, "proposal_no_reply", due)
    assert t.deal_id == "d1" and t.reason.startswith("Proposal sent Tue 3 Nov")


def test_the_reps_answer_in_the_thread_is_not_a_new_proposal(book):
    """Proposal, the lead's questions, the rep's "Re: Proposal": silence after that is its own situation,
    worded as such, never "Proposal “Re: Proposal” sent … no reply"."""
    db, crm = book
    _deal(db, "presentationscheduled", T0 - timedelta(days=2))
    _eng(
        db, "e1", "email", T0, direction="outbound", subject="Proposal for Acme", body="Attached.", deal="d1"
    )
    _eng(db, "e2", "email", T0 + timedelta(hours=3), direction="inbound", subject="Re: Proposal for Acme",
         body="Two questions: does the price include onboarding? And SSO?")  # fmt: skip
    wed = datetime(2026, 11, 4, 15, 0, tzinfo=UTC)
    _eng(db, "e3", "email", wed, direction="outbound", subject="RE: Proposal for Acme",
         body="Yes to both — onboarding is included and SSO is on every plan.", deal="d1")  # fmt: skip
    assert _found(crm, "proposal_no_reply", wed + timedelta(days=1)) == []  # not 3 business days yet
    later = datetime(2026, 11, 12, 15, 0, tzinfo=UTC)  # Thu: 5 business days after Wed (Veterans Day off)
    [t] = _found(crm, "proposal_no_reply", later)
    assert "sent" not in t.reason.split(";")[0] or "“Re:" not in t.reason
    assert t.reason.startswith(
        "Lee Park replied to proposal “Proposal for Acme” on Tue 3 Nov and got your answer on Wed 4 Nov; "
        "no word since in 5 business days"
    ), t.reason
    assert t.since == wed and t.dedupe_key == "proposal_no_reply:answer:e3"
    # they write back: moot
    _eng(db, "e4", "email", later + timedelta(hours=1), direction="inbound", subject="Re: Proposal for Acme",
         body="Thanks, signing this week")  # fmt: skip
    assert _found(crm, "proposal_no_reply", later + timedelta(days=1)) == []


@pytest.mark.parametrize("subject", ["Re: Proposal", "AW: Angebot", "RE[2]: Your quote", "Antw: offerte"])
def test_a_reply_in_a_thread_never_starts_a_proposal_clock(book, subject):
    db, crm = book
    _eng(db, "e1", "email", T0 - timedelta(days=1), direction="inbound", subject="Question",
         body="What would 10 seats cost?")  # fmt: skip
    _eng(db, "e2", "email", T0, direction="outbound", subject=subject, body="Here you go, quote attached.")
    assert _found(crm, "proposal_no_reply", T0 + timedelta(days=10)) == []


def test_an_attached_proposal_counts_whatever_the_subject(book):
    db, crm = book
    _eng(db, "e1", "email", T0, direction="outbound", subject="Following our call",
         body="Hi Lee, please find attached our proposal for the pilot.")  # fmt: skip
    [t] = _found(crm, "proposal_no_reply", datetime(2026, 11, 6, 15, 0, tzinfo=UTC))
    assert t.reason.startswith("Proposal “Following our call” sent Tue 3 Nov, no reply in 3 business days")
    _eng(db, "e9", "email", T0, direction="outbound", subject="Notes", body="We will send a quote soon.")
    assert len(_found(crm, "proposal_no_reply", datetime(2026, 11, 6, 15, 0, tzinfo=UTC))) == 1


@pytest.mark.parametrize("stage", ["closedlost", "closedwon"])
def test_no_card_for_a_proposal_whose_deal_closed_before_detection(book, stage):
    """The demo's old bug: proposal cards for deals already closed lost, only resolved by the next scan."""
    db, crm = book
    _deal(db, stage, T0 + timedelta(days=1))
    _eng(
        db, "e1", "email", T0, direction="outbound", subject="Proposal for Acme", body="Attached.", deal="d1"
    )
    ctx = _ctx(crm, datetime(2026, 11, 6, 15, 0, tzinfo=UTC))
    run = run_rules(CONFIG.triggers, ctx)
    assert [t for t in run.triggers if t.rule == "proposal_no_reply"] == []
    won_or_lost = "closed won" if stage == "closedwon" else "closed lost"
    assert run.skipped == {f"proposal_no_reply: already moot (the deal was {won_or_lost})": 1}


def test_a_stale_deal_with_a_meeting_on_the_calendar_is_not_stale(book):
    db, crm = book
    _deal(db, "qualifiedtobuy", T0)
    now = T0 + timedelta(days=20)
    _eng(db, "m1", "meeting", now + timedelta(days=2), subject="Rollout planning", deal="d1")
    assert _found(crm, "stale_deal", now) == []


def test_an_inquiry_on_a_deal_lost_last_year_is_still_an_inquiry(book):
    db, crm = book
    _deal(db, "closedlost", T0 - timedelta(days=300), close_date=T0 - timedelta(days=300))
    _eng(db, "e1", "form", T0, direction="inbound", subject="Back again", body="Pricing for 30 seats?",
         deal="d1")  # fmt: skip
    assert len(_found(crm, "inbound_no_response", T0 + timedelta(hours=3))) == 1


def test_call_no_next_step(book):
    db, crm = book
    _eng(
        db, "e1", "call", T0, direction="outbound", subject="Discovery call", body="Good fit; wants pricing."
    )
    due = T0 + timedelta(hours=24)
    assert _found(crm, "call_no_next_step", due - MINUTE) == []
    [t] = _found(crm, "call_no_next_step", due)
    assert t.reason == "Discovery call on Tue 3 Nov, no next meeting booked 24 hours later (limit 24)"
    _eng(db, "e2", "meeting", due + timedelta(days=6), subject="Demo with the team")  # booked for next week
    assert _found(crm, "call_no_next_step", due + timedelta(hours=1)) == []
    assert "A next meeting was booked: a meeting on" in (_resolution(crm, t, due + timedelta(hours=1)) or "")


def test_a_call_that_is_not_discovery_does_not_fire(book):
    db, crm = book
    _eng(db, "e1", "call", T0, direction="outbound", subject="Support call", body="Fixed the login issue.")
    assert _found(crm, "call_no_next_step", T0 + timedelta(days=2)) == []


def test_stale_deal(book):
    db, crm = book
    _deal(db, "qualifiedtobuy", T0)  # limit 10 days
    due = T0 + timedelta(days=11)
    assert _found(crm, "stale_deal", due - MINUTE) == []
    [t] = _found(crm, "stale_deal", due)
    assert t.reason == "Deal 'Acme — Pilot' has sat in qualifiedtobuy since Tue 3 Nov: 11 days (limit 10)"
    with db.session() as s:
        deal = s.get(CrmDeal, "d1")
        deal.stage, deal.stage_changed_at = "presentationscheduled", due + timedelta(hours=1)
    assert "Deal moved to presentationscheduled on Sat 14 Nov" in (
        _resolution(crm, t, due + timedelta(hours=2)) or ""
    )


def test_quote_expired(book):
    db, crm = book
    _deal(db, "contractsent", T0 - timedelta(days=20), quote_expires_at=T0)
    assert _found(crm, "quote_expired", T0 - MINUTE) == []
    [t] = _found(crm, "quote_expired", T0)
    assert (
        t.reason == "The quote for 'Acme — Pilot' expired on Tue 3 Nov "
        "and the deal is still in contractsent, not signed"
    )
    with db.session() as s:
        s.get(CrmDeal, "d1").stage = "closedwon"
    assert _found(crm, "quote_expired", T0 + timedelta(days=1)) == []
    assert _resolution(crm, t, T0 + timedelta(days=1)) == "Deal 'Acme — Pilot' was closed won"


def test_an_expired_quote_is_left_to_its_own_rule_not_taken_as_an_unanswered_proposal(book):
    db, crm = book
    _deal(db, "contractsent", T0 - timedelta(days=20), quote_expires_at=T0)
    later = T0 + timedelta(days=2)
    assert _found(crm, "proposal_no_reply", later) == []  # the more specific moment wins the contact
    assert [t.deal_id for t in _found(crm, "quote_expired", later)] == ["d1"]


def test_closed_lost_nurture_is_stored_at_once_and_comes_due_after_60_days(book):
    db, crm = book
    _deal(db, "closedlost", T0, close_date=T0, lost_reason="Not right now — budget freeze")
    [t] = _found(crm, "closed_lost_nurture", T0 + timedelta(days=1))
    # stored now, shown when due: 60 days on is Saturday 2 Jan, so it comes due on Monday's opening
    assert t.due_at == datetime(2027, 1, 4, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    assert "lost on Tue 3 Nov as “Not right now — budget freeze”: check in 60–90 days later" in t.reason
    [due] = _found(
        crm, "closed_lost_nurture", datetime(2027, 1, 4, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    )
    assert due.due_at is None
    [late] = _found(crm, "closed_lost_nurture", T0 + timedelta(days=100))
    assert "100 days on, past the 90-day window" in late.reason  # late, but within max_days_late
    with db.session() as s:
        s.get(CrmDeal, "d1").stage = "qualifiedtobuy"
    assert _resolution(crm, t, T0 + timedelta(days=61)) == "The deal was reopened (now in qualifiedtobuy)"


@pytest.mark.parametrize("days", [105, 122, 900])
def test_a_loss_older_than_the_window_and_its_grace_is_counted_not_nurtured(book, days):
    """A first install on a portal with years of "not right now" losses: no day-one flood of cards."""
    db, crm = book
    _deal(db, "closedlost", T0, close_date=T0, lost_reason="Not right now")
    ctx = _ctx(crm, T0 + timedelta(days=days))
    run = run_rules(CONFIG.triggers, ctx)
    assert [t for t in run.triggers if t.rule == "closed_lost_nurture"] == []
    assert run.skipped == {"closed_lost_nurture: not nurtured: lost too long ago (over 104 days)": 1}


def test_a_due_time_never_lands_on_a_day_off(book):
    """Losses closed on each day of a fortnight: every check-in comes due inside working hours on a
    working day, in the team's zone."""
    db, crm = book
    zone = ZoneInfo("America/New_York")
    for i in range(14):
        closed = T0 + timedelta(days=i, hours=9)
        _deal(db, "closedlost", closed, close_date=closed, lost_reason="Timing", deal_id=f"d{i}")
    found = _found(crm, "closed_lost_nurture", T0 + timedelta(days=15))
    assert len(found) == 14
    for t in found:
        local = t.due_at.astimezone(zone)
        assert local.weekday() < 5 and (9, 0) <= (local.hour, local.minute) < (17, 0), local
        assert local.date() not in (date(2027, 1, 1),)  # New Year's Day


def test_other_lost_reasons_are_not_nurtured(book):
    db, crm = book
    _deal(db, "closedlost", T0, close_date=T0, lost_reason="Chose a competitor")
    assert _found(crm, "closed_lost_nurture", T0 + timedelta(days=61)) == []


def test_a_failing_rule_is_reported_and_the_others_still_run(book):
    db, _ = book
    _eng(db, "e1", "form", T0, direction="inbound", subject="Demo request", body="Demo?")

    class BrokenCRM(EmbeddedCRM):
        def open_deals(self, closed_stages):
            raise ConnectionError("CRM timed out")

    run = run_rules(CONFIG.triggers, _ctx(BrokenCRM(db), T0 + timedelta(days=1)))
    assert set(run.failures) == {"proposal_no_reply", "stale_deal", "quote_expired"}
    assert "CRM timed out" in run.failures["stale_deal"]
    assert [t.rule for t in run.triggers] == ["inbound_no_response"]
    assert BY_NAME["inbound_no_response"].label == "Inbound inquiry unanswered"
