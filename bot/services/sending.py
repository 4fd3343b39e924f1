"""When an approved email leaves: inside the recipient's working hours (their time zone when the CRM has it,
else the team's), at most `[sending] mailbox_daily_cap` a day from one mailbox, `spacing_minutes` apart.

The cap is a conditional increment of one row per mailbox and day, and each send takes a unique slot (the
minutes since the epoch over the spacing), so replicas approving at the same moment can pass neither."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.config import Sending
from bot.models import MailboxDay, SendSlot
from bot.services.deps import Deps

log = logging.getLogger(__name__)
SLOTS_LOOKED_AT = 500  # the most sends one mailbox can have queued within reach of a new one


def zone_named(name: str | None, fallback: ZoneInfo) -> ZoneInfo:
    """An IANA zone from the CRM; HubSpot's `hs_timezone` spells them like "america_slash_new_york"."""
    if not name:
        return fallback
    candidates = [name]
    if "_slash_" in name:
        parts = name.split("_slash_")
        candidates.append("/".join("_".join(w.capitalize() for w in p.split("_")) for p in parts))
    for candidate in candidates:
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return fallback


def in_window(cfg: Sending, zone: ZoneInfo, at: datetime) -> bool:
    local = at.astimezone(zone)
    return local.weekday() in cfg.workdays and cfg.start <= local.time() < cfg.end


def next_window(cfg: Sending, zone: ZoneInfo, at: datetime) -> datetime:
    """`at` when it is inside the recipient's window, else the window's next opening (in real time, so a DST
    change moves the UTC instant, not the 9:00 on their clock)."""
    local = at.astimezone(zone)
    for _ in range(15):
        if local.weekday() in cfg.workdays:
            open_at = datetime.combine(local.date(), cfg.start, zone)
            close_at = datetime.combine(local.date(), cfg.end, zone)
            if local < close_at:
                return max(open_at, local).astimezone(at.tzinfo)
        local = datetime.combine(local.date() + timedelta(days=1), cfg.start, zone)
    return at


@dataclass(frozen=True)
class Slot:
    at: datetime
    zone: str


def allocate(
    s: Session,
    deps: Deps,
    *,
    followup_id: int,
    mailbox: str,
    recipient_tz: str | None,
    not_before: datetime | None = None,
) -> Slot:
    """The first moment the email may leave, taken for it in the caller's transaction."""
    cfg = deps.config.sending
    team = deps.calendar.zone
    zone = zone_named(recipient_tz, team)
    mailbox = mailbox.strip().lower()
    now = deps.clock.now()
    at = max(now, not_before or now)
    spacing = timedelta(minutes=cfg.spacing_minutes)
    for _ in range(60):  # days
        at = next_window(cfg, zone, at)
        day = at.astimezone(team).date()
        if not _take_day(s, mailbox, day, cfg.mailbox_daily_cap):
            at = datetime.combine(day + timedelta(days=1), datetime.min.time(), team)
            continue
        if not spacing:  # no slot to hold, but the day's count is kept with the send
            s.add(SendSlot(mailbox=mailbox, slot=None, day=day, followup_id=followup_id, at=at))
            return Slot(at, zone.key)
        found = _take_slot(s, cfg, zone, mailbox, followup_id, at, spacing, day)
        if found is not None:
            return Slot(found, zone.key)
        _give_back_day(s, mailbox, day)  # no free slot left in today's window
        at = datetime.combine(at.astimezone(zone).date() + timedelta(days=1), cfg.start, zone)
    raise RuntimeError(f"no send slot in the next 60 days for {mailbox}")


def _take_day(s: Session, mailbox: str, day: date, cap: int) -> bool:
    if s.get(MailboxDay, (mailbox, day)) is None:
        try:
            with s.begin_nested():
                s.add(MailboxDay(mailbox=mailbox, day=day, used=0))
        except IntegrityError:  # another replica made the row a moment ago
            pass
    taken = s.execute(
        update(MailboxDay)
        .where(MailboxDay.mailbox == mailbox, MailboxDay.day == day, MailboxDay.used < cap)
        .values(used=MailboxDay.used + 1)
        .execution_options(synchronize_session=False)
    )
    return taken.rowcount == 1  # type: ignore[attr-defined]


def _give_back_day(s: Session, mailbox: str, day: date) -> None:
    s.execute(
        update(MailboxDay)
        .where(MailboxDay.mailbox == mailbox, MailboxDay.day == day, MailboxDay.used > 0)
        .values(used=MailboxDay.used - 1)
        .execution_options(synchronize_session=False)
    )


def _take_slot(
    s: Session,
    cfg: Sending,
    zone: ZoneInfo,
    mailbox: str,
    followup_id: int,
    at: datetime,
    spacing: timedelta,
    day: date,
) -> datetime | None:
    """The first moment from `at` on that is at least `spacing` from every other send of the mailbox and
    still inside the window. Its slot number (the time over the spacing) is unique per mailbox: two sends a
    full spacing apart never share one, and two replicas picking the same moment can't both have it."""
    step = spacing.total_seconds()
    nearby = sorted(
        s.scalars(
            select(SendSlot.at).where(
                SendSlot.mailbox == mailbox,
                SendSlot.slot.is_not(None),
                SendSlot.at > at - spacing,
                SendSlot.at < at + spacing * SLOTS_LOOKED_AT,
            )
        )
    )
    candidate = at
    for _ in range(SLOTS_LOOKED_AT):
        for other in nearby:
            if abs((other - candidate).total_seconds()) < step:
                candidate = other + spacing
        if not in_window(cfg, zone, candidate):
            return None
        try:
            with s.begin_nested():
                slot = int(candidate.timestamp() // step)
                s.add(SendSlot(mailbox=mailbox, slot=slot, day=day, followup_id=followup_id, at=candidate))
        except IntegrityError:  # another replica took this moment since the read: one spacing later
            nearby = sorted([*nearby, candidate])
            continue
        return candidate
    return None


def free(s: Session, followup_id: int) -> None:
    """Give back the slot (and its day's count) of a send that will not happen at its time."""
    for slot in s.scalars(select(SendSlot).where(SendSlot.followup_id == followup_id)).all():
        _give_back_day(s, slot.mailbox, slot.day)
    s.execute(delete(SendSlot).where(SendSlot.followup_id == followup_id))
