"""SIGKILL at the three dangerous points of a send, then a restart: no email lost, none sent twice without a
person confirming, and the CRM log written exactly once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from blocks.ids import ActionId
from bot.db import Database, make_engine, migrate
from bot.models import CardMessage, FollowUp
from crm.tables import CrmEngagement
from tests.blockkit import action_ids, texts
from tests.builders import OMAR, small_book_in_hubspot, stale_book
from tests.conftest import DANA, SIGNING_SECRET
from tests.fakes.smtp import DeadServer
from tests.process import AppProcess
from tests.test_replicas import process_env, replica_config, wait_until


@pytest.fixture
def db(database_url):
    database = Database(make_engine(database_url))
    migrate(database.engine)
    yield database
    database.engine.dispose()


def _start(name, env, slack, tmp_path) -> AppProcess:  # type: ignore[no-untyped-def]
    return AppProcess(name, env, slack=slack, signing_secret=SIGNING_SECRET, logs=tmp_path).wait_healthy()


def _first_card(db: Database, contact_id: str | None = None) -> tuple[int, tuple[str, str]]:
    def find():  # type: ignore[no-untyped-def]
        with db.session() as s:
            query = select(CardMessage).join(FollowUp).order_by(CardMessage.id)
            if contact_id:
                query = query.where(FollowUp.contact_id == contact_id)
            card = s.scalars(query).first()
            return (card.followup_id, (card.channel, card.ts)) if card else None

    return wait_until(find, what="a posted card")


def _followup(db: Database, fid: int) -> FollowUp:
    with db.session() as s:
        fu = s.get(FollowUp, fid)
        assert fu is not None
        _ = (fu.events, fu.cards)
        return fu


def test_killed_before_the_send_it_goes_out_once_after_restart(db, database_url, tmp_path, slack, mailbox):
    stale_book(db, datetime.now(UTC), 1)
    config = replica_config(tmp_path, lease_seconds=2)
    dead = DeadServer()  # the mail server is slow to greet: the send has not started when the app dies
    first = _start("first", process_env(database_url, slack, dead.port, config), slack, tmp_path)
    try:
        fid, card = _first_card(db)
        assert first.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid)).status == 200
        wait_until(lambda: dead.held, what="the send to reach the mail server")
        first.kill()
    finally:
        dead.close()
    fu = _followup(db, fid)
    assert fu.state == "sending" and fu.send_handover_at is None

    second = _start("second", process_env(database_url, slack, mailbox[0], config), slack, tmp_path)
    try:
        wait_until(lambda: _followup(db, fid).crm_engagement_id, what="the send and its CRM log")
        [mail] = mailbox[1].messages
        fu = _followup(db, fid)
        assert fu.state == "sent" and mail["Message-ID"] == fu.message_id
        with db.session() as s:
            assert s.scalar(select(func.count()).where(CrmEngagement.message_id == fu.message_id)) == 1
    finally:
        assert second.stop() == 0


def test_killed_after_the_server_took_it_a_person_decides(db, database_url, tmp_path, slack, mailbox):
    stale_book(db, datetime.now(UTC), 1)
    config = replica_config(tmp_path, lease_seconds=2)
    env = process_env(database_url, slack, mailbox[0], config)
    box = mailbox[1]
    first = _start("first", env, slack, tmp_path)
    box.silent_after_data = threading.Event()  # accepted, but the 250 never reaches the app
    try:
        fid, card = _first_card(db)
        first.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid))
        box.wait_for(1, timeout=10)
        first.kill()
    finally:
        box.silent_after_data.set()
    box.silent_after_data = None
    assert _followup(db, fid).send_handover_at is not None

    second = _start("second", env, slack, tmp_path)
    try:
        wait_until(lambda: _followup(db, fid).state == "unknown", what="the unknown outcome")

        def card_says_maybe() -> bool:
            updates = [c for c in slack.of("chat.update") if (c.args["channel"], c.args["ts"]) == card]
            return bool(updates) and "Maybe sent." in texts(updates[-1].args["blocks"])

        wait_until(card_says_maybe, what="the card to say it may have been sent")
        last = [c for c in slack.of("chat.update") if (c.args["channel"], c.args["ts"]) == card][-1]
        assert ActionId.CARD_RESEND in action_ids(last.args["blocks"])
        assert len(box.messages) == 1  # nothing re-sent on its own

        second.click(ActionId.CARD_MARK_SENT, user=DANA, card=card, value=str(fid))
        wait_until(lambda: _followup(db, fid).crm_engagement_id, what="the CRM log")
        fu = _followup(db, fid)
        assert fu.state == "sent" and len(box.messages) == 1
        with db.session() as s:
            assert s.scalar(select(func.count()).where(CrmEngagement.message_id == fu.message_id)) == 1
    finally:
        assert second.stop() == 0


def test_killed_before_the_crm_log_it_is_written_exactly_once(
    db, database_url, tmp_path, slack, mailbox, hubspot
):
    small_book_in_hubspot(hubspot, datetime.now(UTC))
    config = replica_config(tmp_path, lease_seconds=2)
    env = {
        **process_env(database_url, slack, mailbox[0], config),
        "HUBSPOT_ACCESS_TOKEN": hubspot.token,
        "HUBSPOT_API_URL": hubspot.base_url,
    }
    first = _start("first", env, slack, tmp_path)
    hubspot.hold_creates = threading.Event()  # HubSpot stores the email; its answer never arrives
    try:
        fid, card = _first_card(db, OMAR)
        first.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid))
        mailbox[1].wait_for(1, timeout=10)
        wait_until(lambda: [c for c in hubspot.created if c["kind"] == "emails"], what="the CRM write")
        first.kill()
    finally:
        hubspot.hold_creates.set()
    hubspot.hold_creates = None
    assert _followup(db, fid).state == "sent"

    second = _start("second", env, slack, tmp_path)
    try:
        wait_until(lambda: _followup(db, fid).crm_engagement_id, what="the CRM log after the restart")
        fu = _followup(db, fid)
        logged = [c for c in hubspot.created if c["kind"] == "emails"]
        assert len(logged) == 1 and fu.message_id in logged[0]["properties"]["hs_email_headers"]
        assert fu.crm_engagement_id == f"emails-{logged[0]['id']}"
        assert len(mailbox[1].messages) == 1
    finally:
        assert second.stop() == 0
