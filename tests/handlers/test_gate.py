"""The HTTP gate, as an attacker and a careless client meet it: signature before parsing, size, shape,
identity from the signed user only, and a real Slack user for every person picked in a modal."""

from __future__ import annotations

import json
import logging
import re
import time
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from blocks.ids import ActionId, BlockId, CallbackId
from bot.models import AuditEvent, FollowUp, WorkItem
from handlers.gate import MAX_BODY_BYTES
from tests.builders import OMAR, SARAH
from tests.conftest import DANA, MANAGER
from tests.handlers.flow import followup, seed_and_scan, settle

FORM = "application/x-www-form-urlencoded"


def _counts(h) -> tuple[int, int, int]:
    with h.deps.db.session() as s:
        return (
            s.scalar(select(func.count()).select_from(FollowUp)),
            s.scalar(select(func.count()).select_from(AuditEvent)),
            s.scalar(select(func.count()).select_from(WorkItem)),
        )


def _refusals(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "handlers.gate"]


@pytest.mark.parametrize(
    "body",
    [b"payload=%7B", b"payload=null", b"\xff\xfe\x00garbage", b"payload=" + b"%5B" * 5000, b""],
    ids=["open-brace", "null", "not-utf8", "deep", "empty"],
)
def test_unsigned_bodies_get_401_with_one_line_and_no_traceback(harness, caplog, body):
    caplog.set_level(logging.INFO)
    before = _counts(harness)
    reply = harness.request("POST", "/slack/events", body, {"Content-Type": FORM})
    assert reply.status == 401
    # the app's own lines (waitress may warn about its queue on a busy machine; that is not ours)
    ours = [r for r in caplog.records if not r.name.startswith("waitress")]
    records = [r for r in ours if r.levelno >= logging.WARNING]
    assert len(records) == 1 and records[0].exc_info is None
    assert "not signed" in records[0].getMessage()
    assert _counts(harness) == before


def test_bad_signature_and_stale_timestamp_get_401(harness, caplog):
    body = urlencode({"payload": "{"})
    assert harness.signed_post(body, FORM, signature="v0=" + "0" * 64).status == 401
    assert harness.signed_post(body, FORM, timestamp=int(time.time()) - 3600).status == 401
    assert harness.signed_post(body, FORM, timestamp=-5).status == 401
    assert all(r.exc_info is None for r in _refusals(caplog))


def test_an_oversized_body_gets_413_before_anything_reads_it(harness):
    big = "x" * (MAX_BODY_BYTES + 1)
    assert harness.signed_post(big, FORM).status == 413
    assert harness.signed_post(big, FORM, sign=False).status == 413


@pytest.mark.parametrize(
    ("body", "content_type", "names"),
    [
        ("payload=%7B", FORM, "payload is not valid JSON"),
        ("payload=null", FORM, "not a JSON object"),
        ("payload=%5B%5D", FORM, "not a JSON object"),
        ("payload=1&payload=2", FORM, "more than once"),
        ("payload=%ff%fe", FORM, "URL encoding"),
        ("a=1&&b", FORM, "URL encoding"),
        ("{}", "text/plain", "content type"),
        ("[1]", "application/json", "not a JSON object"),
        ('{"type": "view_closed"}', "application/json", "not a request type"),
    ],
)
def test_signed_malformed_bodies_get_400_naming_the_problem(harness, caplog, body, content_type, names):
    before = _counts(harness)
    reply = harness.signed_post(body, content_type)
    assert reply.status == 400 and names in reply.body
    assert _counts(harness) == before
    assert all(r.exc_info is None for r in caplog.records)


def test_signed_non_utf8_body_is_400(harness):
    reply = harness.signed_post(b"payload=\xff\xfe", FORM)
    assert reply.status == 400 and "UTF-8" in reply.body


def _click_payload(fid: int, user: dict | None, **extra) -> dict:
    payload = {
        "type": "block_actions",
        "user": user,
        "trigger_id": "trig.1",
        "channel": {"id": "DDANA"},
        "message": {"ts": "1700000000.000001"},
        "actions": [{"action_id": ActionId.CARD_EDIT, "value": str(fid), "type": "button"}],
    }
    payload.update(extra)
    return payload


@pytest.mark.parametrize(
    "user",
    [None, {}, {"id": None}, {"id": 42}, {"id": ""}, {"id": "UX> <!channel>"}, {"id": "udana"}],
    ids=["none", "empty", "null-id", "int-id", "blank", "forged", "lowercase"],
)
def test_a_click_without_a_well_formed_signed_user_is_refused_and_opens_nothing(harness, user):
    fid, _ = seed_and_scan(harness)[SARAH]
    before = _counts(harness)
    reply = harness.interact(_click_payload(fid, user))
    assert reply.status == 400
    settle(harness)
    assert harness.slack.of("views.open") == []
    assert _counts(harness) == before


def test_a_response_url_outside_slack_is_refused(harness):
    fid, _ = seed_and_scan(harness)[SARAH]
    payload = _click_payload(fid, {"id": DANA}, response_url="https://evil.example/steal")
    reply = harness.interact(payload)
    assert reply.status == 400 and "response_url" in reply.body
    command = {
        "command": "/followup",
        "text": "status",
        "user_id": DANA,
        "channel_id": "DDANA",
        "response_url": "http://169.254.169.254/latest",
    }
    assert harness.signed_post(urlencode(command), FORM).status == 400
    settle(harness)
    assert harness.slack.responses == []


def test_unknown_follow_up_ids_and_odd_values_are_answered_politely_or_refused(harness):
    seed_and_scan(harness)
    before = _counts(harness)
    assert harness.click(ActionId.CARD_APPROVE, user=DANA, card=("DDANA", "1.2"), value="abc").status == 400
    assert harness.click(ActionId.CARD_APPROVE, user=DANA, card=("DDANA", "1.2"), value="-1").status == 400
    bogus = harness.click(ActionId.CARD_SNOOZE, user=DANA, card=("DDANA", "1.2"), selected="5:forever")
    assert bogus.status == 400
    # well formed, but no such follow-up: acknowledged, and the person is told
    assert harness.click(ActionId.CARD_APPROVE, user=DANA, card=("DDANA", "1.2"), value="99999").status == 200
    settle(harness)
    told = harness.slack.wait_for_response()
    assert "no longer exists" in told[-1]["text"]
    follow_ups, audits, _ = _counts(harness)
    assert (follow_ups, audits) == before[:2]
    assert harness.mailbox.messages == []


def test_events_the_app_does_not_handle_are_acknowledged_unread(harness):
    reply = harness.event({"type": "message", "user": {"nested": ["odd"]}, "text": "<!channel>"})
    assert reply.status == 200
    assert harness.event({"type": "app_home_opened", "user": None, "tab": "home"}).status == 400
    assert harness.slack.of("views.publish") == []


def test_url_verification_and_ssl_check_still_work(harness):
    reply = harness.signed_post(
        json.dumps({"type": "url_verification", "challenge": "abc_123", "token": "x"}), "application/json"
    )
    assert reply.status == 200 and "abc_123" in reply.body
    assert harness.signed_post("ssl_check=1&token=x", FORM).status == 200


def _escalate_to(harness, person: object):
    fid, card = seed_and_scan(harness)[OMAR]
    harness.click(ActionId.CARD_ESCALATE, user=DANA, card=card, value=str(fid))
    view = harness.slack.wait_for("views.open")[-1].args["view"]
    values = {
        BlockId.ESCALATE_USER: {
            ActionId.ESCALATE_USER_INPUT: {"type": "users_select", "selected_user": person}
        },
        BlockId.ESCALATE_REASON: {ActionId.ESCALATE_REASON_INPUT: {"type": "plain_text_input", "value": "x"}},
    }
    reply = harness.submit(
        CallbackId.ESCALATE_MODAL, user=DANA, private_metadata=view["private_metadata"], values=values
    )
    return fid, reply


def test_a_forged_escalation_target_is_refused_before_it_is_stored_or_rendered(harness):
    fid, reply = _escalate_to(harness, "UX> <!channel> <https://evil.example|x")
    assert reply.status == 400
    assert followup(harness, fid).state == "pending"
    settle(harness)
    for call in harness.slack.calls:
        assert "<!channel>" not in json.dumps(call.args)


@pytest.mark.parametrize("who", ["UNOBODY", "UGONE", "UBOTUSER"])
def test_escalating_to_someone_who_is_not_an_active_person_is_refused_inline(harness, who):
    harness.slack.add_user("UGONE", "gone@followup-demo.com").deleted = True
    harness.slack.add_user("UBOTUSER", "bot@followup-demo.com").is_bot = True
    fid, reply = _escalate_to(harness, who)
    assert reply.status == 200
    errors = reply.json()["errors"]
    assert "active member" in errors[BlockId.ESCALATE_USER]
    fu = followup(harness, fid)
    assert fu.state == "pending" and fu.escalated_to is None


def test_an_unexpected_error_gives_the_person_an_id_that_is_also_in_the_log(harness, caplog):
    fid, card = seed_and_scan(harness)[SARAH]
    harness.slack.fail_methods["views.open"] = "internal_error"
    harness.click(ActionId.CARD_EDIT, user=DANA, card=card, value=str(fid), response="oops")
    [told] = harness.slack.wait_for_response()
    ref = re.search(r"error id `([0-9a-f]{8})`", told["text"])
    assert ref, told["text"]
    assert "nothing was sent" not in told["text"].lower()  # not known here, so never said
    logged = [r for r in caplog.records if getattr(r, "error_id", None) == ref.group(1)]
    assert len(logged) == 1 and logged[0].exc_info is not None


def test_an_unexpected_error_in_a_modal_keeps_it_open_with_the_error_id(harness, caplog):
    harness.slack.fail_methods["users.info"] = "internal_error"  # Slack fails while the person is checked
    fid, reply = _escalate_to(harness, MANAGER)
    assert reply.status == 200
    said = reply.json()["errors"][BlockId.ESCALATE_USER]
    ref = re.search(r"error id ([0-9a-f]{8})", said)
    assert ref, said
    assert [r for r in caplog.records if getattr(r, "error_id", None) == ref.group(1)]
    assert followup(harness, fid).state == "pending"
