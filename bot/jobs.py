"""Background jobs for `followup serve`: the trigger scan and the snooze check (APScheduler)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from bot.services import review, scan, snooze
from bot.services.deps import Deps

log = logging.getLogger(__name__)


def run_scan(deps: Deps) -> None:
    result = scan.scan(deps)
    log.info("scan: %d new, %d known, %d posted", len(result.created), result.already_known, result.posted)
    for failure in result.post_failures:
        log.warning("not posted: %s", failure)
    for failure in result.draft_failures:
        log.warning("not drafted: %s", failure)


def run_due_work(deps: Deps) -> None:
    """Snoozes that have ended come back; sends cut off by a crash or restart are shown as failed."""
    back = snooze.resurface_due(deps)
    if back:
        log.info("resurfaced %d snoozed follow-ups", len(back))
    stuck = review.recover_interrupted(deps)
    if stuck:
        log.warning("%d follow-ups were interrupted mid-send and are now marked failed", len(stuck))


def start_scheduler(deps: Deps) -> BackgroundScheduler:
    """Both jobs run once right away: snoozes that fell due while the app was down come back at start."""
    sched = BackgroundScheduler(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1})
    now = datetime.now(UTC)
    sched.add_job(
        run_due_work,
        "interval",
        args=[deps],
        seconds=deps.config.schedule.snooze_check_seconds,
        next_run_time=now,
        id="due-work",
    )
    sched.add_job(
        run_scan,
        "interval",
        args=[deps],
        minutes=deps.config.schedule.scan_interval_minutes,
        next_run_time=now,
        id="scan",
    )
    sched.start()
    return sched
