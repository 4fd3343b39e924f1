"""Worker threads: claim an item, run its handler, then finish it, retry it with backoff, or give up."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot import telemetry
from bot.config import Work
from bot.db import Database
from bot.ports import Clock
from bot.work import queue
from bot.work.queue import INTERACTIVE, SLOW, Job, Kind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Handler:
    run: Callable[[Job], None]
    give_up: Callable[[Job, str], None] | None = None  # after the last attempt: make the failure visible
    chat: bool = False  # Slack work: many more attempts (an outage must not lose a card)


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class WorkRunner:
    def __init__(
        self, db: Database, handlers: dict[Kind, Handler], config: Work, clock: Clock, *, holder: str
    ) -> None:
        self.db, self.handlers, self.config, self.clock = db, handlers, config, clock
        self.holder = holder
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def run_once(self, kinds: frozenset[Kind] | None = None) -> bool:
        """Claim and run one due item (of `kinds`); False when there was none."""
        if self._stop.is_set():
            return False
        known = frozenset(self.handlers)
        job = queue.claim(
            self.db,
            holder=self.holder,
            now=self.clock.now(),
            lease=timedelta(seconds=self.config.lease_seconds),
            kinds=known if kinds is None else kinds & known,
        )
        if job is None:
            return False
        self._run(job)
        return True

    def _run(self, job: Job) -> None:
        handler = self.handlers[job.kind]
        try:
            handler.run(job)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"  # kept on the work item, not logged: it may quote data
            where = {"followup_id": job.followup_id, "job_id": job.id, "kind": str(job.kind)}
            limit = self.config.chat_max_attempts if handler.chat else self.config.max_attempts
            telemetry.FAILURES.labels(str(job.kind), "yes" if job.attempts >= limit else "no").inc()
            if job.attempts >= limit:
                log.error("giving up after %d attempts (%s)", job.attempts, type(exc).__name__, extra=where)
                queue.give_up(self.db, job, self.clock.now(), error=error)
                if handler.give_up:
                    handler.give_up(job, error)
                return
            delay = min(
                self.config.backoff_seconds * 2 ** (job.attempts - 1), self.config.max_backoff_seconds
            )
            log.warning(
                "attempt %d failed (%s), retrying in %.0fs",
                job.attempts,
                type(exc).__name__,
                delay,
                extra=where,
            )
            queue.retry_later(self.db, job, self.clock.now(), delay=timedelta(seconds=delay), error=error)
            return
        queue.complete(self.db, job, self.clock.now())

    def drain(self, kinds: frozenset[Kind] | None = None, *, max_items: int = 10_000) -> int:
        """Run due work (of `kinds`) in this thread until none is left (the CLI's one-shot scan)."""
        done = 0
        while done < max_items and self.run_once(kinds):
            done += 1
        return done

    # --- background threads ----------------------------------------------------
    def start(self) -> None:
        """Start the worker threads (again, after a stop)."""
        self._stop.clear()
        lanes = (
            ("interactive", INTERACTIVE, self.config.interactive_workers),
            ("slow", SLOW, self.config.workers),
        )
        for lane, kinds, count in lanes:
            for n in range(count):
                t = threading.Thread(
                    target=self._loop, args=(kinds,), name=f"followup-{lane}-{n}", daemon=True
                )
                t.start()
                self._threads.append(t)

    def _loop(self, kinds: frozenset[Kind]) -> None:
        while not self._stop.is_set():
            self.db.work_ready.clear()  # before looking, so a commit from now on wakes us
            try:
                if self.run_once(kinds):
                    continue
            except Exception:  # the database was unreachable: wait a poll and try again
                log.exception("work loop")
            self.db.work_ready.wait(self.config.poll_seconds)

    def stop(self, timeout: float = 60.0) -> None:
        """Stop claiming; let items in hand finish (every external call has a timeout)."""
        self._stop.set()
        self.db.work_ready.set()
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()
