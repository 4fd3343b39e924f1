"""What `followup serve` writes to its log over a whole loop (scan, card, edit, send, CRM log) and under
hostile requests: JSON lines carrying follow-up ids, and none of the tokens, the email body or the lead's
details, even at DEBUG."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import update

from blocks.ids import ActionId, BlockId, CallbackId
from bot.db import Database, make_engine, migrate
from bot.models import FollowUp
from crm.tables import CrmContact, CrmEngagement
from tests.builders import stale_book
from tests.conftest import DANA, SIGNING_SECRET
from tests.process import AppProcess
from tests.test_replicas import process_env, replica_config, wait_until

BODY = "Zebulon, the SECRET-BODY-7f3a pricing sheet is attached; can we talk Thursday?"
SUBJECT = "SECRET-SUBJECT-19c2"
NOTE = "SECRET-NOTE-55d1: the CFO hates the current vendor"
CONTACT = {"first_name": "Zebulon", "last_name": "Quackenbush", "email": "zebulon.q@secret-lead.example"}
PHONE = "+1 555 0199 4242"


def test_a_full_loop_logs_ids_and_no_secrets_or_lead_text(database_url, tmp_path, slack, mailbox):
    db = Database(make_engine(database_url))
    migrate(db.engine)
    [cid] = stale_book(db, datetime.now(UTC), 1)
    with db.session() as s:
        s.execute(update(CrmContact).where(CrmContact.id == cid).values(**CONTACT, phone=PHONE))
        s.add(
            CrmEngagement(
                id="note-1",
                type="note",
                occurred_at=datetime.now(UTC),
                contact_id=cid,
                owner_id="501",
                body=NOTE,
            )
        )
    env = process_env(database_url, slack, mailbox[0], replica_config(tmp_path)) | {"LOG_LEVEL": "DEBUG"}
    slack.fail_methods["chat.getPermalink"] = "internal_error"  # an error path on the way
    app = AppProcess("logs", env, slack=slack, signing_secret=SIGNING_SECRET, logs=tmp_path).wait_healthy()
    try:
        fu = wait_until(lambda: _card(db), what="a posted card")
        fid, card = fu
        # hostile and broken requests on the way
        app.request(
            "POST", "/slack/events", b"payload=%7B", {"Content-Type": "application/x-www-form-urlencoded"}
        )
        app.click(ActionId.CARD_APPROVE, user=DANA, card=card, value="99999")
        app.interact({"type": "block_actions", "user": {"id": None}, "actions": [{"action_id": "x"}]})
        # edit and send
        app.click(ActionId.CARD_EDIT, user=DANA, card=card, value=str(fid))
        view = slack.wait_for("views.open", timeout=15)[-1].args["view"]
        values = {
            BlockId.EDIT_SUBJECT: {
                ActionId.EDIT_SUBJECT_INPUT: {"type": "plain_text_input", "value": SUBJECT}
            },
            BlockId.EDIT_BODY: {ActionId.EDIT_BODY_INPUT: {"type": "plain_text_input", "value": BODY}},
        }
        reply = app.submit(
            CallbackId.EDIT_MODAL, user=DANA, private_metadata=view["private_metadata"], values=values
        )
        assert reply.status == 200
        [mail] = mailbox[1].wait_for(1, timeout=20)
        assert BODY in mail.get_content()
        wait_until(lambda: _logged(db, fid), what="the CRM log")
    finally:
        assert app.stop() == 0
    log = app.log_path.read_text()

    for secret in (slack.token, SIGNING_SECRET, BODY, SUBJECT, NOTE, PHONE, *CONTACT.values()):
        assert secret not in log, f"{secret!r} is in the log"
    assert "SECRET" not in log and "Quackenbush" not in log and "Traceback" not in log
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    about = {r["msg"] for r in records if r.get("followup_id") == fid}
    assert {"card posted (card)", "sent", "written back to the CRM"} <= about
    assert any(r["logger"] == "handlers.gate" and r["level"] == "WARNING" for r in records)
    assert not any(r["logger"].startswith("slack_bolt") and r["level"] == "DEBUG" for r in records)
    # every line is a JSON record or one of the few sentences the command prints for a person
    for line in log.splitlines():
        assert line.startswith("{") or line.startswith("followup "), line


def _card(db: Database) -> tuple[int, tuple[str, str]] | None:
    with db.session() as s:
        fu = s.query(FollowUp).first()
        if fu is None or not fu.cards:
            return None
        return fu.id, (fu.cards[0].channel, fu.cards[0].ts)


def _logged(db: Database, fid: int) -> bool:
    with db.session() as s:
        fu = s.get(FollowUp, fid)
        return bool(fu and fu.crm_engagement_id)
