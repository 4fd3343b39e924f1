"""Engine benchmarks: ack latency under 50 concurrent clients (also with ten sends hung on a dead mail
server), /followup status at 1,000,000 follow-ups on PostgreSQL."""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from tests.fakes.socket_mode import FakeSocketMode
from tests.harness import Reply, SlackRequests

ROOT = Path(__file__).resolve().parents[1]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_ack_load(
    *,
    hung_sends: bool,
    postgres_url: str | None = None,
    clients: int = 50,
    per_client: int = 10,
    rate_per_s: float | None = None,
    socket_mode: bool = False,
) -> dict:
    """`followup serve` in its own process; 50 client threads send signed clicks and /followup status (in
    Socket Mode: the same requests as envelopes over the fake's WebSocket, timed to their acks).

    Without a rate each client sends its next request as soon as the last is answered (saturation); with
    one, the 50 clients together send about `rate_per_s` requests a second, at random moments."""
    import json
    import random
    import subprocess
    import sys
    from types import SimpleNamespace

    from sqlalchemy import select

    from bot.db import Database, make_engine, migrate
    from bot.models import CardMessage, FollowUp
    from bot.sample_data import seed
    from tests.fakes.smtp import DeadServer, start_smtp
    from tests.process import AppProcess

    users = {"UDANA": "dana.whitfield@followup-demo.com", "UADMIN": "revops@followup-demo.com"}
    socket = FakeSocketMode(any_ticket=True) if socket_mode else None
    socket_info = (
        [json.dumps({"url": f"ws://127.0.0.1:{socket.port}/link/", "app_token": socket.app_token})]
        if socket
        else []
    )
    fake = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "slack_server.py"), json.dumps(users), *socket_info],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert fake.stdout is not None
    info = json.loads(fake.stdout.readline())
    base = info["response_url"].rsplit("/", 1)[0]
    # what SlackRequests needs of the fake: a token, an API URL and response URLs
    slack = SimpleNamespace(
        token=info["token"], api_url=info["api_url"], response_url=lambda name="r1": f"{base}/{name}"
    )
    controller, _box = start_smtp()
    dead = DeadServer()
    timings: dict[str, list[float]] = {"card action": [], "status": []}
    with tempfile.TemporaryDirectory() as tmp, _database(postgres_url, tmp) as url:
        db = Database(make_engine(url))
        migrate(db.engine)
        seed(db, datetime.now(UTC))
        config = Path(tmp) / "followup.toml"
        config.write_text(
            '[slack]\nreview_channel = "CREVIEW"\nadmins = ["UADMIN"]\n[timeouts]\nsmtp_seconds = 60\n'
            # every card shown whatever the day (a weekend or holiday has the daily budget hold them all)
            "[budget]\ncards_per_rep_per_day = 0\n"
        )
        env = {
            "DATABASE_URL": url,
            "SLACK_BOT_TOKEN": slack.token,
            "SLACK_SIGNING_SECRET": "bench",
            "SLACK_API_URL": slack.api_url,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(dead.port if hung_sends else controller.port),
            "FOLLOWUP_CONFIG": str(config),
        } | ({"SLACK_APP_TOKEN": socket.app_token} if socket else {})
        app = AppProcess("bench", env, slack=slack, signing_secret="bench", logs=Path(tmp)).wait_healthy()
        sender = app if socket is None else _OverSocket(socket, slack)
        if socket is not None:
            socket.wait_connected(timeout=30)
        try:
            deadline = time.monotonic() + 60
            cards: list[tuple[int, tuple[str, str]]] = []
            while time.monotonic() < deadline and len(cards) < 30:
                time.sleep(0.2)
                with db.session() as s:
                    rows = s.execute(
                        select(CardMessage.followup_id, CardMessage.channel, CardMessage.ts).join(FollowUp)
                    ).all()
                    cards = [(r[0], (r[1], r[2])) for r in rows]
            if hung_sends:
                for fid, card in cards[:10]:
                    app.click("followup-card-approve", user="UADMIN", card=card, value=str(fid))
                while len(dead.held) < 4 and time.monotonic() < deadline:
                    time.sleep(0.05)
            targets = cards[10:] if hung_sends else cards
            lock = threading.Lock()

            begin = time.perf_counter() + 0.5

            def client(n: int) -> None:
                rng = random.Random(n)
                for k in range(per_client):
                    if rate_per_s:  # Poisson arrivals: each client's share of the rate
                        begin_at = begin + k * clients / rate_per_s + rng.uniform(0, clients / rate_per_s)
                        time.sleep(max(0.0, begin_at - time.perf_counter()))
                    fid, card = targets[(n + k) % len(targets)]
                    start = time.perf_counter()
                    if (n + k) % 2:
                        status = sender.command("status", user="UDANA", response=f"b{n}-{k}").status
                        kind = "status"
                    else:
                        status = sender.click(
                            "followup-card-snooze", user="UADMIN", card=card, selected=f"{fid}:1h"
                        ).status
                        kind = "card action"
                    took = 1000 * (time.perf_counter() - start)
                    assert status == 200, status
                    with lock:
                        timings[kind].append(took)

            threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
            cpu_before = {
                name: _cpu_s(pid) for name, pid in (("app", app.proc.pid), ("fake Slack", fake.pid))
            }
            cpu_before["load clients"] = time.process_time()
            wall = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - wall
            cpu = {
                name: _cpu_s(pid) - cpu_before[name]
                for name, pid in (("app", app.proc.pid), ("fake Slack", fake.pid))
            }
            cpu["load clients"] = time.process_time() - cpu_before["load clients"]
        finally:
            app.stop(timeout=5)
            db.engine.dispose()
            dead.close()
            controller.stop()
            fake.communicate("", timeout=10)
            if socket is not None:
                socket.close()
    return {
        kind: {"n": len(v), "p50_ms": statistics.median(v), "p99_ms": _pct(v, 0.99), "max_ms": max(v)}
        for kind, v in timings.items()
    } | {
        "clients": clients,
        "hung_sends": 10 if hung_sends else 0,
        "wall_s": wall,
        "cpu_s": cpu,
        "requests_per_s": clients * per_client / wall,
        "offered_rate_per_s": rate_per_s,
    }


class _OverSocket(SlackRequests):
    """The benchmark's requests as Socket Mode envelopes: each returns when its ack arrives (200), or when
    Slack would have given up on it (0)."""

    def __init__(self, socket: FakeSocketMode, slack: object) -> None:
        self.socket, self.slack = socket, slack  # type: ignore[assignment]

    def send(self, kind: str, body: dict) -> Reply:
        env = self.socket.deliver(kind, body)
        return Reply(200 if env.acks and not env.failed else 0, env.failed or "")


@contextmanager
def _database(postgres_url: str | None, tmp: str) -> Iterator[str]:
    """A fresh SQLite file, or a fresh database on the PostgreSQL server at `postgres_url`."""
    if postgres_url is None:
        yield f"sqlite:///{tmp}/bench.db"
        return
    from tests.databases import fresh_postgres

    with fresh_postgres(postgres_url, "followup_bench") as url:
        yield url


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


BULK = """
INSERT INTO followups (id, dedupe_key, rule, reason, contact_id, contact_email, contact_name, company_name,
    owner_slack_id, owner_name, owner_email, state, version, triggered_at, since_at, sent_at, sent_by,
    escalated_to, snoozed_until, created_at, updated_at)
SELECT n, 'bench:' || n, 'stale_deal', 'Deal has sat in qualifiedtobuy for 20 days (limit 10)', 'c' || n,
    'lead' || n || '@example.com', 'Lead ' || n, 'Company ' || (n % 5000),
    'U' || lpad((n % 200)::text, 4, '0'), 'Rep', 'rep@example.com',
    (ARRAY['sent', 'sent', 'sent', 'resolved', 'dismissed', 'pending', 'snoozed', 'escalated', 'failed',
           'sent'])[1 + (n / 200) % 10],
    1, now() - (n % 900) * interval '1 hour', now() - interval '30 days',
    CASE WHEN (n / 200) % 10 IN (0, 1, 2, 9) THEN now() - ((n / 200) % 72) * interval '1 hour' END,
    CASE WHEN (n / 200) % 10 IN (0, 1, 2, 9) THEN 'U' || lpad((n % 200)::text, 4, '0') END,
    CASE WHEN (n / 200) % 10 = 7 THEN 'U' || lpad(((n + 7) % 200)::text, 4, '0') END,
    CASE WHEN (n / 200) % 10 = 6 THEN now() + interval '1 day' END,
    now(), now()
FROM generate_series(1, :n) AS n;
INSERT INTO drafts (id, followup_id, origin, author, summary, classification, urgency, missing_information,
    review_flags, sources, subject, body, created_at)
SELECT n, n, 'ai', 'offline', 'Lead ' || n || ' went quiet after the pricing call.', 'stalled deal', 'medium',
    '[]', '[]', '[]', 'Next step', 'Hi,\n\nWould 20 minutes on Tuesday work?\n\nRep', now()
FROM generate_series(1, :n) AS n;
SELECT setval('followups_id_seq', :n);
SELECT setval('drafts_id_seq', :n)
"""


def fill_followups(engine, n: int) -> None:  # type: ignore[no-untyped-def]
    """n follow-ups over 200 reps, each rep with some in every state (40% sent), each with its draft."""
    from sqlalchemy import text

    with engine.begin() as conn:
        for statement in BULK.strip().split(";\n"):
            if statement.strip():
                conn.execute(text(statement), {"n": n})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE followups"))  # as autovacuum would: the visibility map and stats
        conn.execute(text("VACUUM ANALYZE drafts"))


def bench_status_postgres(admin_url: str, n: int = 1_000_000, calls: int = 400) -> dict:
    from app import build_deps
    from bot.services import status
    from bot.settings import Settings
    from tests.databases import fresh_postgres

    with fresh_postgres(admin_url, "followup_bench") as url:
        deps = build_deps(Settings(_env_file=None, database_url=url))  # type: ignore[call-arg]
        start = time.perf_counter()
        fill_followups(deps.db.engine, n)
        filled = time.perf_counter() - start
        for rep in range(20):  # warm the connection pool and the caches
            status.queue(deps, f"U{rep:04d}")
        took = []
        for k in range(calls):
            start = time.perf_counter()
            queue = status.queue(deps, f"U{(k * 7) % 200:04d}")
            took.append(1000 * (time.perf_counter() - start))
        deps.db.engine.dispose()
    return {
        "followups": n,
        "fill_s": filled,
        "calls": calls,
        "p50_ms": statistics.median(took),
        "p99_ms": _pct(took, 0.99),
        "last_queue_counts": queue.counts,
        "last_shown": sum(len(v) for v in queue.groups.values()),
    }


HISTORY = """
UPDATE followups SET
    triggered_at = now() - (id % 8760) * interval '1 hour',
    created_at = now() - (id % 8760) * interval '1 hour',
    sent_at = CASE WHEN sent_at IS NOT NULL
                   THEN now() - (id % 8760) * interval '1 hour' + interval '2 hours' END,
    touch = 1 + id % 3;
INSERT INTO drafts (id, followup_id, origin, author, summary, classification, urgency, missing_information,
    review_flags, sources, subject, body, created_at)
SELECT id + 10000000, id, 'edit', owner_slack_id, 'edited', 'stalled deal', 'medium', '[]', '[]', '[]',
    'Next step', 'Hi,\n\nWould 20 minutes on Thursday work?\n\nRep', sent_at
FROM followups WHERE sent_at IS NOT NULL AND id % 10 = 3;
SELECT setval('drafts_id_seq', (SELECT max(id) FROM drafts));
UPDATE followups SET sent_draft_id = CASE WHEN id % 10 = 3 THEN id + 10000000 ELSE id END
WHERE sent_at IS NOT NULL;
INSERT INTO card_messages (followup_id, kind, channel, ts, created_at)
SELECT id, 'card', 'D' || owner_slack_id, (1700000000 + id) || '.000100',
    triggered_at + interval '5 minutes'
FROM followups;
INSERT INTO audit_events (followup_id, at, actor, action, from_state, to_state, detail)
SELECT id, triggered_at + interval '90 minutes', owner_slack_id,
    CASE state WHEN 'dismissed' THEN 'dismiss' WHEN 'snoozed' THEN 'snooze' WHEN 'escalated' THEN 'escalate'
               ELSE 'approve' END,
    'pending', state,
    (CASE WHEN id % 10 = 0 THEN '{"classification": {"model": "sales_opportunity", "human": "spam"}}'
          ELSE '{}' END)::json
FROM followups WHERE state NOT IN ('pending', 'resolved');
INSERT INTO inbound_messages (mailbox, uidvalidity, uid, kind, sender, subject, snippet, followup_id,
    contact_id, received_at, created_at)
SELECT 'INBOX', 1, id, 'reply', contact_email, 'Re: Next step', 'Sounds good', id, contact_id,
    sent_at + interval '1 day', sent_at + interval '1 day'
FROM followups WHERE sent_at IS NOT NULL AND id % 7 = 0;
INSERT INTO outcomes (kind, source_id, followup_id, contact_id, at, amount, other_touches, created_at)
SELECT 'deal_won', 'deal-' || id, id, contact_id, sent_at + interval '3 days', 10000 + id % 50000, id % 3,
    now()
FROM followups WHERE sent_at IS NOT NULL AND id % 50 = 0
"""


def fill_history(engine, n: int) -> None:  # type: ignore[no-untyped-def]
    """fill_followups, spread over a year (so a week is about 2% of it), with a card, a decision, replies and
    won deals for them: what the metrics read."""
    from sqlalchemy import text

    fill_followups(engine, n)
    with engine.begin() as conn:
        for statement in HISTORY.strip().split(";\n"):
            conn.execute(text(statement))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("followups", "drafts", "card_messages", "audit_events", "inbound_messages", "outcomes"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))


def bench_stats_postgres(admin_url: str, n: int = 1_000_000, calls: int = 10) -> dict:
    """`/followup stats` (the metrics it computes) over a year of n follow-ups: a rep's week, everyone's
    week, everyone's month."""
    from app import build_deps
    from bot.services import metrics
    from bot.services.metrics import Scope
    from bot.settings import Settings
    from tests.databases import fresh_postgres

    with fresh_postgres(admin_url, "followup_bench") as url:
        deps = build_deps(Settings(_env_file=None, database_url=url))  # type: ignore[call-arg]
        start = time.perf_counter()
        fill_history(deps.db.engine, n)
        filled = time.perf_counter() - start
        now = deps.clock.now()
        out: dict = {"followups": n, "fill_s": filled, "calls": calls}
        for name, scope in (
            ("rep_week", Scope.last("week", now, rep="U0007")),
            ("all_week", Scope.last("week", now)),
            ("all_month", Scope.last("month", now)),
        ):
            metrics.compute(deps, scope)  # warm the pool and the caches
            took = []
            for _ in range(calls):
                begin = time.perf_counter()
                report = metrics.compute(deps, scope)
                took.append(1000 * (time.perf_counter() - begin))
            out[name] = {"p50_ms": statistics.median(took), "max_ms": max(took), "sent": report.sent}
        deps.db.engine.dispose()
    return out
