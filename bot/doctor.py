"""`followup doctor`: every part an install needs, checked the way the app will use it, each a ✓ or a ✗ with
how to fix it. The checks talk to the real services (Slack, the mail servers, HubSpot, Claude) with the
configured timeouts, and change nothing in any of them."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.exc import SQLAlchemyError

from bot.adapters.imap import MailboxConfig, MailboxError, open_mailbox
from bot.config import Drafting, FollowupConfig
from bot.settings import Settings

if TYPE_CHECKING:
    import anthropic

# what manifest.yml asks for (tests/test_manifest.py keeps the two the same)
BOT_SCOPES = (
    "chat:write",
    "commands",
    "users:read",
    "users:read.email",
    "files:write",
    "channels:read",
    "groups:read",
)
REINSTALL = (
    "Update the app from manifest.yml (app settings → App Manifest) and reinstall it to the workspace; "
    "then copy the new Bot User OAuth Token (xoxb-…) to SLACK_BOT_TOKEN."
)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def database(url: str) -> list[Check]:
    from alembic.config import Config
    from sqlalchemy import Engine

    from bot.db import MIGRATIONS, make_engine

    engine: Engine | None = None
    try:
        engine = make_engine(url)
        file = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
        if file and file != ":memory:" and not file.startswith("file:") and not Path(file).exists():
            fix = "Run `followup migrate` to create it (serve also does when it starts)."
            return [Check("Database", False, f"no SQLite file at {Path(file).resolve()}", fix)]
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except (SQLAlchemyError, ValueError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        fix = "Check DATABASE_URL and that the server is up."
        return [Check("Database", False, f"not reachable: {reason}", fix)]
    finally:
        if engine is not None:
            engine.dispose()
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(cfg)
    head = script.get_current_head()
    where = f"{engine.dialect.name} database"
    if current == head:
        return [Check("Database", True, f"{where} reachable, schema at revision {head}")]
    if current and current not in {rev.revision for rev in script.walk_revisions()}:
        detail = f"{where} reachable, schema at revision {current}, newer than this version ({head})"
        return [Check("Database", False, detail, "Run the followup version that migrated it, or newer.")]
    found = f"schema at revision {current}" if current else "no schema yet"
    fix = "Run `followup migrate` (serve also migrates when it starts)."
    return [Check("Database", False, f"{where} reachable, {found}; this version needs {head}", fix)]


def slack(client: WebClient | None, config: FollowupConfig) -> list[Check]:
    if client is None:
        return [
            Check(
                "Slack bot token",
                False,
                "SLACK_BOT_TOKEN is not set",
                "Create the app from manifest.yml, install it, and set SLACK_BOT_TOKEN to its xoxb- token.",
            )
        ]
    try:
        answer = client.auth_test()
    except SlackApiError as exc:
        code = exc.response.get("error")
        return [Check("Slack bot token", False, f"Slack rejected SLACK_BOT_TOKEN: {code}", REINSTALL)]
    except (SlackClientError, OSError) as exc:
        return [Check("Slack bot token", False, f"Slack not reachable: {exc}"[:200], "Check SLACK_API_URL.")]
    checks = [Check("Slack bot token", True, f"valid: @{answer.get('user')} in {answer.get('team')}")]
    headers = {k.lower(): v for k, v in (answer.headers or {}).items()}
    raw = headers.get("x-oauth-scopes")
    granted = {s.strip() for s in str(raw[0] if isinstance(raw, list) else raw or "").split(",") if s.strip()}
    missing = [s for s in BOT_SCOPES if s not in granted]
    checks.append(
        Check("Slack scopes", False, f"missing: {', '.join(missing)}", REINSTALL)
        if missing
        else Check("Slack scopes", True, f"all {len(BOT_SCOPES)} the manifest asks for")
    )
    for what, channel in (
        ("review channel", config.slack.review_channel),
        ("escalation channel", config.slack.escalation_channel),
    ):
        checks.append(_channel(client, what, channel))
    return checks


def _channel(client: WebClient, what: str, channel: str | None) -> Check:
    name = f"Slack {what}"
    key = what.split()[0] + "_channel"
    if not channel:
        return Check(name, False, "not set", f"Set [slack] {key} in followup.toml to the channel's ID (C…).")
    try:
        info = client.conversations_info(channel=channel)["channel"]
    except SlackApiError as exc:
        code = exc.response.get("error")
        fix = (
            f"Set [slack] {key} to the channel's ID (channel details, at the bottom), not its name."
            if code == "channel_not_found"
            else REINSTALL
        )
        return Check(name, False, f"{channel}: Slack said {code}", fix)
    except (SlackClientError, OSError) as exc:
        return Check(name, False, f"{channel}: Slack not reachable: {exc}"[:200], "Check SLACK_API_URL.")
    label = f"#{info.get('name') or channel}"
    if info.get("is_archived"):
        return Check(name, False, f"{label} is archived", f"Unarchive it, or set [slack] {key} to another.")
    if not info.get("is_member"):
        return Check(name, False, f"{label} exists; the app is not in it", f"In {label}: /invite @followup")
    return Check(name, True, f"{label}, the app is a member")


def front_door(settings: Settings, client: WebClient | None) -> list[Check]:
    """Socket Mode when SLACK_APP_TOKEN is set (Slack must hand out a connection), else HTTP, where every
    request is checked against the signing secret."""
    if settings.slack_app_token is not None and settings.slack_app_token.get_secret_value().strip():
        token = settings.slack_app_token.get_secret_value().strip()
        name = "Slack Socket Mode"
        if not token.startswith("xapp-"):
            return [Check(name, False, "SLACK_APP_TOKEN is not an app-level token (xapp-…)", _APP_TOKEN_FIX)]
        if client is None:
            return [Check(name, False, "not checked: SLACK_BOT_TOKEN is not set", "Set SLACK_BOT_TOKEN.")]
        try:
            client.apps_connections_open(app_token=token)
        except SlackApiError as exc:
            code = exc.response.get("error")
            return [Check(name, False, f"Slack rejected SLACK_APP_TOKEN: {code}", _APP_TOKEN_FIX)]
        except (SlackClientError, OSError) as exc:
            return [Check(name, False, f"Slack not reachable: {exc}"[:200], "Check SLACK_API_URL.")]
        return [Check(name, True, "Slack opens a connection for SLACK_APP_TOKEN (no public URL needed)")]
    secret = settings.slack_signing_secret
    if secret is None or not secret.get_secret_value().strip():
        return [
            Check(
                "Slack requests",
                False,
                "neither SLACK_APP_TOKEN (Socket Mode) nor SLACK_SIGNING_SECRET (HTTP) is set",
                "Set SLACK_APP_TOKEN for Socket Mode, or SLACK_SIGNING_SECRET (Basic Information) for HTTP.",
            )
        ]
    where = (settings.public_url or f"http://<this host>:{settings.port}").rstrip("/")
    return [
        Check(
            "Slack requests",
            True,
            f"HTTP mode: signed with SLACK_SIGNING_SECRET; Slack's request URLs must be {where}/slack/events",
        )
    ]


_APP_TOKEN_FIX = (
    "Basic Information → App-Level Tokens: generate one with connections:write, set SLACK_APP_TOKEN, and "
    "turn Socket Mode on; or unset SLACK_APP_TOKEN to run over HTTP."
)


def smtp(settings: Settings, timeout: float) -> list[Check]:
    """Connect, STARTTLS when SMTP_STARTTLS is set, and log in when SMTP_USERNAME is: what a send does,
    without sending."""
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        server = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    except (OSError, smtplib.SMTPException) as exc:
        return [Check("SMTP", False, f"{where} not reachable: {exc}"[:200], "Check SMTP_HOST and SMTP_PORT.")]
    checks = [Check("SMTP", True, f"{where} answers")]
    try:
        server.ehlo()
        if settings.smtp_starttls:
            if not server.has_extn("starttls"):
                checks.append(
                    Check("SMTP STARTTLS", False, f"{where} does not offer STARTTLS", _STARTTLS_FIX)
                )
                return checks
            try:
                server.starttls(context=ssl.create_default_context())
                server.ehlo()
            except (ssl.SSLError, smtplib.SMTPException, OSError) as exc:
                checks.append(Check("SMTP STARTTLS", False, f"failed: {exc}"[:200], _STARTTLS_FIX))
                return checks
            checks.append(Check("SMTP STARTTLS", True, "the connection is encrypted, certificate verified"))
        if settings.smtp_username:
            try:
                server.login(
                    settings.smtp_username,
                    settings.smtp_password.get_secret_value() if settings.smtp_password else "",
                )
            except smtplib.SMTPException as exc:
                detail = f"{where} refused SMTP_USERNAME/SMTP_PASSWORD: {exc}"[:200]
                checks.append(Check("SMTP login", False, detail, "Check SMTP_USERNAME and SMTP_PASSWORD."))
                return checks
            checks.append(Check("SMTP login", True, f"logged in as {settings.smtp_username}"))
    except (OSError, smtplib.SMTPException) as exc:
        checks.append(Check("SMTP session", False, f"{where}: {exc}"[:200], "Check the SMTP server's logs."))
    finally:
        try:
            server.quit()
        except (OSError, smtplib.SMTPException):
            server.close()
    return checks


_STARTTLS_FIX = (
    "Use the server's submission port (587) with STARTTLS, or set SMTP_STARTTLS=false only for a relay on "
    "this machine or network."
)


def imap(mailbox: MailboxConfig | None) -> list[Check]:
    if mailbox is None:
        return [
            Check(
                "IMAP replies mailbox",
                True,
                "not configured (IMAP_HOST unset): replies are read from the CRM only",
            )
        ]
    try:
        with open_mailbox(mailbox) as box:
            where = f"{mailbox.host}:{mailbox.port}"
            detail = f"{mailbox.username} at {where}, {mailbox.mailbox} (UIDVALIDITY {box.uidvalidity})"
    except MailboxError as exc:
        return [
            Check(
                "IMAP replies mailbox",
                False,
                str(exc),
                "Check IMAP_HOST, IMAP_PORT, IMAP_TLS, IMAP_USERNAME, IMAP_PASSWORD and IMAP_MAILBOX.",
            )
        ]
    return [Check("IMAP replies mailbox", True, detail)]


def models(drafting: Drafting) -> list[str]:
    """Every model the pipeline may call: each step's chosen prompt (and its A/B arm), after the config's
    overrides."""
    from bot.drafting.steps import STEP_OUTPUTS
    from prompts import load

    found: list[str] = []
    for step in STEP_OUTPUTS:
        cfg = drafting.step(step)
        versions = [cfg.version] + ([cfg.ab_version] if cfg.ab_version and cfg.ab_share > 0 else [])
        for version in versions:
            model = cfg.model or drafting.model or load(step, version).model
            if model not in found:
                found.append(model)
    return found


def claude(client: anthropic.Anthropic | None, drafting: Drafting) -> list[Check]:
    if client is None:
        return [Check("Claude", True, "ANTHROPIC_API_KEY not set: drafts come from the offline path")]
    import anthropic

    checks: list[Check] = []
    for model in models(drafting):
        try:
            info = client.models.retrieve(model)
        except anthropic.AuthenticationError:
            return [
                Check(
                    "Claude API key",
                    False,
                    "Anthropic rejected ANTHROPIC_API_KEY",
                    "Create a key in the Anthropic Console and set ANTHROPIC_API_KEY.",
                )
            ]
        except anthropic.NotFoundError:
            checks.append(
                Check(
                    f"Claude model {model}",
                    False,
                    "not available to this key",
                    "Set [drafting] model (or [drafting.steps.<step>] model) to a model this key has.",
                )
            )
            continue
        except anthropic.APIError as exc:
            problem = f"{type(exc).__name__}: {exc}"[:200]
            return [*checks, Check("Claude", False, problem, "Check ANTHROPIC_BASE_URL.")]
        checks.append(Check(f"Claude model {model}", True, f"available ({info.display_name})"))
    return [Check("Claude API key", True, "accepted"), *checks]


def failed(checks: Iterable[Check]) -> list[Check]:
    return [c for c in checks if not c.ok]
