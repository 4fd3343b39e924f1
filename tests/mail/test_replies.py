"""Replies read from a real IMAP server (Dovecot, started by `.ci/run`; `FOLLOWUP_TEST_IMAP` points at it):
matched by header and by address, bounces and auto-replies recognised, and a restart in the middle of a poll
that neither loses nor double-counts a message."""

from __future__ import annotations

import base64
import imaplib
import itertools
import os
import time
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select

from blocks.ids import ActionId
from bot.adapters.imap import MailboxConfig
from bot.models import FollowUp, InboundMessage, MailCursor, Suppression
from bot.services import replies
from tests.blockkit import texts
from tests.builders import OMAR, SARAH
from tests.conftest import DANA
from tests.handlers.flow import followup, last_update_for, seed_and_scan, settle
from tests.mail.messages import bounce_report

_names = itertools.count(1)


@pytest.fixture
def imap() -> MailboxConfig:
    url = os.environ.get("FOLLOWUP_TEST_IMAP")
    if not url:
        pytest.skip("FOLLOWUP_TEST_IMAP is not set (bash .ci/run starts Dovecot and sets it)")
    u = urlparse(url)
    box = f"test{os.getpid()}x{next(_names)}x{int(time.time() * 1000) % 10**7}"
    cfg = MailboxConfig(
        host=u.hostname or "127.0.0.1",
        port=u.port or 143,
        username=(u.username or "").replace("%40", "@"),
        password=u.password or "",
        tls=False,
        mailbox=box,
    )
    conn = imaplib.IMAP4(cfg.host, cfg.port)
    conn.login(cfg.username, cfg.password)
    conn.create(box)
    conn.logout()
    return cfg


def deliver(cfg: MailboxConfig, raw: str) -> None:
    """Put a message in the mailbox, as the mail server would on delivery."""
    conn = imaplib.IMAP4(cfg.host, cfg.port)
    conn.login(cfg.username, cfg.password)
    conn.append(cfg.mailbox, None, None, raw.replace("\n", "\r\n").encode())
    conn.logout()


def sent_to_sarah(harness):  # type: ignore[no-untyped-def]
    cards = seed_and_scan(harness)
    fid, card = cards[SARAH]
    harness.click(ActionId.CARD_APPROVE, user=DANA, card=card, value=str(fid))
    harness.mailbox.wait_for(1)
    settle(harness)
    return cards, followup(harness, fid)


def waiting_touch(harness, sent: FollowUp) -> int:  # type: ignore[no-untyped-def]
    """Another follow-up for the same contact, waiting for review (as a later touch would)."""
    from bot.models import Draft

    now = harness.clock.now()
    with harness.deps.db.session() as s:
        later = FollowUp(
            dedupe_key=f"{sent.dedupe_key}:touch-2", rule=sent.rule, reason="Second touch",
            contact_id=sent.contact_id, contact_email=sent.contact_email, contact_name=sent.contact_name,
            owner_email=sent.owner_email,
            owner_slack_id=sent.owner_slack_id, state="pending", version=0, triggered_at=now, created_at=now,
            updated_at=now,
        )  # fmt: skip
        s.add(later)
        s.flush()
        s.add(Draft(followup_id=later.id, origin="ai", author="offline", summary="s", classification="c",
                    urgency="low", missing_information=[], review_flags=[], sources=[], subject="S", body="B",
                    created_at=now))  # fmt: skip
        return later.id


def test_a_reply_by_header_stops_what_waits_for_the_contact_and_tells_the_owner(harness, imap):
    _, fu = sent_to_sarah(harness)
    second = waiting_touch(harness, fu)
    deliver(
        imap,
        f"""From: Sarah Chen <sarah.chen@northwind.example>
To: dana.whitfield@followup-demo.com
Subject: Re: {fu.current_draft.subject}
Message-ID: <r1@northwind.example>
In-Reply-To: {fu.message_id}
Date: Wed, 25 Nov 2026 15:00:00 +0000

Thursday works, talk then.

On Tue, Dana wrote:
> Would Thursday work?
""",
    )
    result = replies.poll(harness.deps, imap)
    assert result.read == 1 and result.kinds == {"reply": 1} and result.unmatched == 0
    settle(harness)
    with harness.deps.db.session() as s:
        [row] = s.scalars(select(InboundMessage)).all()
        assert (row.kind, row.followup_id, row.matched_by) == ("reply", fu.id, "header")
        assert row.snippet == "Thursday works, talk then."
    dms = [
        c
        for c in harness.slack.of("chat.postMessage")
        if c.args.get("channel") == DANA and "replied" in str(c.args.get("text"))
    ]
    assert dms and "Thursday works, talk then." in dms[-1].args["text"]
    stopped = followup(harness, second)
    assert stopped.state == "resolved"
    assert stopped.outcome_reason == "Sarah Chen replied just now (Wed 25 Nov 15:00) — follow-up stopped"
    assert followup(harness, fu.id).state == "sent"  # what was sent stays sent
    sent_card = (fu.cards[0].channel, fu.cards[0].ts)
    blocks = last_update_for(harness, sent_card)  # the sent card shows what came back
    assert "Sarah Chen replied Wed 25 Nov 15:00: “Thursday works, talk then.”" in texts(blocks)
    assert replies.poll(harness.deps, imap).read == 0  # the cursor moved: nothing read twice


def test_a_reply_holding_nul_characters_is_stored_and_shown_without_them(harness, imap):
    """NUL is legal in an encoded header word and in a base64 body, but PostgreSQL stores no NUL."""
    _, fu = sent_to_sarah(harness)
    word = lambda text: "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="  # noqa: E731
    body = base64.b64encode(b"Thursday\x00 works, talk then.").decode()
    name, subject = word("Sarah\x00 Chen"), word("Re: the\x00 plan")
    deliver(
        imap,
        f"""From: {name} <sarah.chen@northwind.example>
Subject: {subject}
Message-ID: <r-nul@northwind.example>
In-Reply-To: {fu.message_id}
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

{body}
""",
    )
    assert replies.poll(harness.deps, imap).kinds == {"reply": 1}
    settle(harness)
    with harness.deps.db.session() as s:
        [row] = s.scalars(select(InboundMessage)).all()
        assert (row.followup_id, row.snippet) == (fu.id, "Thursday works, talk then.")
    assert any("Thursday works, talk then." in str(c.args.get("text"))
               for c in harness.slack.of("chat.postMessage") if c.args.get("channel") == DANA)  # fmt: skip


def test_a_reply_without_our_headers_is_matched_by_address_and_stops_what_waits(harness, imap):
    cards, fu = sent_to_sarah(harness)
    # a second follow-up waits for Sarah (say a later touch): her reply must stop it too
    with harness.deps.db.session() as s:
        other = s.get(FollowUp, cards[OMAR][0])
        assert other is not None
    deliver(
        imap,
        """From: SARAH.CHEN@northwind.example
Subject: quick question
Message-ID: <r2@northwind.example>

Can you send the security questionnaire?
""",
    )
    result = replies.poll(harness.deps, imap)
    assert result.kinds == {"reply": 1}
    with harness.deps.db.session() as s:
        row = s.scalars(select(InboundMessage)).one()
        assert (row.followup_id, row.matched_by) == (fu.id, "address")
    assert followup(harness, cards[OMAR][0]).state == "pending"  # someone else's follow-up is untouched


def test_a_hard_bounce_suppresses_the_address_and_an_auto_reply_stops_nothing(harness, imap):
    _, fu = sent_to_sarah(harness)
    deliver(
        imap,
        f"""From: Sarah Chen <sarah.chen@northwind.example>
Subject: Out of Office: {fu.current_draft.subject}
Auto-Submitted: auto-replied
Message-ID: <ooo@northwind.example>
In-Reply-To: {fu.message_id}
Date: Wed, 25 Nov 2026 15:00:00 +0000

I am out of the office and will be back on Monday, 7 December.
""",
    )
    deliver(imap, bounce_report("sarah.chen@northwind.example", fu.message_id, fu.current_draft.subject))
    result = replies.poll(harness.deps, imap)
    assert result.kinds == {"auto_reply": 1, "bounce": 1}
    settle(harness)
    with harness.deps.db.session() as s:
        ooo, dsn = s.scalars(select(InboundMessage).order_by(InboundMessage.uid)).all()
        assert ooo.kind == "auto_reply" and str(ooo.return_date) == "2026-12-07"
        assert (dsn.kind, dsn.bounce, dsn.followup_id) == ("bounce", "hard", fu.id)
        [stop] = s.scalars(select(Suppression)).all()
        assert (stop.email, stop.reason) == ("sarah.chen@northwind.example", "bounced")
        assert "5.1.1" in stop.detail


def test_a_restart_in_the_middle_of_a_poll_neither_loses_nor_double_counts(harness, imap, monkeypatch):
    sent_to_sarah(harness)
    for n in range(5):
        deliver(
            imap, f"From: someone{n}@elsewhere.example\nSubject: hello {n}\nMessage-ID: <m{n}@x>\n\nHi.\n"
        )
    assert replies.poll(harness.deps, imap, limit=2).read == 2  # stopped after two
    with harness.deps.db.session() as s:
        assert s.get(MailCursor, imap.mailbox).last_uid == 2

    # the next poll dies while handling the third message, before its transaction commits
    def dies(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("process killed mid-message")

    with monkeypatch.context() as m:
        m.setattr(replies, "_move_cursor", dies)
        with pytest.raises(RuntimeError):
            replies.poll(harness.deps, imap)
    with harness.deps.db.session() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 2  # nothing of the third kept
        assert s.get(MailCursor, imap.mailbox).last_uid == 2
    assert replies.poll(harness.deps, imap).read == 3  # after the restart: the other three, once each
    assert replies.poll(harness.deps, imap).read == 0
    with harness.deps.db.session() as s:
        assert s.scalars(select(InboundMessage.uid).order_by(InboundMessage.uid)).all() == [1, 2, 3, 4, 5]


def test_the_scheduled_poll_reads_once_a_tick_and_a_mailbox_that_is_down_is_only_logged(
    harness, imap, caplog
):
    from dataclasses import replace
    from datetime import timedelta

    from bot import jobs

    deps = replace(harness.deps, mailbox=imap)
    deliver(imap, "From: a@elsewhere.example\nSubject: hi\nMessage-ID: <t1@x>\n\nHello.\n")
    assert jobs.run_reply_poll(deps, holder="replica-a").read == 1
    assert jobs.run_reply_poll(deps, holder="replica-b") is None  # another replica, same tick: not its turn
    harness.clock.advance(timedelta(minutes=5))
    down = replace(deps, mailbox=replace(imap, password="wrong"))
    assert jobs.run_reply_poll(down, holder="replica-a") is None
    assert "replies mailbox not read: Could not log in to IMAP" in caplog.text
    assert "wrong" not in caplog.text  # the password never reaches the log


def test_imap_settings_need_a_login(settings):
    from app import mailbox_config
    from bot.config import FollowupConfig
    from bot.errors import ConfigError

    assert mailbox_config(settings, FollowupConfig()) is None  # no IMAP_HOST: no reply reading
    with pytest.raises(ConfigError, match="IMAP_USERNAME is not set"):
        mailbox_config(settings.model_copy(update={"imap_host": "imap.example"}), FollowupConfig())
