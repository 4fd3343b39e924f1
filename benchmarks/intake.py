"""Speed to lead (run by benchmarks/run.py): from a signed POST /inbound reaching the app to the hot-lead
alert reaching the Slack API, with Claude answering from a local fake after 1 s a call."""

from __future__ import annotations

import json
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

NOW = datetime(2026, 11, 18, 20, 0, tzinfo=UTC)  # a Wednesday afternoon in New York


def bench_intake(submissions: int = 200, latency_s: float = 1.0, rate_per_s: float = 1.5) -> dict:
    """The app in this process (waitress + Bolt + its workers) against local fakes of Slack and the
    Messages API; submissions arrive at `rate_per_s`, each a hot lead. For each: the time from the POST to
    the alert's chat.postMessage at the fake Slack, and that time less the model calls it waited for (the
    lead's own calls, each taking `latency_s`)."""
    from pydantic import SecretStr
    from pytest_httpserver import HTTPServer
    from sqlalchemy import func, select

    from bot.clock import FixedClock
    from bot.db import Database, make_engine, migrate
    from bot.models import AiOutput, Draft, InboundLead
    from bot.settings import Settings
    from crm.tables import CrmOwner
    from handlers.inbound import sign
    from tests.fakes.anthropic_api import FakeClaude
    from tests.fakes.slack_api import FakeSlack
    from tests.fakes.smtp import start_smtp
    from tests.harness import AppHarness

    secret = "bench-inbound-secret"
    servers = [HTTPServer(host="127.0.0.1", port=0, threaded=True) for _ in range(2)]
    for server in servers:
        server.start()
    slack, claude = FakeSlack(servers[0]), FakeClaude(servers[1], delay=latency_s)
    slack.install()
    claude.install()
    slack.add_user("UDANA", "dana.whitfield@followup-demo.com")
    smtp, box = start_smtp()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "followup.toml"
        config.write_text(
            '[inbound]\nhot_channel = "CHOT"\nhot_score = 0\n\n'
            '[routing]\ndefault_owners = ["dana.whitfield@followup-demo.com"]\n\n'
            "[budget]\ncards_per_rep_per_day = 0\n\n[work]\ninteractive_workers = 8\n",
            encoding="utf-8",
        )
        url = f"sqlite:///{tmp}/bench.db"
        db = Database(make_engine(url))
        migrate(db.engine)
        with db.session() as s:
            s.add(
                CrmOwner(id="501", email="dana.whitfield@followup-demo.com", first_name="Dana", last_name="W")
            )
        db.engine.dispose()
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            slack_bot_token=SecretStr(slack.token),
            slack_signing_secret=SecretStr("bench-signing"),
            slack_api_url=slack.api_url,
            database_url=url,
            followup_config=config,
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            anthropic_api_key=SecretStr(claude.api_key),
            anthropic_base_url=claude.base_url,
            inbound_signing_secret=SecretStr(secret),
        )
        app = AppHarness.start(settings, clock=FixedClock(NOW), slack=slack, mailbox=box, signing_secret="x")
        sent: dict[str, float] = {}
        try:

            def submit(n: int) -> None:
                body = json.dumps(
                    {
                        "email": f"lead{n}@company{n}.example",
                        "name": f"Lead{n} Bench",
                        "text": "We need a demo for our 400-person sales team this week; budget approved.",
                        "id": f"bench-{n}",
                    }
                ).encode()
                stamp = str(int(time.time()))
                sent[f"Lead{n} Bench"] = time.monotonic()
                reply = app.request(
                    "POST",
                    "/inbound",
                    body,
                    {
                        "Content-Type": "application/json",
                        "X-Followup-Timestamp": stamp,
                        "X-Followup-Signature": sign(secret, stamp, body),
                    },
                )
                assert reply.status == 202, reply.body

            threads = []
            for n in range(submissions):
                t = threading.Thread(target=submit, args=(n,))
                t.start()
                threads.append(t)
                time.sleep(1 / rate_per_s)
            for t in threads:
                t.join()
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                alerts = [c for c in slack.of("chat.postMessage") if c.args.get("channel") == "CHOT"]
                if len(alerts) >= submissions:
                    break
                time.sleep(0.2)
            with app.deps.db.session() as s:
                calls_per_lead = {
                    name: n
                    for name, n in s.execute(
                        select(InboundLead.name, func.count(AiOutput.id))
                        .join(Draft, Draft.followup_id == InboundLead.followup_id)
                        .join(AiOutput, AiOutput.run_id == Draft.run_id)
                        .where(AiOutput.engine == "claude")
                        .group_by(InboundLead.name)
                    )
                }
        finally:
            app.stop()
            smtp.stop()
            for server in servers:
                server.stop()
    total, overhead = [], []
    for call in alerts:
        header = next(b for b in call.args["blocks"] if b["type"] == "header")["text"]["text"]
        name = header.split("Hot lead: ", 1)[1].split(" · ")[0]
        latency = call.at - sent[name]
        total.append(latency * 1000)
        overhead.append((latency - calls_per_lead.get(name, 0) * latency_s) * 1000)

    def pct(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=100, method="inclusive")[q - 1]

    return {
        "submissions": submissions,
        "alerts": len(alerts),
        "latency_s": latency_s,
        "rate_per_s": rate_per_s,
        "model_calls_per_lead": statistics.mean(calls_per_lead.values()) if calls_per_lead else 0,
        "p50_ms": pct(total, 50),
        "p95_ms": pct(total, 95),
        "overhead_p50_ms": pct(overhead, 50),
        "overhead_p95_ms": pct(overhead, 95),
    }
