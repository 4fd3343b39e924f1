"""The `followup` command."""

from __future__ import annotations

import logging
import sys
import tempfile
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from bot.errors import FollowupError
from bot.settings import Settings, load_settings

cli = typer.Typer(
    help="followup: no lead goes cold, no AI email leaves without a person's say.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)


def _settings(**overrides: object) -> Settings:
    return load_settings(**overrides)


@cli.command()
def demo(
    json_output: Annotated[
        bool, typer.Option("--json/--no-json", help="Also print each card's Block Kit JSON.")
    ] = True,
    database_url: Annotated[
        str | None, typer.Option(help="Database to use (default: a fresh temporary SQLite file).")
    ] = None,
) -> None:
    """Seed the embedded CRM with sample data, run a scan and print each card (offline, no accounts)."""
    from app import build_deps
    from bot import demo as demo_mod
    from bot.sample_data import seed

    with tempfile.TemporaryDirectory(prefix="followup-demo-") as tmp:
        # embedded CRM and offline drafter whatever the environment says: the demo needs no accounts
        settings = _settings(
            database_url=database_url or f"sqlite:///{Path(tmp) / 'demo.db'}",
            hubspot_access_token=None,
            anthropic_api_key=None,
        )
        deps = build_deps(settings)
        try:
            book = seed(deps.db, deps.clock.now(), hours=deps.config.business_hours)
            console.print(
                f"Seeded {len(book.contacts)} contacts at {len(book.companies)} companies, "
                f"{len(book.deals)} deals and {len(book.engagements)} emails, calls, notes and form fills."
            )
            demo_mod.run(deps, console, show_json=json_output)
        finally:
            deps.db.engine.dispose()


@cli.command("seed")
def seed_cmd() -> None:
    """Load the sample book of business into the embedded CRM (replaces what is there)."""
    from app import build_deps
    from bot.sample_data import seed

    deps = build_deps(_settings())
    book = seed(deps.db, deps.clock.now(), hours=deps.config.business_hours)
    console.print(
        f"Seeded {len(book.contacts)} contacts, {len(book.companies)} companies, {len(book.deals)} deals."
    )


@cli.command()
def scan(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would trigger; store and post nothing.")
    ] = False,
) -> None:
    """Run the trigger rules once and post a card for each new follow-up."""
    from app import build_deps, slack_client
    from bot.triggers import run_rules

    settings = _settings()
    if dry_run:
        deps = build_deps(settings)
        for t in run_rules(deps.crm, deps.config, deps.calendar, deps.clock.now()):
            console.print(f"[bold]{t.rule}[/bold] contact {t.contact_id}: {t.reason}")
        return
    from bot.services import scan as scan_service

    deps = build_deps(settings, chat_client=slack_client(settings) if settings.slack_bot_token else None)
    result = scan_service.scan(deps, post=deps.chat is not None)
    console.print(
        f"{len(result.created)} new follow-ups, {result.already_known} already known, {result.posted} posted."
    )
    for failure in result.post_failures:
        err.print(f"[yellow]not posted[/yellow] {escape(failure)}")
    for failure in result.draft_failures:
        err.print(f"[yellow]not drafted[/yellow] {escape(failure)}")
    if deps.chat is None:
        err.print("SLACK_BOT_TOKEN is not set: follow-ups were stored but no cards were posted.")


@cli.command()
def serve() -> None:
    """Run the Slack app (Socket Mode with SLACK_APP_TOKEN, else HTTP on PORT) and the scheduler."""
    from app import build, wsgi_app
    from bot.jobs import start_scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = _settings()
    socket_mode = settings.slack_app_token is not None
    if socket_mode and not settings.slack_app_token.get_secret_value().startswith("xapp-"):  # type: ignore[union-attr]
        raise FollowupError("SLACK_APP_TOKEN must be an app-level token starting with 'xapp-'.")
    runtime = build(settings, socket_mode=socket_mode)
    if socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler
        from slack_sdk.errors import SlackApiError

        handler = SocketModeHandler(runtime.bolt, settings.slack_app_token.get_secret_value())  # type: ignore[union-attr]
        try:
            handler.connect()
        except SlackApiError as exc:
            raise FollowupError(
                f"SLACK_APP_TOKEN was rejected by Slack: {exc.response.get('error')}"
            ) from None
        start_scheduler(runtime.deps)
        console.print("followup is running in Socket Mode.")
        threading.Event().wait()
    else:
        start_scheduler(runtime.deps)
        import waitress

        console.print(
            f"followup is listening on http://0.0.0.0:{settings.port} (POST /slack/events, GET /healthz)"
        )
        waitress.serve(wsgi_app(runtime.bolt), host="0.0.0.0", port=settings.port, threads=8)


@cli.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    from bot.db import make_engine
    from bot.db import migrate as run_migrations

    settings = _settings()
    run_migrations(make_engine(settings.database_url))
    console.print("Database is up to date.")


def main() -> None:
    try:
        cli()
    except FollowupError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True, highlight=False)
        sys.exit(2)
