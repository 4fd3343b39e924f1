"""App Home and the weekly digest: the rep's queue with the cards' own buttons, the team's week in numbers
and as a chart uploaded through Slack's file upload flow.

A chart is drawn and uploaded at most once an hour per team (every App Home opened in that hour shows the
same file); the digest is posted once a week, whichever replica gets there first (a unique report row,
written with its work item in one transaction, so a failed post is retried and never doubled)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from blocks.card import to_dicts
from blocks.home import digest_blocks, home_blocks
from bot import charts
from bot.models import Report
from bot.services import metrics, status
from bot.services.deps import Deps
from bot.services.metrics import Scope
from bot.work.queue import Job, Kind, enqueue

log = logging.getLogger(__name__)


def team_of(deps: Deps, user: str) -> str | None:
    """The team a person leads, else the one whose members include the address their follow-ups carry."""
    teams = deps.config.teams
    led = next((name for name, t in teams.items() if t.lead == user), None)
    if led or not teams:
        return led
    emails = metrics.owner_emails(deps, user)
    return next((name for name, t in teams.items() if emails & set(t.members)), None)


def chart(deps: Deps, report: metrics.Report, title: str, *, key: str, channel: str | None) -> str | None:
    """The chart of `report`'s period: the Slack file uploaded under `key`, else drawn and uploaded now."""
    if deps.chat is None:
        return None
    with deps.db.session() as s:
        known = s.scalar(select(Report.file_id).where(Report.kind == "chart", Report.key == key))
    if known:
        return known
    png = charts.week_chart(report.reply_by_touch, metrics.first_response_trend(deps, report.scope), title)
    file_id = deps.chat.upload_image(png, filename=f"followup-{key.replace(':', '-')}.png", title=title,
                                     channel=channel)  # fmt: skip
    try:
        with deps.db.session() as s:
            s.add(
                Report(kind="chart", key=key, file_id=file_id, channel=channel, created_at=deps.clock.now())
            )
    except IntegrityError:  # another replica uploaded it this instant: either file shows the same week
        pass
    return file_id


def publish_home(deps: Deps, user: str) -> None:
    """The person's App Home: their queue (with each card's buttons), their team's week and its chart."""
    if deps.chat is None:
        return
    now = deps.clock.now()
    team = team_of(deps, user)
    scope = Scope.last("week", now, team=team)
    title = f"Team {team}'s week" if team else "The team's week"
    report = metrics.compute(deps, scope)
    cfg = deps.config.reports
    try:
        file_id = chart(deps, report, title, key=f"home:{team or '*'}:{now:%Y-%m-%dT%H}",
                        channel=cfg.chart_channel or cfg.digest_channel)  # fmt: skip
    except Exception:  # no chart this time (the upload failed): the queue and the numbers still show
        log.warning("App Home's chart could not be drawn or uploaded", exc_info=True)
        file_id = None
    blocks = home_blocks(status.queue(deps, user), report, title, file_id)
    deps.chat.publish_home(user, to_dicts(blocks))


# --- the weekly digest -----------------------------------------------------------------------------------
def digest_at(deps: Deps, now: datetime) -> datetime:
    """This week's digest time in the team's zone (it may still be ahead)."""
    cfg, cal = deps.config.reports, deps.calendar
    local = now.astimezone(cal.zone)
    monday = (local - timedelta(days=local.weekday())).date()
    day = monday + timedelta(days=cfg.digest_weekday)
    return datetime(day.year, day.month, day.day, cfg.digest_hour, tzinfo=cal.zone)


def digest_due(deps: Deps) -> bool:
    """Queue this week's digest once its time has come (a tick of the due-work job). True when queued."""
    channel = deps.config.reports.digest_channel
    if not channel:
        return False
    now = deps.clock.now()
    at = digest_at(deps, now)
    if now < at:
        return False
    key = f"{at:%G-W%V}"
    try:
        with deps.db.session() as s:
            if s.scalar(select(Report.id).where(Report.kind == "digest", Report.key == key)) is not None:
                return False
            s.add(Report(kind="digest", key=key, channel=channel, created_at=now))
            enqueue(s, Kind.DIGEST, followup_id=None, now=now, payload={"key": key, "at": at.isoformat()})
    except IntegrityError:  # another replica queued it
        return False
    return True


def digest_job(deps: Deps, job: Job) -> None:
    """Post the digest: the week before its time, everyone's numbers and the chart (shared to the channel)."""
    assert deps.chat is not None, "no Slack connection"
    key, at = str(job.payload["key"]), datetime.fromisoformat(str(job.payload["at"]))
    with deps.db.session() as s:
        row = s.scalar(select(Report).where(Report.kind == "digest", Report.key == key))
        if row is None or row.ts:
            return  # posted by an earlier attempt
        channel = str(row.channel)
    scope = Scope(start=at - timedelta(days=7), end=at)
    title = f"The week to {at:%a %d %b}"
    report = metrics.compute(deps, scope)
    try:
        file_id = chart(deps, report, title, key=f"digest:{key}", channel=channel)
    except Exception:  # the numbers go out without the picture rather than not at all
        log.warning("the digest's chart could not be drawn or uploaded", exc_info=True)
        file_id = None
    blocks = to_dicts(digest_blocks(report, title, file_id))
    ts = deps.chat.post_blocks(
        channel, blocks, f"{title}: {report.sent} sent, reply rate {report.reply_rate}"
    )
    with deps.db.session() as s:
        row = s.scalar(select(Report).where(Report.kind == "digest", Report.key == key))
        if row is not None:
            row.ts, row.file_id = ts, file_id
    log.info("weekly digest posted", extra={"channel": channel})
