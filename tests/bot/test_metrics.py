"""The metrics from a fixture history whose every answer is known: a week of follow-ups, decisions, replies,
outcomes, inbound leads, AI calls and failures, on SQLite and PostgreSQL. Empty periods and narrowed scopes
give "no data", never a division by zero."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.models import (
    AiOutput,
    AuditEvent,
    CardMessage,
    Draft,
    FollowUp,
    InboundLead,
    InboundMessage,
    Outcome,
    Suppression,
    WorkItem,
)
from bot.services import metrics
from bot.services.metrics import Rate, Scope
from tests.conftest import DANA, MANAGER, NOW, OTHER

H = timedelta(hours=1)
_ids = itertools.count(1)


@pytest.fixture
def config_file(config_file: Path) -> Path:
    config_file.write_text(
        config_file.read_text()
        + f"""
[teams.east]
members = ["dana@x.example"]
lead = "{MANAGER}"
"""
    )
    return config_file


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def followup(
    s,
    *,
    rule="stale_deal",
    owner=DANA,
    touch=1,
    triggered=NOW - 24 * H,
    sent=None,
    state="sent",  # type: ignore[no-untyped-def]
    body="See you Monday",
    edited_to=None,
    flags=(),
    version="draft/v1",
    dismiss_reason=None,
):
    n = next(_ids)
    fu = FollowUp(
        dedupe_key=f"k{n}",
        rule=rule,
        reason="r",
        contact_id=f"c{n}",
        contact_email=f"Lead{n}@x.example",
        contact_name=f"Lead {n}",
        owner_email="dana@x.example" if owner == DANA else "olu@x.example",
        owner_slack_id=owner,
        state=state,
        version=0,
        triggered_at=triggered,
        sent_at=sent,
        touch=touch,
        dismiss_reason=dismiss_reason,
        created_at=triggered,
        updated_at=triggered,
    )
    s.add(fu)
    s.flush()
    ai = Draft(
        followup_id=fu.id,
        origin="ai",
        author="pipeline",
        summary="s",
        classification="sales_opportunity",
        urgency="low",
        missing_information=[],
        review_flags=list(flags),
        sources=[],
        subject="S",
        body=body,
        prompt_version=version,
        created_at=triggered,
    )
    s.add(ai)
    s.flush()
    sent_draft = ai
    if edited_to is not None:
        sent_draft = Draft(
            followup_id=fu.id,
            origin="edit",
            author=owner,
            summary="s",
            classification="sales_opportunity",
            urgency="low",
            missing_information=[],
            review_flags=[],
            sources=[],
            subject="S",
            body=edited_to,
            created_at=triggered,
        )
        s.add(sent_draft)
        s.flush()
    if sent is not None:
        fu.sent_draft_id = sent_draft.id
    return fu


def event(s, fu, action: str, at: datetime, actor: str = DANA, **detail) -> None:  # type: ignore[no-untyped-def]
    s.add(
        AuditEvent(
            followup_id=fu.id,
            at=at,
            actor=actor,
            action=action,
            from_state="pending",
            to_state="x",
            detail=detail,
        )
    )


def card(s, fu, at: datetime) -> None:  # type: ignore[no-untyped-def]
    s.add(
        CardMessage(
            followup_id=fu.id, kind="card", channel=fu.owner_slack_id, ts=f"{next(_ids)}.0", created_at=at
        )
    )


def reply(s, fu, at: datetime) -> None:  # type: ignore[no-untyped-def]
    n = next(_ids)
    s.add(
        InboundMessage(
            mailbox="INBOX",
            uidvalidity=1,
            uid=n,
            kind="reply",
            sender=fu.contact_email.lower(),
            subject="Re",
            snippet="yes",
            followup_id=fu.id,
            contact_id=fu.contact_id,
            received_at=at,
            created_at=at,
        )
    )


def outcome(s, fu, kind: str, at: datetime, **extra) -> None:  # type: ignore[no-untyped-def]
    s.add(
        Outcome(
            kind=kind,
            source_id=f"src-{next(_ids)}",
            followup_id=fu.id,
            contact_id=fu.contact_id,
            at=at,
            created_at=at,
            **extra,
        )
    )


def lead(s, *, route: str, received: datetime, acted: datetime | None) -> None:  # type: ignore[no-untyped-def]
    fu = followup(s, rule="inbound_no_response", triggered=received, state="pending")
    s.add(
        InboundLead(
            source="inbound",
            origin="",
            email=fu.contact_email,
            name="",
            company="",
            subject="",
            text="t",
            received_at=received,
            state="done",
            route=route,
            followup_id=fu.id,
            first_action_at=acted,
            created_at=received,
            updated_at=received,
        )
    )


def ai_call(s, run: str, engine: str, status: str, cost: float, at: datetime) -> None:  # type: ignore[no-untyped-def]
    s.add(AiOutput(run_id=run, step="classify", engine=engine, status=status, cost_usd=cost, created_at=at))


@pytest.fixture
def history(harness):  # type: ignore[no-untyped-def]
    """The week before NOW (Wed 18 Nov 2026, 15:00 in New York), and one follow-up from long before."""
    with harness.deps.db.session() as s:
        f1 = followup(s, sent=NOW - 48 * H, version="draft/v2")  # touch 1, as written, replied
        card(s, f1, NOW - 49 * H)
        event(s, f1, "approve", NOW - 48 * H)
        reply(s, f1, NOW - 40 * H)
        outcome(s, f1, "deal_won", NOW - 30 * H, amount=50_000.0, other_touches=0)
        f2 = followup(s, sent=NOW - 72 * H, edited_to="See you Friday", flags=["Check the date"])  # edited
        card(s, f2, NOW - 75 * H)
        event(
            s,
            f2,
            "edit_and_send",
            NOW - 72 * H,
            classification={"model": "sales_opportunity", "human": "sales_opportunity"},
        )
        event(s, f2, "delivery_failed", NOW - 71 * H, actor="worker")
        outcome(s, f2, "meeting", NOW - 60 * H)
        s.add(
            Suppression(
                email=f2.contact_email.lower(),
                contact_id=f2.contact_id,
                reason="bounced",
                detail="5.1.1",
                created_at=NOW - 70 * H,
            )
        )
        f3 = followup(s, touch=2, sent=NOW - 24 * H)  # approved by the app itself: not a person's decision
        event(s, f3, "approve", NOW - 24 * H, actor="auto-send")
        outcome(s, f3, "reply", NOW - 20 * H)
        outcome(s, f3, "deal_won", NOW - 10 * H, amount=10_000.0, other_touches=2)
        f4 = followup(s, touch=2, sent=NOW - 96 * H)
        s.add(
            Suppression(
                email=f4.contact_email.lower(),
                contact_id=f4.contact_id,
                reason="unsubscribed",
                detail="link",
                created_at=NOW - 90 * H,
            )
        )
        f5 = followup(
            s,
            rule="proposal_no_reply",
            owner=OTHER,
            state="dismissed",
            flags=["Mentions pricing"],
            dismiss_reason="not_a_lead",
        )
        card(s, f5, NOW - 24.5 * H)
        event(
            s,
            f5,
            "dismiss",
            NOW - 24 * H,
            actor=OTHER,
            reason="not_a_lead",
            classification={"model": "sales_opportunity", "human": "spam"},
        )
        f7 = followup(s, state="escalated")
        card(s, f7, NOW - 12 * H)
        event(s, f7, "snooze", NOW - 10 * H)
        event(s, f7, "escalate", NOW - 5 * H)
        old = followup(s, triggered=NOW - 25 * 24 * H, sent=NOW - 20 * 24 * H)  # before the week
        reply(s, old, NOW - 19 * 24 * H)
        # inbound: 40 min; Friday 16:50 to Monday 9:05 in New York (25 business minutes); never; and 2 h
        lead(s, route="hot", received=utc("2026-11-17 14:00"), acted=utc("2026-11-17 14:40"))
        lead(s, route="hot", received=utc("2026-11-13 21:50"), acted=utc("2026-11-16 14:05"))
        lead(s, route="hot", received=utc("2026-11-17 15:00"), acted=None)
        lead(s, route="normal", received=utc("2026-11-16 15:00"), acted=utc("2026-11-16 17:00"))
        # health
        s.add(
            WorkItem(
                kind="crm_log",
                followup_id=f1.id,
                payload={},
                state="dead",
                due_at=NOW - 5 * H,
                attempts=8,
                created_at=NOW - 6 * H,
                updated_at=NOW - 5 * H,
            )
        )
        s.add(
            WorkItem(
                kind="crm_log",
                followup_id=f3.id,
                payload={},
                state="done",
                due_at=NOW - 5 * H,
                attempts=1,
                created_at=NOW - 6 * H,
                updated_at=NOW - 5 * H,
            )
        )
        ai_call(s, "r1", "claude", "failed", 0.5, utc("2026-11-17 12:00"))
        ai_call(s, "r1", "offline", "ok", 0.0, utc("2026-11-17 12:00"))
        ai_call(s, "r2", "claude", "ok", 0.25, utc("2026-11-17 13:00"))
        ai_call(s, "r3", "claude", "ok", 1.0, utc("2026-11-16 13:00"))
    return harness


def test_every_metric_of_the_week_has_its_known_answer(history):
    r = metrics.compute(history.deps, Scope.last("week", NOW))
    # outcome
    assert r.sent == 4
    assert r.reply_by_touch == {1: Rate(1, 2), 2: Rate(1, 2)}
    assert r.reply_rate == Rate(2, 4)
    assert r.meeting_rate == Rate(1, 10)  # contacts triggered this week: 6 follow-ups and 4 inbound leads
    assert (r.won_deals, r.won_revenue, r.won_without_other_touch) == (2, 60_000.0, 1)
    assert (r.unsubscribe_rate, r.bounce_rate) == (Rate(1, 4), Rate(1, 4))
    # speed
    assert r.inbound_answered == 3 and r.inbound_first_response == 2 * H  # median of 40 min, 2 h, 64 h 15
    assert r.hot_within_hour == Rate(2, 3)  # within a business hour, as the SLA counts
    assert r.card_to_decision == 1.5 * H  # median of 1 h, 3 h, 30 min and 2 h
    # the human step
    assert r.decisions == {name: Rate(1, 5) for name in ("approve", "edit", "snooze", "escalate", "dismiss")}
    assert r.dismiss_reasons == {"not_a_lead": 1}
    assert (r.reply_as_written, r.reply_edited) == (Rate(2, 3), Rate(0, 1))
    assert r.edit_distance == round(3 / 14, 3)  # "Monday" → "Friday": 3 of 14 characters
    assert r.classification_reviewed == Rate(1, 2)
    assert r.overrides == {"sales_opportunity → spam": 1}
    assert (r.flags_raised, r.flags_resolved) == (2, {"edited, then sent": 1, "dismissed": 1})
    # health
    assert (r.crm_write_failures, r.send_failures, r.ai_fallbacks) == (1, 1, 1)
    assert r.cost_by_day == {date(2026, 11, 16): 1.0, date(2026, 11, 17): 0.75} and r.cost == 1.75


def test_a_period_with_nothing_in_it_has_no_rates_and_no_errors(history):
    empty = metrics.compute(history.deps, Scope(start=utc("2020-01-01 00:00"), end=utc("2020-02-01 00:00")))
    assert empty.sent == 0 and empty.reply_by_touch == {} and empty.reply_rate.value is None
    for rate in (
        empty.meeting_rate,
        empty.unsubscribe_rate,
        empty.hot_within_hour,
        empty.reply_edited,
        empty.classification_reviewed,
        *empty.decisions.values(),
    ):
        assert rate.value is None and str(rate) == "–"
    assert (
        empty.inbound_first_response is None
        and empty.card_to_decision is None
        and empty.edit_distance is None
    )
    assert (empty.won_deals, empty.won_revenue, empty.flags_raised, empty.cost) == (0, 0.0, 0, 0)


def test_narrowed_to_a_rep_a_rule_a_team_or_a_prompt_version(history):
    week = Scope.last("week", NOW)
    olu = metrics.compute(history.deps, Scope.last("week", NOW, rep=OTHER))
    assert olu.sent == 0 and olu.reply_rate.value is None
    assert olu.decisions["dismiss"] == Rate(1, 1) and olu.overrides == {"sales_opportunity → spam": 1}
    proposals = metrics.compute(history.deps, Scope.last("week", NOW, rule="proposal_no_reply"))
    assert proposals.flags_resolved == {"dismissed": 1} and proposals.meeting_rate == Rate(0, 1)
    east = metrics.compute(history.deps, Scope.last("week", NOW, team="east"))  # Dana's team
    assert east.sent == 4 and east.decisions["dismiss"] == Rate(0, 4)
    v2 = metrics.compute(history.deps, Scope.last("week", NOW, prompt_version="draft/v2"))
    assert (v2.sent, v2.reply_rate, v2.won_revenue) == (1, Rate(1, 1), 50_000.0)
    assert metrics.compute(history.deps, Scope.last("week", NOW, team="nobody")).sent == 0
    assert metrics.compute(history.deps, week).sent == 4
