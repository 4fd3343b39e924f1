"""Thousands of malformed requests against the running app: correctly signed ones (wrong types, missing
fields, unknown ids, odd encodings, large bodies) are never answered 5xx and change nothing: no follow-up,
audit row or draft, no email, no CRM write; unsigned ones are all 401."""

from __future__ import annotations

import copy
import json
import logging
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from blocks.ids import ActionId, BlockId, CallbackId
from bot.models import AuditEvent, Draft, FollowUp
from crm.tables import CrmEngagement
from tests.builders import OMAR, SARAH
from tests.conftest import ADMIN, DANA, MANAGER, OTHER
from tests.handlers.flow import seed_and_scan, settle

FORM, JSON = "application/x-www-form-urlencoded", "application/json"
STRANGER = "UFUZZER01"  # well formed, a real workspace member, allowed to decide nothing
AUTHORIZED = (DANA, ADMIN, MANAGER, OTHER)
PRINTABLE = st.characters(min_codepoint=32, max_codepoint=126)
FUZZ = settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
HOSTILE = [
    "<!channel>",
    "<!here>",
    "<@U0123ABC>",
    "UX> <!channel> <https://evil.example|x",
    "lead@example.com, attacker@evil.example",
    "subject\r\nBcc: attacker@evil.example",
    "\u202eevil\u202c",
    "💥" * 3,
    "9" * 5000,
    "",
    " ",
    "0",
    "-1",
    "1.5",
    "99999999999999999999",
    "{",
    "null",
    "%7B",
]
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(HOSTILE),
)
json_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, template: dict[str, Any]) -> dict[str, Any]:
    """The template with one to three of its fields deleted, replaced by any JSON value, or given junk."""
    obj = copy.deepcopy(template)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(obj)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = obj
        for key in path[:-1]:
            parent = parent[key]
        op = draw(st.sampled_from(["delete", "replace", "replace", "junk"]))
        if op == "delete":
            del parent[path[-1]]
        elif op == "replace":
            parent[path[-1]] = draw(json_values)
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(json_values)
    return obj


def _world(h) -> tuple:
    """Everything a request could wrongly change."""
    settle(h)
    with h.deps.db.session() as s:
        follow_ups = s.execute(
            select(FollowUp.id, FollowUp.state, FollowUp.version).order_by(FollowUp.id)
        ).all()
        return (
            [tuple(row) for row in follow_ups],
            s.scalar(select(func.count()).select_from(AuditEvent)),
            s.scalar(select(func.count()).select_from(Draft)),
            s.scalar(select(func.count()).select_from(CrmEngagement)),
            len(h.mailbox.messages),
        )


def _templates(h, fid: int, card: tuple[str, str]) -> dict[str, dict[str, Any]]:
    user = {"id": STRANGER, "username": "fuzzer", "team_id": "T0001"}
    click = {
        "type": "block_actions",
        "user": user,
        "team": {"id": "T0001", "domain": "acme"},
        "api_app_id": "A0001",
        "trigger_id": "trig.1",
        "container": {"type": "message", "message_ts": card[1], "channel_id": card[0]},
        "channel": {"id": card[0], "name": "directmessage"},
        "message": {"ts": card[1], "type": "message", "text": "card"},
        "response_url": h.slack.response_url("fuzz"),
        "actions": [
            {"action_id": ActionId.CARD_APPROVE.value, "block_id": "b", "type": "button", "value": str(fid)}
        ],
    }
    meta = json.dumps({"followup_id": fid, "channel": card[0], "ts": card[1]})
    submission = {
        "type": "view_submission",
        "user": user,
        "team": {"id": "T0001"},
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": CallbackId.EDIT_MODAL.value,
            "private_metadata": meta,
            "state": {
                "values": {
                    BlockId.EDIT_SUBJECT.value: {ActionId.EDIT_SUBJECT_INPUT.value: {"value": "Hello"}},
                    BlockId.EDIT_BODY.value: {ActionId.EDIT_BODY_INPUT.value: {"value": "Body"}},
                    BlockId.ESCALATE_USER.value: {
                        ActionId.ESCALATE_USER_INPUT.value: {"selected_user": "UNOBODY"}
                    },
                    BlockId.DISMISS_REASON.value: {
                        ActionId.DISMISS_REASON_INPUT.value: {"selected_option": {"value": "other"}}
                    },
                }
            },
        },
    }
    command = {
        "command": "/followup",
        "text": "status",
        "user_id": STRANGER,
        "channel_id": "DFUZZ",
        "team_id": "T0001",
        "trigger_id": "trig.2",
        "response_url": h.slack.response_url("fuzz"),
    }
    event = {
        "type": "event_callback",
        "team_id": "T0001",
        "event_id": "Ev1",
        "event_time": 1,
        "event": {"type": "app_home_opened", "user": STRANGER, "tab": "home"},
    }
    return {"click": click, "submission": submission, "command": command, "event": event}


def _encode(kind: str, obj: dict[str, Any]) -> tuple[str, str]:
    if kind in ("click", "submission"):
        return urlencode({"payload": json.dumps(obj)}), FORM
    if kind == "command":
        flat = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in obj.items()}
        return urlencode(flat), FORM
    return json.dumps(obj), JSON


def _harmless(obj: Any) -> bool:
    """Leave out the one-in-billions draw that makes a request from a person who may decide."""
    text = json.dumps(obj)
    return not any(uid in text for uid in AUTHORIZED)


def test_signed_malformed_requests_never_5xx_and_change_nothing(harness, caplog):
    caplog.set_level(logging.WARNING)
    ids = seed_and_scan(harness)
    harness.slack.add_user(STRANGER, "fuzzer@followup-demo.com")
    fid, card = ids[SARAH]
    templates = _templates(harness, fid, card)
    templates["click_other"] = copy.deepcopy(templates["click"])
    templates["click_other"]["actions"][0]["value"] = str(ids[OMAR][0])
    before = _world(harness)
    statuses: dict[int, int] = {}

    kinds = st.sampled_from(sorted(templates))

    @FUZZ
    @given(data=st.data())
    def structured(data: st.DataObject) -> None:
        kind = data.draw(kinds)
        template = copy.deepcopy(templates[kind])
        if kind.startswith("click"):  # every button, not only Approve
            template["actions"][0]["action_id"] = data.draw(st.sampled_from([a.value for a in ActionId]))
        if kind == "submission":
            template["view"]["callback_id"] = data.draw(st.sampled_from([c.value for c in CallbackId]))
        obj = data.draw(mutated(template))
        if not _harmless(obj):
            return
        body, content_type = _encode(kind.removesuffix("_other"), obj)
        reply = harness.signed_post(body, content_type)
        statuses[reply.status] = statuses.get(reply.status, 0) + 1
        assert reply.status < 500, (reply.status, body[:300])

    raw_bodies = st.one_of(
        st.binary(max_size=300).map(lambda b: (b, FORM)),
        st.text(max_size=300).map(lambda t: (t.encode("utf-8", "surrogatepass"), FORM)),
        st.text(max_size=300).map(lambda t: (b"payload=" + t.encode("utf-8", "surrogatepass"), FORM)),
        json_values.map(lambda v: (b"payload=" + urlencode({"x": json.dumps(v)}).encode()[2:], FORM)),
        json_values.map(lambda v: (json.dumps(v).encode(), JSON)),
        st.binary(max_size=300).map(lambda b: (b, JSON)),
        st.tuples(st.binary(max_size=100), st.sampled_from(["text/plain", "", "multipart/form-data"])),
        st.integers(1, 3000).map(lambda n: (b"payload=" + b"%5B" * n, FORM)),
        st.integers(1, 3000).map(lambda n: (b"[" * n, JSON)),
    )

    @settings(FUZZ, max_examples=900)
    @given(raw=raw_bodies)
    def raw(raw: tuple[bytes, str]) -> None:
        body, content_type = raw
        if not _harmless(body.decode("utf-8", "replace")):
            return
        reply = harness.signed_post(body, content_type)
        statuses[reply.status] = statuses.get(reply.status, 0) + 1
        assert reply.status < 500, (reply.status, body[:300])

    structured()
    raw()
    for size in (200_000, 999_000, 1_000_001, 3_000_000):  # large bodies: refused or answered, never 5xx
        body = urlencode({"payload": json.dumps({"type": "block_actions", "pad": "x" * size})})[:size]
        assert harness.signed_post(body, FORM).status in (400, 413)

    assert sum(statuses.values()) >= 1400 and statuses.get(400, 0) > 500, statuses
    assert _world(harness) == before
    assert harness.mailbox.messages == []
    crashes = [r for r in caplog.records if r.exc_info or "unexpected" in r.getMessage()]
    assert crashes == [], [r.getMessage() for r in crashes[:3]]


def test_unsigned_or_badly_signed_requests_are_all_401(harness, caplog):
    caplog.set_level(logging.WARNING)
    before = _world(harness)
    seen = {"n": 0}

    headers_strategy = st.one_of(
        st.just({}),
        st.fixed_dictionaries({"X-Slack-Signature": st.text(alphabet=PRINTABLE, max_size=70)}),
        st.fixed_dictionaries(
            {
                "X-Slack-Request-Timestamp": st.integers(0, 2**40).map(str),
                "X-Slack-Signature": st.from_regex(r"v0=[0-9a-f]{64}", fullmatch=True),
            }
        ),
    )

    @settings(FUZZ, max_examples=600)
    @given(
        body=st.one_of(
            st.binary(max_size=400),
            st.sampled_from([b"payload=%7B", b"payload=null", b"\xff\xfe\xfd", b"payload=" + b"%5B" * 2000]),
        ),
        headers=headers_strategy,
        content_type=st.sampled_from([FORM, JSON, "text/plain"]),
    )
    def unsigned(body: bytes, headers: dict[str, str], content_type: str) -> None:
        reply = harness.request("POST", "/slack/events", body, {**headers, "Content-Type": content_type})
        seen["n"] += 1
        assert reply.status == 401, (reply.status, body[:100], headers)

    unsigned()
    assert seen["n"] >= 500
    assert _world(harness) == before
    refusals = [r for r in caplog.records if r.name == "handlers.gate"]
    assert len(refusals) == seen["n"] and all(r.exc_info is None for r in refusals)
    assert [r for r in caplog.records if r.name != "handlers.gate" and r.levelno >= logging.WARNING] == []
