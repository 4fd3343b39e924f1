"""A mail server that accepts connections and never answers holds the sends, not the app: every other click
and slash command is still acknowledged (Bolt answers 200 only when the ack came inside Slack's 3 s)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from blocks.ids import ActionId
from bot.models import FollowUp
from bot.sample_data import seed
from bot.services import scan
from tests.conftest import ADMIN, DANA, SIGNING_SECRET
from tests.fakes.smtp import DeadServer
from tests.handlers.flow import settle
from tests.harness import AppHarness


@pytest.fixture
def dead_smtp_app(settings, clock, slack, mailbox):
    dead = DeadServer()
    h = AppHarness.start(
        settings.model_copy(update={"smtp_port": dead.port}),
        clock=clock,
        slack=slack,
        mailbox=mailbox[1],
        signing_secret=SIGNING_SECRET,
    )
    yield h, dead
    h.stop()
    dead.close()


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_ten_hung_sends_leave_every_other_request_answered(dead_smtp_app):
    h, dead = dead_smtp_app
    seed(h.deps.db, h.clock.now(), hours=h.deps.config.business_hours)
    scan.scan(h.deps)
    settle(h)
    with h.deps.db.session() as s:
        rows = s.execute(
            select(FollowUp.id, FollowUp.owner_slack_id).where(FollowUp.state == "pending")
        ).all()
    assert len(rows) >= 14
    cards = {fid: (c.channel, c.ts) for fid in (r.id for r in rows) for c in _cards(h, fid)}
    sends, others = list(cards)[:10], list(cards)[10:14]

    replies: list[int] = []

    def click(fid: int) -> None:
        replies.append(h.click(ActionId.CARD_APPROVE, user=ADMIN, card=cards[fid], value=str(fid)).status)

    threads = [threading.Thread(target=click, args=(fid,)) for fid in sends]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert replies == [200] * 10
    _wait_for_connections(dead, 4)  # every worker now waits on the dead server

    # while those hang: other reps' status, and clicks on other cards, are all acknowledged
    assert h.command("status", user=DANA).status == 200
    for n, fid in enumerate(others):
        reply = h.click(
            ActionId.CARD_SNOOZE, user=ADMIN, card=cards[fid], selected=f"{fid}:1h", response=f"s{n}"
        )
        assert reply.status == 200
    answers = h.slack.wait_for_response(1)
    assert any(a.get("blocks") for a in answers)  # the status itself arrived
    for fid in others:
        _wait_state(h, fid, "snoozed")


def _cards(h: AppHarness, fid: int):  # type: ignore[no-untyped-def]
    with h.deps.db.session() as s:
        fu = s.get(FollowUp, fid)
        assert fu is not None
        return list(fu.cards)


def _wait_state(h: AppHarness, fid: int, state: str, timeout: float = 5.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with h.deps.db.session() as s:
            if s.get(FollowUp, fid).state == state:  # type: ignore[union-attr]
                return
        time.sleep(0.02)
    raise AssertionError(f"follow-up {fid} never became {state}")


def _wait_for_connections(dead: DeadServer, count: int, timeout: float = 5.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while len(dead.held) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(dead.held) >= count
