"""Several `followup serve` processes on one PostgreSQL database: migrations once, each card posted once,
and a send done once however the clicks are spread over the replicas."""

from __future__ import annotations

import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from blocks.ids import ActionId
from bot.db import Database, make_engine, migrate
from bot.models import CardMessage, FollowUp, WorkItem
from crm.tables import CrmEngagement
from tests.builders import stale_book
from tests.conftest import ADMIN, DANA, REVIEW_CHANNEL, SIGNING_SECRET
from tests.process import FOLLOWUP, AppProcess

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def process_env(database_url: str, slack, smtp_port: int, config: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "FOLLOWUP_CONFIG": str(config),
    }


def replica_config(tmp_path: Path, **work: float) -> Path:
    path = tmp_path / "replica.toml"
    extra = "\n".join(f"{k} = {v}" for k, v in work.items())
    path.write_text(
        f"""
[slack]
review_channel = "{REVIEW_CHANNEL}"
admins = ["{ADMIN}"]

[timeouts]
smtp_seconds = 5

[sending]
# these processes run on the real clock, at whatever hour the tests run: always inside the window
start = "00:00"
end = "23:59:59"
workdays = [0, 1, 2, 3, 4, 5, 6]
spacing_minutes = 0

[budget]
cards_per_rep_per_day = 0

[work]
poll_seconds = 0.2
{extra}
""",
        encoding="utf-8",
    )
    return path


def wait_until(check, timeout: float = 30.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_replicas_started_together_migrate_once(database_url, tmp_path):
    procs = [
        subprocess.Popen(
            [str(FOLLOWUP), "migrate"],
            env={"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=60)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    engine = make_engine(database_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
    engine.dispose()


def test_two_replicas_post_each_card_once_and_send_once(database_url, tmp_path, slack, mailbox):
    db = Database(make_engine(database_url))
    migrate(db.engine)
    stale_book(db, datetime.now(UTC), 19)
    config = replica_config(tmp_path)
    env = process_env(database_url, slack, mailbox[0], config)
    apps = [
        AppProcess(name, env, slack=slack, signing_secret=SIGNING_SECRET, logs=tmp_path)
        for name in ("a", "b")
    ]
    try:
        for app in apps:
            app.wait_healthy()

        def posted() -> bool:
            with db.session() as s:
                carded = s.scalar(select(func.count(func.distinct(CardMessage.followup_id))))
                busy = s.scalar(select(func.count()).where(WorkItem.state.in_(["queued", "claimed"])))
            return carded == 19 and busy == 0

        wait_until(posted, what="19 cards")
        time.sleep(1)  # a second replica posting late would show up now
        posts = [c for c in slack.of("chat.postMessage") if c.args.get("blocks")]
        assert len(posts) == 19 and {p.args["channel"] for p in posts} == {DANA}
        with db.session() as s:
            assert s.scalar(select(func.count()).select_from(FollowUp)) == 19
            assert s.scalar(select(func.count()).select_from(CardMessage)) == 19
            card = s.scalars(select(CardMessage).order_by(CardMessage.id)).first()
            assert card is not None
            fid, where = card.followup_id, (card.channel, card.ts)

        statuses: list[int] = []

        def click(n: int) -> None:
            app = apps[n % 2]
            statuses.append(
                app.click(
                    ActionId.CARD_APPROVE, user=DANA, card=where, value=str(fid), response=f"c{n}"
                ).status
            )

        threads = [threading.Thread(target=click, args=(n,)) for n in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses == [200] * 50

        def logged() -> bool:
            with db.session() as s:
                fu = s.get(FollowUp, fid)
                return fu is not None and fu.crm_engagement_id is not None

        wait_until(logged, what="the CRM log")
        refusals = slack.wait_for_response(49, timeout=20)
        assert all(r["response_type"] == "ephemeral" for r in refusals)
        time.sleep(1)
        assert len(mailbox[1].messages) == 1
        with db.session() as s:
            fu = s.get(FollowUp, fid)
            assert fu is not None and fu.state == "sent"
            assert s.scalar(select(func.count()).where(CrmEngagement.message_id == fu.message_id)) == 1
            assert [e.action for e in fu.events].count("approve") == 1
    finally:
        codes = [app.stop() for app in apps]
        db.engine.dispose()
    assert codes == [0, 0], [app.output() for app in apps]
