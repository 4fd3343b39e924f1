"""Composition root: settings → engine → adapters → Bolt app → handlers → workers and scheduler."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from pydantic import SecretStr
from slack_bolt import App
from slack_bolt.error import BoltError
from slack_sdk import WebClient

import handlers
from bot import logs, telemetry
from bot.adapters.claude import ClaudeSteps
from bot.adapters.clock import SystemClock
from bot.adapters.imap import MailboxConfig
from bot.adapters.slack import SlackChat, web_client
from bot.adapters.smtp import SMTPMailer
from bot.config import FollowupConfig, load_config
from bot.db import Database, make_engine, migrate
from bot.drafting.ledger import Ledger
from bot.drafting.pipeline import Pipeline
from bot.drafting.style import style_source
from bot.errors import ConfigError
from bot.ports import CRM, Clock
from bot.services import cards, intake, optout, reports, review, sequences, writeback
from bot.services.deliveries import Deliveries
from bot.services.deps import Deps
from bot.settings import Settings
from bot.work.queue import Kind
from bot.work.runner import Handler, WorkRunner, holder_name
from handlers.deferred import Deferred
from handlers.gate import Gate
from handlers.hubspot_webhook import HubSpotWebhook
from handlers.inbound import InboundEndpoint
from handlers.metrics import MetricsEndpoint
from handlers.socket import Health, SocketFront
from handlers.unsubscribe import Unsubscribe

if TYPE_CHECKING:
    import anthropic


def build_crm(settings: Settings, config: FollowupConfig, db: Database) -> CRM:
    if settings.hubspot_access_token:
        from crm.hubspot import HubSpotCRM

        return HubSpotCRM(
            settings.hubspot_access_token.get_secret_value(),
            base_url=settings.hubspot_api_url,
            timeout=config.timeouts.crm_seconds,
            properties=config.hubspot.properties,
            requests_per_10s=config.hubspot.requests_per_10s,
            searches_per_second=config.hubspot.searches_per_second,
        )
    from crm.embedded import EmbeddedCRM

    return EmbeddedCRM(db)


def build_drafter(settings: Settings, config: FollowupConfig, db: Database, clock: Clock) -> Pipeline:
    """The AI pipeline: on Claude when ANTHROPIC_API_KEY is set (the offline path under every step), offline
    otherwise. Every step's output, tokens and cost go to the ledger."""
    ledger = Ledger(db, clock, config.drafting, config.business_hours.timezone)
    style = style_source(db, config.drafting.style_examples)
    client = claude_client(settings, config)
    engine = ClaudeSteps(client, config.drafting, ledger) if client is not None else None
    return Pipeline(engine, ledger, config.drafting, style=style)


def claude_client(settings: Settings, config: FollowupConfig) -> anthropic.Anthropic | None:
    """The official client when ANTHROPIC_API_KEY is set (ANTHROPIC_BASE_URL for a proxy), else None."""
    if not settings.anthropic_api_key:
        return None
    import anthropic

    return anthropic.Anthropic(
        api_key=settings.anthropic_api_key.get_secret_value(),
        base_url=settings.anthropic_base_url,
        timeout=config.timeouts.ai_seconds,
        max_retries=1,
    )


def mailbox_config(settings: Settings, config: FollowupConfig) -> MailboxConfig | None:
    """The replies mailbox from IMAP_*; None (no reply reading) when IMAP_HOST is not set."""
    if not settings.imap_host:
        return None
    settings.require("imap_username", "imap_password")
    return MailboxConfig(
        host=settings.imap_host,
        port=settings.imap_port,
        username=settings.imap_username or "",
        password=settings.imap_password.get_secret_value() if settings.imap_password else "",
        tls=settings.imap_tls,
        mailbox=settings.imap_mailbox,
        timeout=config.timeouts.smtp_seconds,
    )


def slack_client(settings: Settings, config: FollowupConfig | None = None) -> WebClient:
    settings.require("slack_bot_token")
    token = settings.slack_bot_token.get_secret_value()  # type: ignore[union-attr]
    if not token.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN must be a bot token starting with 'xoxb-'.")
    timeout = (config or load_config(settings.followup_config)).timeouts.slack_seconds
    return web_client(token, base_url=settings.slack_api_url, timeout=timeout)


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
    clock = clock or SystemClock()
    drafter = build_drafter(settings, config, db, clock)
    return Deps(
        db=db,
        crm=build_crm(settings, config, db),
        drafter=drafter,
        fallback_drafter=Pipeline(None, drafter.ledger, config.drafting),
        mailer=SMTPMailer(
            settings.smtp_host,
            settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            starttls=settings.smtp_starttls,
            timeout=config.timeouts.smtp_seconds,
        ),
        chat=SlackChat(chat_client) if chat_client else None,
        clock=clock,
        config=config,
        public_url=settings.public_url or f"http://localhost:{settings.port}",
        mailbox=mailbox_config(settings, config),
    )


def work_runner(deps: Deps, deferred: Deferred | None = None, *, holder: str | None = None) -> WorkRunner:
    """The workers that carry out queued work: Slack requests already acknowledged, posting and updating
    cards, sending, logging to the CRM."""
    handlers_by_kind = {
        Kind.POST_CARD: Handler(partial(cards.post_job, deps), chat=True),
        Kind.REFRESH_CARDS: Handler(partial(cards.refresh_job, deps), chat=True),
        Kind.SEND: Handler(partial(review.send_job, deps), give_up=partial(review.send_gave_up, deps)),
        Kind.CRM_OPTOUT: Handler(partial(optout.crm_job, deps)),
        Kind.CRM_SEQUENCE: Handler(partial(sequences.crm_job, deps)),
        Kind.INBOUND: Handler(partial(intake.process_job, deps)),
        Kind.DIGEST: Handler(partial(reports.digest_job, deps), chat=True),
        Kind.NOTIFY: Handler(partial(cards.notify_job, deps), chat=True),
        Kind.CRM_LOG: Handler(
            partial(writeback.writeback_job, deps), give_up=partial(writeback.writeback_gave_up, deps)
        ),
    }
    if deferred is not None and isinstance(deps.chat, SlackChat):
        handlers_by_kind[Kind.SLACK] = Handler(partial(deferred.run, deps.chat.client), chat=True)
    return WorkRunner(deps.db, handlers_by_kind, deps.config.work, deps.clock, holder=holder or holder_name())


@dataclass
class Runtime:
    deps: Deps
    bolt: App
    workers: WorkRunner
    settings: Settings

    def shutdown(self, timeout: float = 60.0) -> None:
        """Stop claiming work, let items in hand finish, then release the database."""
        self.workers.stop(timeout)
        self.deps.db.engine.dispose()


def build(settings: Settings, *, clock: Clock | None = None, socket_mode: bool = False) -> Runtime:
    """Everything `followup serve` runs, wired; tests build the same thing against local fakes."""
    config = load_config(settings.followup_config)
    client = slack_client(settings, config)
    if not socket_mode:
        settings.require("slack_signing_secret")
    deps = build_deps(settings, chat_client=client, clock=clock)
    try:
        bolt = App(
            client=client,
            signing_secret=(
                settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
            ),
            # acks run in the request thread (handlers ack first and hand the rest to lazy listeners), so
            # Slack's 200 never waits for a free listener thread or Bolt's 10 ms ack polling
            process_before_response=True,
            # over HTTP, the gate (wsgi_app) checks the signature on the raw bytes before anything parses
            # them, then hands Bolt a cleaned copy of the request, which no longer carries Slack's signature
            request_verification_enabled=False,
            logger=logs.bolt_logger(),
        )
    except BoltError as exc:
        raise ConfigError(f"SLACK_BOT_TOKEN was rejected by Slack: {exc}") from None
    deferred = handlers.register_all(bolt, deps)
    return Runtime(deps=deps, bolt=bolt, workers=work_runner(deps, deferred), settings=settings)


def wsgi_app(runtime: Runtime) -> Gate:
    """`POST /slack/events` for Slack (signature, size and shape checked before Bolt), `GET /healthz` for
    load balancers, `/unsubscribe/{token}` for leads, `POST /inbound` for signed website forms."""
    runtime.settings.require("slack_signing_secret")
    secret = runtime.settings.slack_signing_secret.get_secret_value()  # type: ignore[union-attr]
    inbound = runtime.settings.inbound_signing_secret
    client_secret = runtime.settings.hubspot_client_secret
    return Gate(
        runtime.bolt,
        secret,
        slack_api_url=runtime.settings.slack_api_url,
        unsubscribe=Unsubscribe(runtime.deps),
        inbound=InboundEndpoint(runtime.deps, inbound.get_secret_value() if inbound else None),
        hubspot=HubSpotWebhook(
            runtime.deps,
            client_secret.get_secret_value() if client_secret else None,
            runtime.deps.public_url,
        ),
        metrics=metrics_endpoint(runtime),
        deliveries=Deliveries(runtime.deps.db, runtime.deps.clock),
    )


def socket_front(runtime: Runtime, *, ping_interval: float = 5.0, retry_seconds: float = 30.0) -> SocketFront:
    """The Socket Mode connection (`SLACK_APP_TOKEN`), in front of the same Bolt app as the HTTP door."""
    runtime.settings.require("slack_app_token")
    return SocketFront(
        runtime.bolt,
        runtime.settings.slack_app_token.get_secret_value(),  # type: ignore[union-attr]
        deliveries=Deliveries(runtime.deps.db, runtime.deps.clock),
        slack_api_url=runtime.settings.slack_api_url,
        ping_interval=ping_interval,
        retry_seconds=retry_seconds,
    )


def socket_health(runtime: Runtime, front: SocketFront) -> Health:
    """`GET /healthz` (the socket's state) and `GET /metrics` on PORT in Socket Mode."""
    return Health(front.state, metrics_endpoint(runtime))


def metrics_endpoint(runtime: Runtime) -> MetricsEndpoint:
    return MetricsEndpoint(telemetry.registry(runtime.deps), _secret(runtime.settings.metrics_token))


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None and value.get_secret_value() else None
