"""`followup doctor` as an admin runs it: a real process against the local fakes (Slack's Web API and Socket
Mode, an SMTP server with logins, HubSpot, Claude, Dovecot when `.ci/run` started it) with everything right,
then with each part broken in turn: exactly that row is ✗, with its fix, and the exit code is 1."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.bot.test_cli import run
from tests.builders import small_book_in_hubspot
from tests.conftest import ESCALATION_CHANNEL, NOW, REVIEW_CHANNEL
from tests.fakes.smtp import Mailbox, free_port
from tests.fakes.socket_mode import FakeSocketMode

ROW = re.compile(r"^[│|] (✓|✗) [│|] (.+?) +[│|] (.*?) +[│|] (.*?) *[│|]$")


class _Logins:
    def __call__(self, server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            b"mailer",
            b"right",
        )
        return AuthResult(success=ok)


@pytest.fixture
def smtp_with_login() -> Iterator[int]:
    controller = Controller(
        Mailbox(),
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=_Logins(),
        auth_require_tls=False,  # a test server on loopback: the login is checked, not the transport
    )
    controller.start()
    yield controller.port
    controller.stop()


@pytest.fixture
def env(tmp_path, slack, hubspot, claude, smtp_with_login, config_file) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Everything right: migrated database, Slack (HTTP mode), SMTP with a login, HubSpot, Claude."""
    small_book_in_hubspot(hubspot, NOW)
    slack.channels = {
        REVIEW_CHANNEL: {"name": "sales-review", "is_member": True},
        ESCALATION_CHANNEL: {"name": "sales-escalations", "is_member": True},
    }
    values = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}",
        "FOLLOWUP_CONFIG": str(config_file),
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": "signing-secret",
        "SLACK_API_URL": slack.api_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_with_login),
        "SMTP_USERNAME": "mailer",
        "SMTP_PASSWORD": "right",
        "HUBSPOT_ACCESS_TOKEN": hubspot.token,
        "HUBSPOT_API_URL": hubspot.base_url,
        "ANTHROPIC_API_KEY": claude.api_key,
        "ANTHROPIC_BASE_URL": claude.base_url,
        "COLUMNS": "400",  # one table row a line
    }
    imap = os.environ.get("FOLLOWUP_TEST_IMAP")  # Dovecot, in CI
    if imap:
        u = urlparse(imap)
        values |= {
            "IMAP_HOST": u.hostname or "127.0.0.1",
            "IMAP_PORT": str(u.port or 143),
            "IMAP_TLS": "false",
            "IMAP_USERNAME": (u.username or "").replace("%40", "@"),
            "IMAP_PASSWORD": u.password or "",
        }
    assert run("migrate", cwd=tmp_path, env=values).returncode == 0
    return values


def _doctor(tmp_path: Path, env: dict[str, str]) -> tuple[int, dict[str, tuple[bool, str, str]]]:
    out = run("doctor", cwd=tmp_path, env=env)
    assert "Traceback" not in out.stdout + out.stderr, out.stdout + out.stderr
    rows = {}
    for line in out.stdout.splitlines():
        found = ROW.match(line.strip())
        if found:
            rows[found[2]] = (found[1] == "✓", found[3], found[4])
    assert rows, out.stdout + out.stderr
    return out.returncode, rows


def test_everything_right_is_all_ticks_and_exit_0(tmp_path, env):
    code, rows = _doctor(tmp_path, env)
    assert code == 0, rows
    assert all(ok for ok, _, _ in rows.values()), [name for name, (ok, _, _) in rows.items() if not ok]
    assert {
        "Settings",
        "Config",
        "Database",
        "Slack bot token",
        "Slack scopes",
        "Slack review channel",
        "Slack escalation channel",
        "Slack requests",
        "SMTP",
        "SMTP login",
        "IMAP replies mailbox",
        "HubSpot token",
        "Claude API key",
        "Claude model claude-sonnet-5-5",
    } <= set(rows)
    assert "#sales-review, the app is a member" in rows["Slack review channel"][1]
    assert "schema at revision" in rows["Database"][1]


def test_socket_mode_right_is_a_tick(tmp_path, env, slack):
    slack.socket = socket = FakeSocketMode()
    try:
        code, rows = _doctor(
            tmp_path, env | {"SLACK_APP_TOKEN": socket.app_token, "SLACK_SIGNING_SECRET": ""}
        )
    finally:
        socket.close()
    assert code == 0 and rows["Slack Socket Mode"][0] is True
    assert socket.hellos == 0  # asked for a URL, never connected: a running app's socket is not disturbed


def _broken_slack_token(env, **fakes):  # type: ignore[no-untyped-def]
    return env | {"SLACK_BOT_TOKEN": "xoxb-revoked"}


def _missing_scope(env, slack, **fakes):  # type: ignore[no-untyped-def]
    slack.scopes.remove("files:write")
    return env


def _not_in_channel(env, slack, **fakes):  # type: ignore[no-untyped-def]
    slack.channels[REVIEW_CHANNEL]["is_member"] = False
    return env


def _no_channel(env, slack, **fakes):  # type: ignore[no-untyped-def]
    del slack.channels[ESCALATION_CHANNEL]
    return env


def _revoked_app_token(env, slack, **fakes):  # type: ignore[no-untyped-def]
    slack.socket = socket = FakeSocketMode()
    socket.revoked = True
    fakes["cleanup"].append(socket.close)
    return env | {"SLACK_APP_TOKEN": socket.app_token}


def _unmigrated(env, tmp_path, **fakes):  # type: ignore[no-untyped-def]
    (tmp_path / "empty.db").write_bytes(b"")
    return env | {"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}


def _newer_schema(env, tmp_path, **fakes):  # type: ignore[no-untyped-def]
    import sqlite3

    with sqlite3.connect(tmp_path / "f.db") as conn:  # migrated by a later version of the app
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    return env


def _imap_down(env, **fakes):  # type: ignore[no-untyped-def]
    return env | {
        "IMAP_HOST": "127.0.0.1",
        "IMAP_PORT": str(free_port()),
        "IMAP_TLS": "false",
        "IMAP_USERNAME": "replies@followup.test",
        "IMAP_PASSWORD": "secret",
    }


def _model_gone(env, claude, **fakes):  # type: ignore[no-untyped-def]
    del claude.models["claude-sonnet-5-5"]
    return env


BROKEN: dict[str, tuple[Callable[..., dict[str, str]], str, str]] = {
    # case: (break it, the row that must be ✗, words its fix must hold)
    "settings": (lambda env, **f: env | {"SMTP_PORT": "not-a-port"}, "Settings", "SMTP_PORT"),
    "config": (lambda env, **f: env | {"FOLLOWUP_CONFIG": f["bad_config"]}, "Config", "followup.toml"),
    "database down": (
        lambda env, **f: env | {"DATABASE_URL": f"postgresql+psycopg://u:p@127.0.0.1:{free_port()}/x"},
        "Database",
        "DATABASE_URL",
    ),
    "database not migrated": (_unmigrated, "Database", "followup migrate"),
    "database newer": (_newer_schema, "Database", "the followup version that migrated it"),
    "slack token": (_broken_slack_token, "Slack bot token", "reinstall"),
    "slack scope": (_missing_scope, "Slack scopes", "manifest.yml"),
    "not in channel": (_not_in_channel, "Slack review channel", "/invite @followup"),
    "no such channel": (_no_channel, "Slack escalation channel", "channel's ID"),
    "app token": (_revoked_app_token, "Slack Socket Mode", "connections:write"),
    "no signing secret": (
        lambda env, **f: env | {"SLACK_SIGNING_SECRET": ""},
        "Slack requests",
        "SLACK_APP_TOKEN",
    ),
    "smtp down": (lambda env, **f: env | {"SMTP_PORT": str(free_port())}, "SMTP", "SMTP_HOST"),
    "smtp login": (lambda env, **f: env | {"SMTP_PASSWORD": "wrong"}, "SMTP login", "SMTP_PASSWORD"),
    "smtp starttls": (lambda env, **f: env | {"SMTP_STARTTLS": "true"}, "SMTP STARTTLS", "587"),
    "imap": (_imap_down, "IMAP replies mailbox", "IMAP_HOST"),
    "hubspot": (lambda env, **f: env | {"HUBSPOT_ACCESS_TOKEN": "pat-wrong"}, "HubSpot token", "token"),
    "claude key": (lambda env, **f: env | {"ANTHROPIC_API_KEY": "sk-ant-wrong"}, "Claude API key", "Console"),
    "claude model": (_model_gone, "Claude model claude-sonnet-5-5", "[drafting] model"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_each_broken_part_is_its_own_cross_with_its_fix(  # type: ignore[no-untyped-def]
    case, tmp_path, env, slack, claude, hubspot
):
    breaks, row, fix_words = BROKEN[case]
    bad_config = tmp_path / "broken.toml"
    bad_config.write_text("[business_hours]\ntimezone = 'Mars/Olympus_Mons'\n")
    cleanup: list[Callable[[], None]] = []
    try:
        broken = breaks(
            dict(env), slack=slack, claude=claude, hubspot=hubspot, tmp_path=tmp_path,
            bad_config=str(bad_config), cleanup=cleanup,
        )  # fmt: skip
        code, rows = _doctor(tmp_path, broken)
    finally:
        for close in cleanup:
            close()
    assert code == 1
    crosses = [name for name, (ok, _, _) in rows.items() if not ok]
    assert crosses == [row], rows
    _, found, fix = rows[row]
    assert found and fix and fix_words.lower() in f"{found} {fix}".lower(), rows[row]
