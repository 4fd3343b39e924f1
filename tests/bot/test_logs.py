"""The log format itself: exceptions as types and frames only, SQL errors without their parameters,
anything shaped like a token or an address scrubbed."""

from __future__ import annotations

import io
import json
import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot import logs
from bot.db import Database, make_engine


def _emit(record_args: dict) -> dict:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("followup.test.format")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.error(*record_args.pop("args"), **record_args)
    finally:
        logger.removeHandler(handler)
    return json.loads(stream.getvalue())


def test_an_exception_is_logged_as_types_and_frames_without_its_message():
    try:
        try:
            raise KeyError("Zebulon Quackenbush <zeb@lead.example>")
        except KeyError as inner:
            raise ValueError("the body was: SECRET-BODY") from inner
    except ValueError as exc:
        out = _emit({"args": ("unexpected error",), "exc_info": exc, "extra": {"error_id": "ab12cd34"}})
    flat = json.dumps(out)
    assert "Zebulon" not in flat and "SECRET" not in flat and "zeb@" not in flat
    assert [c["type"] for c in out["exc"]["chain"]] == ["builtins.ValueError", "builtins.KeyError"]
    assert "test_logs.py" in out["exc"]["chain"][0]["at"][-1]
    assert out["error_id"] == "ab12cd34" and out["level"] == "ERROR"


def test_tokens_and_addresses_in_a_message_are_scrubbed():
    out = _emit(
        {
            "args": (
                "auth with %s for %s failed, password=%s",
                "xoxb-1234-abcd",
                "lead@example.com",
                "hunter2",
            ),
            "extra": {"followup_id": 7, "kind": "send", "ignored": "lead@example.com"},
        }
    )
    assert out["msg"] == "auth with <secret> for <email> failed, <secret>"
    assert out["followup_id"] == 7 and out["kind"] == "send" and "ignored" not in out


def test_sql_errors_never_carry_their_parameters(database_url):
    db = Database(make_engine(database_url))
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE probe (id INTEGER PRIMARY KEY, body TEXT)"))
    with pytest.raises(IntegrityError) as caught, db.engine.begin() as conn:
        for _ in range(2):
            conn.execute(
                text("INSERT INTO probe (id, body) VALUES (:id, :body)"), {"id": 1, "body": "SECRET-BODY"}
            )
    assert "SECRET-BODY" not in str(caught.value)
    assert "hidden" in str(caught.value)
    db.engine.dispose()
