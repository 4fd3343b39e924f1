"""The `followup` command as a user runs it: real processes, real exit codes, one-line errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.cli import dies_with_this_process
from tests.fakes.smtp import free_port

FOLLOWUP = str(Path(sys.executable).parent / "followup")
SECRET_VARS = [k for k in os.environ if k.startswith(("SLACK_", "HUBSPOT_", "ANTHROPIC_", "SMTP_"))] + [
    "DATABASE_URL",
    "FOLLOWUP_CONFIG",
    "PORT",
]


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in SECRET_VARS}
    return subprocess.run(
        [FOLLOWUP, *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_help_lists_the_commands(tmp_path):
    out = run("--help", cwd=tmp_path)
    assert out.returncode == 0
    for command in ("demo", "seed", "scan", "serve", "migrate"):
        assert command in out.stdout
    assert run("scan", "--help", cwd=tmp_path).stdout.count("--dry-run") == 1


def test_demo_prints_cards_for_every_rule_then_a_summary(tmp_path):
    from bot.triggers.registry import RULES

    out = run("demo", cwd=tmp_path, env={"COLUMNS": "120"})
    assert out.returncode == 0, out.stderr
    assert "Seeded 45 contacts at 25 companies" in out.stdout
    title = re.search(r"(\d+) cards, (\d+) up next \(daily budget\), (\d+) scheduled", out.stdout)
    assert title is not None
    cards, waiting, scheduled = title.groups()
    assert int(cards) >= 10
    assert out.stdout.count("[ Approve & send ]") == int(cards)
    assert out.stdout.count("Up next: waits for room") == int(waiting)
    summary = out.stdout[title.start() :]
    for rule in RULES:  # the table closes the output, one row per rule, each with a card now
        row = next(line for line in summary.splitlines() if rule.name in line)
        assert int(row.split("│")[3]) >= 1, row
    assert "Block Kit Builder" not in out.stdout and '"blocks": [' not in out.stdout
    assert not list(tmp_path.iterdir())  # the demo leaves the working directory alone

    with_json = run("demo", "--json", cwd=tmp_path, env={"COLUMNS": "120"})
    shown = int(cards) + int(waiting) + int(scheduled)
    assert with_json.stdout.count("Block Kit Builder: https://app.slack.com/block-kit-builder/#") == shown
    assert with_json.stdout.count('"blocks": [') == shown


def test_on_a_day_off_the_demo_runs_as_of_the_next_working_morning_and_says_so(tmp_path):
    """A day off shows no new cards (the daily budget holds them): the demo moves to the next working
    morning instead of printing none. Today is made a day off by the config, whatever day the test runs."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    today = datetime.now(UTC).astimezone(ZoneInfo("Europe/Berlin")).weekday()
    config = tmp_path / "conf" / "followup.toml"
    config.parent.mkdir()
    workdays = [d for d in range(7) if d != today]
    config.write_text(
        f'[business_hours]\ntimezone = "Europe/Berlin"\nholidays_country = ""\nworkdays = {workdays}\n'
    )
    work = tmp_path / "work"
    work.mkdir()
    out = run("demo", cwd=work, env={"COLUMNS": "200", "FOLLOWUP_CONFIG": str(config)})
    assert out.returncode == 0, out.stderr
    said = " ".join(out.stdout.split())
    day = datetime.now(UTC).astimezone(ZoneInfo("Europe/Berlin")).strftime("%A")
    assert f"Today is a day off in the team's calendar ({day})" in said
    assert "the next working morning" in said and "(Europe/Berlin)" in said
    cards = re.search(r"(\d+) cards, (\d+) up next", said)
    assert cards is not None and int(cards[1]) >= 10
    # a real scan today holds its cards for the next working day, and says why
    env = {"FOLLOWUP_CONFIG": str(config), "DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}", "COLUMNS": "200"}
    assert run("seed", cwd=work, env=env).returncode == 0
    scanned = run("scan", cwd=work, env=env)
    assert re.search(r"\d+ more wait for room in the daily budget \(today is a day off", scanned.stdout)


def test_seed_then_dry_run_scan(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}"}
    assert run("migrate", cwd=tmp_path, env=env).returncode == 0
    seeded = run("seed", cwd=tmp_path, env=env)
    assert seeded.returncode == 0 and "Seeded 45 contacts" in seeded.stdout
    scan = run("scan", "--dry-run", cwd=tmp_path, env=env)
    assert scan.returncode == 0
    assert "inbound_no_response" in scan.stdout and "stale_deal" in scan.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": "not-a-token"}, "SLACK_BOT_TOKEN must be a bot token starting with 'xoxb-'"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is not set"),
        ({"SLACK_APP_TOKEN": "xoxb-wrong-kind"}, "SLACK_APP_TOKEN must be an app-level token"),
        ({"SMTP_PORT": "twenty-five"}, "SMTP_PORT"),
        (
            {"FOLLOWUP_CONFIG": "nope.toml", "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"},
            "FOLLOWUP_CONFIG points at nope.toml",
        ),
    ],
)
def test_serve_explains_bad_settings_in_one_line(tmp_path, env, message):
    out = run("serve", cwd=tmp_path, env=env)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], out.stderr


def test_serve_reports_a_token_slack_rejects(tmp_path, slack):
    env = {"SLACK_BOT_TOKEN": "xoxb-revoked", "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": slack.api_url}
    out = run("serve", cwd=tmp_path, env=env)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "SLACK_BOT_TOKEN was rejected by Slack" in out.stderr and "invalid_auth" in out.stderr


def _get(url: str, deadline: float, proc: subprocess.Popen) -> bytes:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                assert resp.status == 200
                return bytes(resp.read())
        except OSError:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, f"{url} did not come up"
            time.sleep(0.2)


def _serve(cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    """`followup serve` as a process, with only the given settings."""
    clean = {k: v for k, v in os.environ.items() if k not in SECRET_VARS}
    return subprocess.Popen(
        [FOLLOWUP, "serve"], cwd=cwd, env={**clean, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, preexec_fn=dies_with_this_process(),
    )  # fmt: skip


def test_serve_runs_http_mode_with_healthz_and_metrics_from_both_processes(tmp_path, slack):
    from prometheus_client.parser import text_string_to_metric_families

    port, worker_port = free_port(), free_port()
    env = {
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": slack.api_url,
        "PORT": str(port),
        "METRICS_WORKER_PORT": str(worker_port),  # the worker child's own counters
        "DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}",
    }
    proc = _serve(tmp_path, env)
    try:
        deadline = time.monotonic() + 20
        assert _get(f"http://127.0.0.1:{port}/healthz", deadline, proc) == b'{"ok": true}'
        slack.wait_for("auth.test")
        for where in (port, worker_port):  # the web process on PORT, the worker on its own port
            text = _get(f"http://127.0.0.1:{where}/metrics", deadline, proc).decode()
            names = {family.name for family in text_string_to_metric_families(text)}
            assert {"followup_work_queue_depth", "followup_sends", "followup_ai_latency_seconds"} <= names
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_in_socket_mode_reports_the_sockets_state_on_healthz(tmp_path, slack):
    import json
    import urllib.error

    from tests.fakes.socket_mode import FakeSocketMode

    slack.socket = socket = FakeSocketMode()
    port = free_port()
    env = {
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_APP_TOKEN": socket.app_token,
        "SLACK_API_URL": slack.api_url,
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}",
    }
    proc = _serve(tmp_path, env)
    try:
        deadline = time.monotonic() + 20
        health = json.loads(_get(f"http://127.0.0.1:{port}/healthz", deadline, proc))
        while health["socket"] == "connecting":  # healthy meanwhile: the hello is on its way
            assert health["ok"] is True and time.monotonic() < deadline
            time.sleep(0.05)
            health = json.loads(_get(f"http://127.0.0.1:{port}/healthz", deadline, proc))
        assert health["ok"] is True and health["socket"] == "connected"
        assert b"followup_slack_socket_connected 1.0" in _get(
            f"http://127.0.0.1:{port}/metrics", deadline, proc
        )
        socket.disconnect("link_disabled", close_after=0.2)
        while True:  # Socket Mode turned off: unhealthy, so a supervisor sees it
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    pass
            except urllib.error.HTTPError as exc:
                assert exc.code == 503
                said = json.loads(exc.read())
                break
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert said["ok"] is False and said["socket"] == "disabled"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
        socket.close()
    assert "link_disabled" in out and "followup stopped." in out and "Traceback" not in out


def test_serve_in_socket_mode_runs_when_port_is_taken_and_says_healthz_is_off(tmp_path, slack):
    import socket as sockets

    from tests.fakes.socket_mode import FakeSocketMode

    slack.socket = socket = FakeSocketMode()
    taken = sockets.socket()
    taken.bind(("0.0.0.0", 0))
    taken.listen()
    env = {
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_APP_TOKEN": socket.app_token,
        "SLACK_API_URL": slack.api_url,
        "PORT": str(taken.getsockname()[1]),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}",
    }
    proc = _serve(tmp_path, env)
    said: list[str] = []
    try:
        socket.wait_connected(timeout=20)  # Socket Mode needs no port: it connects all the same
        assert proc.stdout is not None
        while not said or "followup is running in Socket Mode" not in said[-1]:
            said.append(proc.stdout.readline())
            assert said[-1], "".join(said)  # the process ended
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
        socket.close()
        taken.close()
    said.append(out)
    flat = " ".join("".join(said).split())
    assert "is not free" in flat and "GET /healthz and /metrics are not served" in flat
    assert "Traceback" not in flat


def test_serve_reports_an_app_token_slack_rejects(tmp_path, slack):
    env = {
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_APP_TOKEN": "xapp-revoked",
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}",
    }
    out = run("serve", cwd=tmp_path, env=env)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "SLACK_APP_TOKEN was rejected by Slack: invalid_auth" in out.stderr


def test_settings_come_from_a_dotenv_file(tmp_path):
    (tmp_path / ".env").write_text("SMTP_PORT=not-a-port\n")
    out = run("migrate", cwd=tmp_path)
    assert out.returncode == 2 and "SMTP_PORT" in out.stderr and "Traceback" not in out.stderr


def test_scan_posts_cards_and_says_what_it_could_not_route(tmp_path, slack):
    config = tmp_path / "followup.toml"  # no daily budget: on a day off it would hold every card
    config.write_text("[budget]\ncards_per_rep_per_day = 0\n")
    env = {
        "FOLLOWUP_CONFIG": str(config),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}",
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_API_URL": slack.api_url,
    }
    assert run("seed", cwd=tmp_path, env=env).returncode == 0
    out = run("scan", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    dana_cards = [c for c in slack.of("chat.postMessage") if c.args["channel"] == "UDANA"]
    assert dana_cards  # Dana's leads reach her DM; the other reps have no Slack account in the fake
    assert f"{len(dana_cards)} cards posted" in " ".join(out.stdout.split())
    assert "no Slack user for" in out.stderr and "no review channel configured" in out.stderr
    again = run("scan", cwd=tmp_path, env=env)
    assert "0 new follow-ups" in again.stdout


def test_audit_export_writes_every_record_since_a_date_as_csv_or_json_lines(tmp_path):
    import csv
    import io
    import json

    config = tmp_path / "followup.toml"
    config.write_text("[budget]\ncards_per_rep_per_day = 0\n")
    env = {"FOLLOWUP_CONFIG": str(config), "DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}"}
    assert run("seed", cwd=tmp_path, env=env).returncode == 0
    assert run("scan", cwd=tmp_path, env=env).returncode == 0
    lines = run("audit", "export", "--since", "2000-01-01", "--format", "jsonl", cwd=tmp_path, env=env)
    assert lines.returncode == 0, lines.stderr
    records = [json.loads(line) for line in lines.stdout.splitlines()]
    kinds = {r["record"] for r in records}
    assert {"decision", "draft", "ai_output"} <= kinds
    assert [r["at"] for r in records] == sorted(r["at"] for r in records)  # one stream, in time order
    drafts = [r for r in records if r["record"] == "draft"]
    assert all(r["followup_id"] and r["contact_email"] and r["detail"]["body"] for r in drafts)
    assert f"{len(records)} records since 2000-01-01" in " ".join(lines.stderr.split())

    table = run("audit", "export", "--since", "2000-01-01", "--format", "csv", cwd=tmp_path, env=env)
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    assert len(rows) == len(records) and rows[0].keys() >= {"at", "followup_id", "record", "actor", "detail"}
    assert json.loads(rows[0]["detail"]) == records[0]["detail"]

    later = run("audit", "export", "--since", "2999-01-01", cwd=tmp_path, env=env)
    assert later.returncode == 0 and later.stdout == ""
    bad = run("audit", "export", "--since", "last tuesday", cwd=tmp_path, env=env)
    assert bad.returncode == 2 and "--since must be a date like 2026-11-01" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_csv_cell_that_a_spreadsheet_would_run_as_a_formula_is_defused():
    from bot.services.audit import _cell

    assert [_cell(v) for v in ("=HYPERLINK(1)", "+1", "-2", "@SUM(A1)", "plain", 3, None)] == [
        "'=HYPERLINK(1)",
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "plain",
        3,
        None,
    ]


def test_a_child_started_to_die_with_this_process_dies_when_it_is_killed(tmp_path):
    """What keeps serve's worker child (and the tests' serve processes) from outliving a SIGKILLed parent."""
    script = (
        "import subprocess, sys, time\n"
        "from bot.cli import dies_with_this_process\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],\n"
        "                         preexec_fn=dies_with_this_process())\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = Path(f"/proc/{child}/status")
        try:
            state = next(line for line in status.read_text().splitlines() if line.startswith("State:"))
        except (FileNotFoundError, ProcessLookupError):
            return  # gone, and reaped
        if "zombie" in state:
            return  # dead; this container's init may not reap it
        time.sleep(0.05)
    raise AssertionError(f"process {child} outlived its killed parent")
