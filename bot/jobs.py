"""Periodic jobs for `followup serve` (APScheduler): the trigger scan and the due-work check. Each tick runs
on one replica only: the one that takes the job's lease in the database."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from bot.adapters.imap import MailboxError
from bot.services import budget, intake, replies, reports, scan, snooze, touches
from bot.services.deps import Deps
from bot.work import leases

log = logging.getLogger(__name__)


def _tick(deps: Deps, name: str, every: timedelta, *, holder: str) -> bool:
    """True when this replica holds the job's lease for this tick (a little shorter than the interval)."""
    ttl = every - min(every / 10, timedelta(seconds=30))
    return leases.try_acquire(deps.db, name, holder=holder, now=deps.clock.now(), ttl=ttl)


def run_scan(deps: Deps, *, holder: str) -> scan.ScanResult | None:
    if not _tick(deps, "scan", timedelta(minutes=deps.config.schedule.scan_interval_minutes), holder=holder):
        return None
    result = scan.scan(deps, scheduled=True)
    log.info(
        "scan: %d new, %d scheduled, %d known, %d resolved",
        len(result.created),
        len(result.scheduled),
        result.already_known,
        len(result.resolved),
    )
    for rule in result.rule_failures:  # the error itself was logged where it happened
        log.error("rule failed; the other rules ran", extra={"rule": rule})
    failed = len(result.post_failures) + len(result.draft_failures) + len(result.check_failures)
    if failed:
        log.warning("scan: %d leads could not be prepared or checked; the next scan tries again", failed)
    return result


def run_due_work(deps: Deps, *, holder: str) -> list[int] | None:
    """Snoozes that ended and scheduled follow-ups that came due come back (or resolve); sequence touches
    that came due are drafted; the daily budget shows what it has room for."""
    if not _tick(deps, "due", timedelta(seconds=deps.config.schedule.snooze_check_seconds), holder=holder):
        return None
    back = snooze.resurface_due(deps)
    if back:
        log.info("%d follow-ups came back", len(back))
    touched = touches.tick(deps)
    if touched.drafted or touched.completed or touched.stopped:
        log.info(
            "sequences: %d touches drafted (%d sent automatically), %d stopped, %d completed",
            len(touched.drafted),
            len(touched.auto_sent),
            len(touched.stopped),
            len(touched.completed),
        )
    budget.release(deps)  # a new working day: each rep's best queued cards
    if intake.check_sla(deps):
        log.info("hot leads past their response time: owners reminded or escalated")
    if reports.digest_due(deps):
        log.info("the weekly digest is queued")
    return back


def run_reply_poll(deps: Deps, *, holder: str) -> replies.PollResult | None:
    """Read the replies mailbox, on one replica at a time (the cursor makes a second reader harmless)."""
    if deps.mailbox is None:
        return None
    if not _tick(deps, "replies", timedelta(seconds=deps.config.schedule.reply_poll_seconds), holder=holder):
        return None
    try:
        result = replies.poll(deps, deps.mailbox)
    except MailboxError as exc:  # the mailbox is down or the login changed: say so, try at the next tick
        log.warning("replies mailbox not read: %s", exc)
        return None
    if result.read:
        log.info("replies mailbox: %d read (%s), %d unmatched", result.read, result.kinds, result.unmatched)
    return result


def run_hubspot_poll(deps: Deps, *, holder: str) -> int | None:
    """New HubSpot form submissions, for installs its webhook can't reach ([inbound] hubspot_poll_seconds)."""
    every = deps.config.inbound.hubspot_poll_seconds
    if not every or deps.crm.name != "hubspot":
        return None
    if not _tick(deps, "hubspot-intake", timedelta(seconds=every), holder=holder):
        return None
    found = intake.poll_hubspot(deps)
    if found:
        log.info("HubSpot poll: %d new leads", found)
    return found


def start_scheduler(deps: Deps, *, holder: str) -> BackgroundScheduler:
    """Every job runs once right away (what fell due while the app was down comes back at start), then on
    its interval; each takes a lease, so with several replicas one of them runs it a tick."""
    sched = BackgroundScheduler(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1})
    every = deps.config.schedule
    jobs: list[tuple[str, Callable[..., object], int]] = [
        ("due-work", run_due_work, every.snooze_check_seconds),
        ("scan", run_scan, every.scan_interval_minutes * 60),
    ]
    if deps.mailbox is not None:  # replies are read only where there is a mailbox to read
        jobs.append(("replies", run_reply_poll, every.reply_poll_seconds))
    if deps.config.inbound.hubspot_poll_seconds and deps.crm.name == "hubspot":
        jobs.append(("hubspot-intake", run_hubspot_poll, deps.config.inbound.hubspot_poll_seconds))
    now = datetime.now(UTC)
    for name, job, seconds in jobs:
        sched.add_job(
            job,
            "interval",
            args=[deps],
            kwargs={"holder": holder},
            seconds=seconds,
            next_run_time=now,
            id=name,
        )
    sched.start()
    return sched
