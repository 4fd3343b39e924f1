"""Socket Mode end to end: the app's real slack_sdk client against a WebSocket server speaking Slack's
protocol. The same flows as over HTTP (a card's buttons, the edit modal, `/followup status`, App Home), each
acknowledged within Slack's 3 s; and Slack's routine disconnects (a refresh, a dropped connection, an ack lost
with its socket, Socket Mode turned off, the app token revoked) with no envelope lost or handled twice."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from blocks.ids import ActionId, BlockId, CallbackId
from handlers.socket import SocketState
from tests.blockkit import assert_valid_blocks, assert_valid_view, texts
from tests.builders import OMAR, SARAH
from tests.conftest import DANA, ESCALATION_CHANNEL
from tests.fakes.slack_api import FakeSlack
from tests.fakes.socket_mode import FakeSocketMode
from tests.handlers.flow import followup, last_update_for, seed_and_scan, settle
from tests.harness import SocketHarness


@pytest.fixture
def socket(slack: FakeSlack) -> Iterator[FakeSocketMode]:
    fake = FakeSocketMode()
    slack.socket = fake
    yield fake
    fake.close()


def _start(settings, clock, slack, socket, mailbox, **options) -> SocketHarness:  # type: ignore[no-untyped-def]
    h = SocketHarness.start(settings, clock=clock, slack=slack, socket=socket, mailbox=mailbox[1], **options)
    socket.wait_connected()
    return h


@pytest.fixture
def sock(settings, clock, slack, socket, mailbox) -> Iterator[SocketHarness]:  # type: ignore[no-untyped-def]
    h = _start(settings, clock, slack, socket, mailbox)
    yield h
    h.stop()


def _state(h: SocketHarness) -> tuple[bool, dict]:
    state: SocketState = h.front.state
    return state.report()


def _wait_state(h: SocketHarness, wanted: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, body = _state(h)
        if body["socket"] == wanted:
            return body
        time.sleep(0.02)
    raise AssertionError(f"the socket never became {wanted}: {_state(h)}")


def _home(h: SocketHarness, user: str = DANA):  # type: ignore[no-untyped-def]
    return h.event({"type": "app_home_opened", "user": user, "tab": "home", "channel": "DHOME1"})


def test_approve_over_the_socket_is_acknowledged_in_time_sends_once_and_updates_the_card(sock):
    fid, card = seed_and_scan(sock)[SARAH]
    reply = sock.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid))
    assert reply.status == 200  # acknowledged inside Slack's 3 s window (the fake enforces it)
    [mail] = sock.mailbox.wait_for(1)
    assert mail["To"] == "sarah.chen@northwind.example"
    settle(sock)
    assert followup(sock, fid).state == "sent"
    blocks = last_update_for(sock, card)
    assert_valid_blocks(blocks)
    assert "Sent" in texts(blocks)


def test_the_edit_modal_opens_and_its_submission_sends_the_edited_text(sock):
    fid, card = seed_and_scan(sock)[SARAH]
    assert sock.click(ActionId.CARD_EDIT, user=DANA, card=card, value=str(fid)).status == 200
    [opened] = sock.slack.wait_for("views.open")  # with the click's trigger_id, inside its 3 s
    view = opened.args["view"]
    assert_valid_view(view)
    body = "Hi Sarah,\n\nHappy to walk your dispatchers through the board. Does Thursday 2pm ET work?\n\nDana"
    values = {
        BlockId.EDIT_SUBJECT: {ActionId.EDIT_SUBJECT_INPUT: {"type": "plain_text_input", "value": "Demo"}},
        BlockId.EDIT_BODY: {ActionId.EDIT_BODY_INPUT: {"type": "plain_text_input", "value": body}},
    }
    empty = {
        **values,
        BlockId.EDIT_BODY: {ActionId.EDIT_BODY_INPUT: {"type": "plain_text_input", "value": " "}},
    }
    refused = sock.submit(
        CallbackId.EDIT_MODAL, user=DANA, private_metadata=view["private_metadata"], values=empty
    )
    # the ack carries the response payload: the modal stays open with the error on the field
    assert refused.json() == {
        "response_action": "errors",
        "errors": {BlockId.EDIT_BODY: "The message can't be empty."},
    }
    reply = sock.submit(
        CallbackId.EDIT_MODAL, user=DANA, private_metadata=view["private_metadata"], values=values
    )
    assert reply.status == 200 and reply.body == ""  # closes the modal
    [mail] = sock.mailbox.wait_for(1)
    assert mail["Subject"] == "Demo"
    settle(sock)
    assert [d.origin for d in followup(sock, fid).drafts] == ["ai", "edit"]


def test_snooze_and_escalate_over_the_socket(sock):
    from tests.handlers.test_escalate import _escalate

    cards = seed_and_scan(sock)
    fid, card = cards[SARAH]
    assert sock.click(ActionId.CARD_SNOOZE, user=DANA, card=card, selected=f"{fid}:tomorrow").status == 200
    settle(sock)
    assert followup(sock, fid).state == "snoozed"
    fid, card = cards[OMAR]
    posted = len(sock.slack.of("chat.postMessage"))
    reply = _escalate(sock, fid, card)  # a click that opens a modal, then the modal's submission
    assert reply.status == 200 and reply.body == ""
    post = sock.slack.wait_for("chat.postMessage", posted + 1)[-1]
    assert post.args["channel"] == ESCALATION_CHANNEL
    assert "Escalated: Omar Haddad" in texts(post.args["blocks"])
    settle(sock)
    assert followup(sock, fid).state == "escalated"


def test_status_over_the_socket_answers_on_the_response_url(sock):
    seed_and_scan(sock)
    reply = sock.command("status", user=DANA)
    assert reply.status == 200
    [answer] = sock.slack.wait_for_response(1)
    assert_valid_blocks(answer["blocks"])
    shown = texts(answer["blocks"])
    assert "Sarah Chen" in shown and "Omar Haddad" in shown


@pytest.mark.parametrize("reason", ["refresh_requested", "warning"])
def test_a_refresh_request_reconnects_and_nothing_sent_around_it_is_lost_or_doubled(sock, socket, reason):
    seed_and_scan(sock)
    results: list = []

    def ask(i: int) -> None:
        results.append(sock.socket.deliver("slash_commands", _status_form(sock, i)))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
    for t in threads[:3]:
        t.start()
    socket.disconnect(reason, close_after=5.0)  # Slack closes the old socket some seconds later
    assert _home(sock).status == 200
    for t in threads[3:]:
        t.start()
    for t in threads:
        t.join(timeout=15)
    socket.wait_connected(hellos=2)
    assert len(results) == 6 and all(len(env.acks) == 1 and not env.failed for env in results)
    sock.slack.wait_for_response(6)
    assert sorted(sock.slack.responded) == [f"r{i}" for i in range(6)]  # each answered once
    time.sleep(0.5)
    assert len(sock.slack.responses) == 6
    assert len(sock.slack.wait_for("views.publish", 1)) == 1
    assert _wait_state(sock, "connected")["socket"] == "connected"
    deadline = time.monotonic() + 10
    while socket.open_connections() > 1 and time.monotonic() < deadline:
        time.sleep(0.05)  # the old one delivers until Slack closes it (5 s after the disconnect)
    assert socket.open_connections() == 1  # closed, not leaked


def test_a_dropped_connection_is_noticed_and_reconnected(sock, socket):
    seed_and_scan(sock)
    socket.drop()
    env = socket.deliver("events_api", _home_event("Evdrop1"), wait=20.0)  # Slack retries it till it's back
    socket.wait_connected(hellos=2)
    assert len(env.acks) == 1 and not env.failed
    assert len(sock.slack.wait_for("views.publish", 1)) == 1
    reply = sock.command("status", user=DANA)
    assert reply.status == 200
    _wait_state(sock, "connected")


def test_an_event_whose_ack_died_with_the_socket_is_retried_and_not_handled_twice(sock, socket):
    seed_and_scan(sock)
    socket.swallow_next_ack = True
    env = socket.deliver("events_api", _home_event("Evlost1"), wait=15.0)
    assert len(env.sent) == 2  # sent, its ack lost, sent again
    assert len(env.acks) == 1 and env.acks[0][0] != env.sent[0][0]  # acknowledged on the new connection
    time.sleep(0.5)
    assert len(sock.slack.of("views.publish")) == 1  # the retry was acknowledged, not handled again


def test_link_disabled_stops_reconnecting_says_so_and_comes_back_when_turned_on(
    settings, clock, slack, socket, mailbox, caplog
):
    h = _start(settings, clock, slack, socket, mailbox, retry_seconds=0.3)
    try:
        with caplog.at_level(logging.INFO):
            socket.disconnect("link_disabled", close_after=0.2)
            body = _wait_state(h, "disabled")
            time.sleep(1.0)
        ok, body = _state(h)
        assert not ok and body["socket"] == "disabled" and "link_disabled" in body["reason"]
        assert socket.opened.count("ok") == 1  # no new connection while it is off
        assert "access_denied" in socket.opened  # it keeps asking, quietly
        said = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(said) == 1 and "Turn Socket Mode back on" in said[0]

        socket.enabled = True
        socket.wait_connected(hellos=2)
        _wait_state(h, "connected")
        assert h.command("status", user=DANA).status == 200
    finally:
        h.stop()


def test_a_revoked_app_token_is_one_clear_error_and_no_reconnect_loop(sock, socket, caplog):
    with caplog.at_level(logging.INFO):
        socket.revoked = True
        socket.disconnect("refresh_requested", close_after=1.0)
        _wait_state(sock, "rejected")
        time.sleep(2.5)  # a few of the client's 1 s monitor turns
    ok, body = _state(sock)
    assert not ok and body["reason"] == "Slack rejected SLACK_APP_TOKEN: token_revoked"
    assert socket.opened.count("token_revoked") == 1  # asked once, not in a loop
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [
        "Socket Mode is down: Slack rejected SLACK_APP_TOKEN (token_revoked). Nothing from Slack reaches the "
        "app until a valid app-level token with connections:write is set and followup serve is restarted."
    ]


def test_a_malformed_envelope_is_acknowledged_logged_and_not_handled(sock, socket, caplog):
    fid, _ = seed_and_scan(sock)[OMAR]
    with caplog.at_level(logging.WARNING):
        env = socket.deliver("interactive", {"type": "block_actions", "user": "not an object", "actions": 7})
    assert len(env.acks) == 1  # acknowledged, so Slack does not send it again
    assert any("Malformed Slack request" in r.getMessage() for r in caplog.records)
    forged = socket.deliver(
        "slash_commands", {**_status_form(sock, 9), "response_url": "https://attacker.example/hook"}
    )
    assert len(forged.acks) == 1
    time.sleep(0.5)
    assert sock.slack.responses == [] and followup(sock, fid).state == "pending"


def _status_form(h: SocketHarness, i: int) -> dict:
    return {
        "command": "/followup",
        "text": "status",
        "user_id": DANA,
        "user_name": "dana",
        "channel_id": "DDANA",
        "team_id": "T0001",
        "team_domain": "acme",
        "api_app_id": "A0001",
        "trigger_id": f"trig.{i}",
        "response_url": h.slack.response_url(f"r{i}"),
        "token": "legacy",
    }


def _home_event(event_id: str) -> dict:
    return {
        "token": "legacy",
        "team_id": "T0001",
        "api_app_id": "A0001",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "event": {"type": "app_home_opened", "user": DANA, "tab": "home", "channel": "DHOME1"},
        "authorizations": [{"team_id": "T0001", "user_id": "UBOT", "is_bot": True}],
    }


def test_slack_unreachable_at_start_is_one_clear_error(harness):
    from slack_bolt import App

    from bot.errors import FollowupError
    from bot.services.deliveries import Deliveries
    from handlers.socket import SocketFront
    from tests.fakes.smtp import free_port

    closed = f"http://127.0.0.1:{free_port()}/api/"
    app = App(client=WebClient(token="xoxb-x", base_url=closed), token_verification_enabled=False)
    front = SocketFront(app, "xapp-1-A0001-1-x", deliveries=Deliveries(harness.deps.db, harness.clock))
    with pytest.raises(FollowupError, match="Slack could not be reached to open a Socket Mode connection"):
        front.connect()
