"""The `followup` command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from bot import logs
from bot.errors import FollowupError
from bot.settings import Settings, load_settings

if TYPE_CHECKING:
    from app import Runtime
    from bot.clock import FixedClock
    from bot.doctor import Check

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
        bool, typer.Option("--json/--no-json", help="Also print each card's Block Kit JSON and Builder link.")
    ] = False,
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
        clock, day_off = _demo_clock(settings)
        deps = build_deps(settings, clock=clock)
        if day_off:
            console.print(day_off)
        try:
            book = seed(deps.db, deps.clock.now(), hours=deps.config.business_hours)
            console.print(
                f"Seeded {len(book.contacts)} contacts at {len(book.companies)} companies, "
                f"{len(book.deals)} deals and {len(book.engagements)} emails, calls, notes and form fills."
            )
            demo_mod.run(deps, console, show_json=json_output)
        finally:
            deps.db.engine.dispose()


def _demo_clock(settings: Settings) -> tuple[FixedClock | None, str | None]:
    """Now, or on a day off in the team's calendar (a weekend, a public holiday) the next working morning: a
    day off shows no new cards (the daily budget holds them for the next working day), so the demo runs as
    of then and says so."""
    from bot.clock import BusinessCalendar, FixedClock
    from bot.config import load_config

    cal = BusinessCalendar(load_config(settings.followup_config).business_hours)
    now = datetime.now(UTC)
    today = now.astimezone(cal.zone).date()
    if cal.is_workday(today):
        return None, None
    morning = cal.next_opening(cal.start_of_day(now) + timedelta(days=1)) + timedelta(hours=1)
    when = morning.astimezone(cal.zone).strftime("%a %d %b %H:%M")
    name = cal.holiday_name(today) or f"{today:%A}"
    return FixedClock(morning), (
        f"Today is a day off in the team's calendar ({name}): no new cards are shown on a day off, so "
        f"the demo runs as of {when} ({cal.zone.key}), the next working morning."
    )


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
    json_output: Annotated[bool, typer.Option("--json", help="Print the dry run as a JSON array.")] = False,
) -> None:
    """Run the trigger rules once, store new follow-ups and post their cards."""
    from app import build_deps, slack_client, work_runner
    from bot.services import lifecycle
    from bot.triggers.registry import run_rules

    settings = _settings()
    if dry_run:
        deps = build_deps(settings)
        run = run_rules(deps.config.triggers, lifecycle.rule_context(deps))
        if json_output:
            rows = [
                {
                    "rule": t.rule,
                    "contact_id": t.contact_id,
                    "deal_id": t.deal_id,
                    "reason": t.reason,
                    "since": t.since.isoformat(),
                    "due_at": t.due_at.isoformat() if t.due_at else None,
                    "dedupe_key": t.dedupe_key,
                }
                for t in run.triggers
            ]
            sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        else:
            for t in run.triggers:
                console.print(f"[bold]{t.rule}[/bold] contact {escape(t.contact_id)}: {escape(t.reason)}")
            for why, count in run.skipped.items():
                console.print(f"{count} left alone — {escape(why)}")
        _report_rule_failures(run.failures)
        return
    from bot.services import cards
    from bot.services import scan as scan_service
    from bot.work.queue import Kind

    deps = build_deps(settings, chat_client=slack_client(settings) if settings.slack_bot_token else None)
    started = deps.clock.now()
    result = scan_service.scan(deps)
    posted = 0
    if deps.chat is not None:
        # post the cards now (sends stay with `serve`); anything that fails stays queued for it
        work_runner(deps).drain(frozenset({Kind.POST_CARD, Kind.REFRESH_CARDS}))
        posted = cards.posted_since(deps, started)
    console.print(
        f"{len(result.created)} new follow-ups, {len(result.scheduled)} scheduled for later, "
        f"{result.already_known} already known, {len(result.resolved)} no longer needed; "
        f"{posted} cards posted."
    )
    if result.queued:
        cal, today = deps.calendar, started.astimezone(deps.calendar.zone).date()
        why = (
            "today is a day off in the team's calendar"
            if not cal.is_workday(today)
            else "their owners' day is full"
        )
        console.print(
            f"{len(result.queued)} more wait for room in the daily budget ({why}): see /followup status."
        )
    for why, count in result.skipped.items():
        console.print(f"{count} left alone — {escape(why)}")
    _report_rule_failures(result.rule_failures)
    for failure in result.post_failures:
        err.print(f"[yellow]not posted[/yellow] {escape(failure)}")
    for failure in result.draft_failures:
        err.print(f"[yellow]not drafted[/yellow] {escape(failure)}")
    if deps.chat is None:
        err.print(
            "SLACK_BOT_TOKEN is not set: follow-ups were stored; `followup serve` will post their cards."
        )
    if result.rule_failures:
        raise typer.Exit(1)


def _report_rule_failures(failures: dict[str, str]) -> None:
    for rule, error in failures.items():
        err.print(f"[red]rule {escape(rule)} failed[/red] (the other rules still ran): {escape(error)}")


@cli.command()
def serve() -> None:
    """Run the Slack app (Socket Mode with SLACK_APP_TOKEN, else HTTP on PORT), the workers and the
    scheduler. SIGTERM stops it gracefully: no new work is claimed, work in hand finishes."""
    from app import build, socket_front, socket_health, wsgi_app
    from bot.jobs import start_scheduler

    settings = _settings()
    logs.setup(settings.log_level)
    socket_mode = settings.slack_app_token is not None
    if socket_mode and not settings.slack_app_token.get_secret_value().startswith("xapp-"):  # type: ignore[union-attr]
        raise FollowupError("SLACK_APP_TOKEN must be an app-level token starting with 'xapp-'.")
    runtime = build(settings, socket_mode=socket_mode)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    scheduler, worker, front = None, None, None
    try:
        import waitress

        if socket_mode:
            front = socket_front(runtime)
            front.connect()
            # no Slack requests on PORT in Socket Mode: GET /healthz (the socket's state) and GET /metrics
            try:
                server = waitress.create_server(
                    socket_health(runtime, front), host="0.0.0.0", port=settings.port, threads=2
                )
            except OSError as exc:  # Socket Mode needs no port: a busy one costs only the health check
                err.print(
                    f"[yellow]PORT {settings.port} is not free ({exc.strerror}): GET /healthz and /metrics "
                    "are not served; set PORT to a free port for them.[/yellow]",
                    soft_wrap=True,
                )
                server = None
        else:
            server = waitress.create_server(wsgi_app(runtime), host="0.0.0.0", port=settings.port, threads=16)
        if runtime.deps.config.work.separate_process:
            # the acks get this process to themselves; the workers and the scheduler run in a child
            worker = _start_worker_process()
        else:
            runtime.workers.start()
            scheduler = start_scheduler(runtime.deps, holder=runtime.workers.holder)
        if socket_mode:
            metrics = _serve_metrics(runtime, settings)
            where = f"; GET /metrics also on port {metrics}" if metrics else ""
            port = f"; GET /healthz and /metrics on port {server.effective_port}" if server else ""
            console.print(f"followup is running in Socket Mode{port}{where}.", soft_wrap=True)
            if server is not None:
                server.run()
            else:
                threading.Event().wait()
        else:
            console.print(
                f"followup is listening on http://0.0.0.0:{server.effective_port} "  # type: ignore[union-attr]
                "(POST /slack/events, GET /healthz, GET /metrics)",
                soft_wrap=True,  # one line in a log, whatever the terminal's width
            )
            server.run()
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        if front is not None:
            front.close()  # nothing new arrives; what was acknowledged is stored, the workers finish it
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        console.print("followup is stopping: finishing work in hand…")
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            worker.wait()
        runtime.shutdown()
        console.print("followup stopped.")


@cli.command()
def work() -> None:
    """Run only the workers and the scheduler (no Slack listener): what `serve` starts beside itself, and
    what extra worker replicas run."""
    from app import build
    from bot.jobs import start_scheduler

    settings = _settings()
    logs.setup(settings.log_level)
    runtime = build(settings, socket_mode=settings.slack_app_token is not None)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    _serve_metrics(runtime, settings)
    runtime.workers.start()
    scheduler = start_scheduler(runtime.deps, holder=runtime.workers.holder)
    try:
        threading.Event().wait()
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        scheduler.shutdown(wait=False)
        runtime.shutdown()


def _serve_metrics(runtime: Runtime, settings: Settings) -> int | None:
    """GET /metrics on METRICS_PORT, for a process with no HTTP port of its own (Socket Mode, or `work`)."""
    if settings.metrics_port is None:
        return None
    import waitress

    from app import metrics_endpoint

    server = waitress.create_server(
        metrics_endpoint(runtime), host="0.0.0.0", port=settings.metrics_port, threads=2
    )
    threading.Thread(target=server.run, name="metrics", daemon=True).start()
    return int(server.effective_port)  # type: ignore[union-attr]


def dies_with_this_process() -> Callable[[], None]:
    """A `preexec_fn` for a child process that must not outlive this one, even on SIGKILL (Linux): the kernel
    kills it when this process's thread ends. If this process died between the fork and the request, the
    child is already an orphan and ends itself."""
    parent = os.getpid()

    def die_with_parent() -> None:
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            return
        if os.getppid() != parent:
            os._exit(1)

    return die_with_parent


def _start_worker_process() -> subprocess.Popen:
    """`followup work` as a child that dies with this process."""
    env = {k: v for k, v in os.environ.items() if k != "METRICS_PORT"}
    if os.environ.get("METRICS_WORKER_PORT"):  # the worker's own counters, on a port of its own
        env["METRICS_PORT"] = os.environ["METRICS_WORKER_PORT"]
    return subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; main()", "work"],
        preexec_fn=dies_with_this_process(),
        env=env,
    )


class _Stop(Exception):
    """Raised in the main thread by SIGTERM, so the server loop ends and the shutdown runs."""


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise _Stop()


@cli.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    from bot.db import make_engine
    from bot.db import migrate as run_migrations

    settings = _settings()
    run_migrations(make_engine(settings.database_url))
    console.print("Database is up to date.")


hubspot_cli = typer.Typer(help="HubSpot: check an install before turning it on.", no_args_is_help=True)
cli.add_typer(hubspot_cli, name="hubspot")


@hubspot_cli.command("check")
def hubspot_check() -> None:
    """Token, scopes (and what needs each), pipelines and closed stages, the deal properties the config
    names, owners matched to Slack users: a table of ✓/✗ with how to fix each ✗; exit 1 if any ✗."""
    from app import build_crm, slack_client
    from bot.adapters.slack import SlackChat
    from bot.config import load_config
    from crm.hubspot import HubSpotCRM
    from crm.hubspot_check import run_checks

    settings = _settings()
    settings.require("hubspot_access_token")
    config = load_config(settings.followup_config)
    crm = build_crm(settings, config, None)  # type: ignore[arg-type]
    assert isinstance(crm, HubSpotCRM)
    chat = SlackChat(slack_client(settings, config)) if settings.slack_bot_token else None
    _report_checks(run_checks(crm, config, chat))


def _report_checks(checks: list[Check]) -> None:
    """The ✓/✗ table, a count, and exit 1 if anything is to fix."""
    from rich.table import Table

    table = Table("", "check", "found", "how to fix", show_lines=False)
    for c in checks:
        mark = "[green]✓[/green]" if c.ok else "[red]✗[/red]"
        table.add_row(mark, escape(c.name), escape(c.detail), escape(c.fix))
    console.print(table)
    failed = [c for c in checks if not c.ok]
    console.print(f"{len(checks) - len(failed)} passed, {len(failed)} to fix.")
    if failed:
        raise typer.Exit(1)


@cli.command()
def doctor() -> None:
    """Check the whole install: settings and config, the database and its schema, Slack (token, scopes,
    channels, Socket Mode or signing secret), SMTP, IMAP, HubSpot and Claude. A table of ✓/✗ with how to
    fix each ✗; exit 1 if any ✗. Nothing is sent and nothing is changed."""
    from app import build_crm, claude_client, mailbox_config, slack_client
    from bot import doctor as checks_for
    from bot.adapters.slack import SlackChat
    from bot.config import load_config
    from bot.doctor import Check
    from bot.errors import ConfigError
    from crm.hubspot import HubSpotCRM
    from crm.hubspot_check import run_checks

    try:
        settings = _settings()
    except ConfigError as exc:
        _report_checks([Check("Settings", False, str(exc), "Fix that variable in the environment or .env.")])
        return
    checks = [Check("Settings", True, "the environment (and .env) parse")]
    try:
        config = load_config(settings.followup_config)
    except FollowupError as exc:
        _report_checks([*checks, Check("Config", False, str(exc), "Fix followup.toml where it says.")])
        return
    found = (
        f"{settings.followup_config} parses"
        if settings.followup_config
        else "FOLLOWUP_CONFIG unset: defaults"
    )
    checks.append(Check("Config", True, found))
    checks += checks_for.database(settings.database_url)
    client, slack_refused = None, False
    try:
        client = slack_client(settings, config) if settings.slack_bot_token else None
    except ConfigError as exc:
        checks.append(Check("Slack bot token", False, str(exc), checks_for.REINSTALL))
    else:
        rows = checks_for.slack(client, config)
        checks += rows
        if not rows[0].ok:
            client, slack_refused = None, True
    checks += checks_for.front_door(settings, client)
    checks += checks_for.smtp(settings, config.timeouts.smtp_seconds)
    try:
        checks += checks_for.imap(mailbox_config(settings, config))
    except ConfigError as exc:
        checks.append(Check("IMAP replies mailbox", False, str(exc), "Set it, or unset IMAP_HOST."))
    if settings.hubspot_access_token:
        crm = build_crm(settings, config, None)  # type: ignore[arg-type]
        assert isinstance(crm, HubSpotCRM)
        for c in run_checks(crm, config, SlackChat(client) if client else None):
            if slack_refused and c.name == "Owners in Slack":
                continue  # matched through Slack, whose token is the ✗ above
            checks.append(Check(f"HubSpot {c.name[0].lower()}{c.name[1:]}", c.ok, c.detail, c.fix))
    else:
        checks.append(Check("HubSpot", True, "HUBSPOT_ACCESS_TOKEN not set: the embedded CRM is used"))
    checks += checks_for.claude(claude_client(settings, config), config.drafting)
    _report_checks(checks)


audit_cli = typer.Typer(help="What the app kept, for compliance reviews.", no_args_is_help=True)
cli.add_typer(audit_cli, name="audit")


class ExportFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


@audit_cli.command("export")
def audit_export(
    since: Annotated[str, typer.Option(help="The first day to include (YYYY-MM-DD, UTC).")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv or jsonl.")] = ExportFormat.JSONL,
) -> None:
    """Every AI output, draft, edit, decision and CRM write since a date, in time order, to stdout."""
    from app import build_deps
    from bot.services import audit

    try:
        start = datetime.strptime(since, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise FollowupError(f"--since must be a date like 2026-11-01, not {since[:40]!r}.") from None
    deps = build_deps(_settings())
    try:
        count = audit.write(deps, start, fmt.value, sys.stdout)
    finally:
        deps.db.engine.dispose()
    err.print(f"{count} records since {start:%Y-%m-%d}.")


@cli.command("eval")
def eval_cmd(
    data: Annotated[
        Path, typer.Option("--data", help="Labelled JSONL: {id, text, source, label[, lang]} per line.")
    ],
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object instead of tables.")] = False,
) -> None:
    """Run the pipeline on a labelled file: accuracy, per-class precision and recall, the confusion matrix
    and draft checks. Offline unless ANTHROPIC_API_KEY is set; nothing is stored."""
    import tempfile as _tempfile

    from rich.table import Table

    from app import build_drafter
    from bot.adapters.clock import SystemClock
    from bot.clock import BusinessCalendar
    from bot.config import load_config
    from bot.db import Database, make_engine, migrate
    from bot.evaluation import evaluate, read_labelled

    items = read_labelled(data)
    settings = _settings()
    config = load_config(settings.followup_config)
    with _tempfile.TemporaryDirectory(prefix="followup-eval-") as tmp:
        # the run's ledger (tokens, cost) in a scratch database: an eval never touches the team's data
        db = Database(make_engine(f"sqlite:///{Path(tmp) / 'eval.db'}"))
        migrate(db.engine)
        clock = SystemClock()
        pipeline = build_drafter(settings, config, db, clock)
        pipeline.style = None
        report = evaluate(items, pipeline, clock.now(), BusinessCalendar(config.business_hours))
        db.engine.dispose()
    if json_output:
        print(json.dumps(report.to_json(), ensure_ascii=False))
        return
    console.print(f"[bold]{len(items)} messages[/bold], engine: {escape(report.engine)}")
    console.print(f"accuracy: [bold]{report.accuracy:.1%}[/bold]")
    ece = report.calibration_error()
    if ece is not None:
        console.print(f"calibration error (ECE, 10 bins): [bold]{ece:.3f}[/bold]")
    table = Table("class", "precision", "recall", "support")
    for label, row in report.per_class().items():
        table.add_row(label, f"{row['precision']:.2f}", f"{row['recall']:.2f}", str(row["support"]))
    console.print(table)
    confusion = report.confusion()
    short = {label: label.split("_")[0][:8] for label in confusion}
    matrix = Table("true ↓ / predicted →", *short.values())
    for label, counts in confusion.items():
        matrix.add_row(label, *(str(counts[p]) for p in confusion))
    console.print(matrix)
    languages = report.per_language()
    if languages:
        by_lang = Table("language", "accuracy", "support")
        for lang, row in languages.items():
            by_lang.add_row(lang, f"{row['accuracy']:.0%}", str(int(row["support"])))
        console.print(by_lang)
    checks = Table("draft check", "share passing")
    for name, share in report.draft_checks().items():
        checks.add_row(name, f"{share:.0%}")
    console.print(checks)
    if report.repetition is not None:
        rep = report.repetition
        console.print(
            f"repetition across the {rep.drafts} drafts: {rep.unique_share:.0%} of {rep.sentences} sentences "
            f"unique; the most common ask is on {rep.top_ask_share:.0%} of drafts"
        )
    distance = report.mean_edit_distance()
    if distance is not None:
        console.print(f"mean edit distance to what reps sent: {distance:.2f}")
    wrong = [i for i in report.items if i.label != i.predicted]
    for i in wrong[:20]:
        console.print(
            f"  ✗ {escape(i.id)}: {i.label} → {i.predicted} ({i.confidence:.2f}) {escape(i.reason)}"
        )


@cli.command("prompts")
def prompts_cmd() -> None:
    """Every prompt file: step, version, model, output budget, content hash, and which version the config
    runs (pinned, newest, or split A/B)."""
    from rich.table import Table

    import prompts
    from bot.config import load_config

    config = load_config(_settings().followup_config).drafting
    table = Table("step", "version", "model", "max tokens", "sha", "in use")
    for p in prompts.catalog():
        step = config.step(p.name)
        newest = max(prompts.versions(p.name))
        live = step.version or newest
        use = []
        if p.version == live:
            use.append("pinned" if step.version else "newest")
        if step.ab_version == p.version and step.ab_share > 0:
            use.append(f"B arm {step.ab_share:.0%}")
        elif p.version == live and step.ab_version and step.ab_share > 0:
            use[-1] += f", A arm {1 - step.ab_share:.0%}"
        model = step.model or config.model or p.model
        table.add_row(p.name, f"v{p.version}", model, str(p.max_tokens), p.sha, "; ".join(use) or "—")
    console.print(table)
    console.print(f"shared guide: prompts/guide.md, about {len(prompts.guide()) // 4} tokens (cached prefix)")


def main() -> None:
    try:
        cli()
    except FollowupError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True, highlight=False)
        sys.exit(2)
