"""Composition root: settings → engine → adapters → Bolt app → handlers → scheduler."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.error import BoltError
from slack_sdk import WebClient

import handlers
from bot.clock import SystemClock
from bot.config import FollowupConfig, load_config
from bot.db import Database, make_engine, migrate
from bot.drafting.offline import OfflineDrafter
from bot.errors import ConfigError
from bot.mailer import SMTPMailer
from bot.ports import CRM, Clock, Drafter
from bot.services.deps import Deps
from bot.settings import Settings
from handlers.chat import SlackChat


def build_crm(settings: Settings, db: Database) -> CRM:
    if settings.hubspot_access_token:
        from crm.hubspot import HubSpotCRM

        return HubSpotCRM(settings.hubspot_access_token.get_secret_value(), base_url=settings.hubspot_api_url)
    from crm.embedded import EmbeddedCRM

    return EmbeddedCRM(db)


def build_drafter(settings: Settings, config: FollowupConfig) -> Drafter:
    if settings.anthropic_api_key:
        import anthropic

        from bot.drafting.claude import ClaudeDrafter

        client = anthropic.Anthropic(
            api_key=settings.anthropic_api_key.get_secret_value(), base_url=settings.anthropic_base_url
        )
        return ClaudeDrafter(client, model=config.drafting.model, max_tokens=config.drafting.max_tokens)
    return OfflineDrafter()


def slack_client(settings: Settings) -> WebClient:
    settings.require("slack_bot_token")
    token = settings.slack_bot_token.get_secret_value()  # type: ignore[union-attr]
    if not token.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN must be a bot token starting with 'xoxb-'.")
    return WebClient(token=token, base_url=settings.slack_api_url or WebClient.BASE_URL)


def build_deps(
    settings: Settings,
    *,
    chat_client: WebClient | None = None,
    clock: Clock | None = None,
    run_migrations: bool = True,
) -> Deps:
    config = load_config(settings.followup_config)
    db = Database(make_engine(settings.database_url))
    if run_migrations:
        migrate(db.engine)
    offline = OfflineDrafter()
    return Deps(
        db=db,
        crm=build_crm(settings, db),
        drafter=build_drafter(settings, config),
        fallback_drafter=offline,
        mailer=SMTPMailer(
            settings.smtp_host,
            settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            starttls=settings.smtp_starttls,
        ),
        chat=SlackChat(chat_client) if chat_client else None,
        clock=clock or SystemClock(),
        config=config,
    )


@dataclass
class Runtime:
    deps: Deps
    bolt: App
    workers: ThreadPoolExecutor  # where listeners finish their work after the ack

    def shutdown(self) -> None:
        """Let in-flight work (sends, CRM logs, card updates) finish, then release the database."""
        self.workers.shutdown(wait=True)
        self.deps.db.engine.dispose()


def build(settings: Settings, *, clock: Clock | None = None, socket_mode: bool = False) -> Runtime:
    """Everything `followup serve` runs, wired; tests build the same thing against local fakes."""
    client = slack_client(settings)
    if not socket_mode:
        settings.require("slack_signing_secret")
    deps = build_deps(settings, chat_client=client, clock=clock)
    workers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="followup-listener")
    try:
        bolt = App(
            client=client,
            listener_executor=workers,
            signing_secret=(
                settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
            ),
            process_before_response=False,
        )
    except BoltError as exc:
        raise ConfigError(f"SLACK_BOT_TOKEN was rejected by Slack: {exc}") from None
    handlers.register_all(bolt, deps)
    return Runtime(deps=deps, bolt=bolt, workers=workers)


def wsgi_app(bolt: App) -> Callable[[dict, Callable], Iterable[bytes]]:
    """`POST /slack/events` for Slack, `GET /healthz` for load balancers."""
    slack = SlackRequestHandler(bolt, path="/slack/events")

    def application(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"ok": true}']
        return slack(environ, start_response)

    return application
