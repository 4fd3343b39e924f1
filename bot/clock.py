"""Time: a clock tests can move, and business-hours arithmetic."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from bot.config import BusinessHours


class FixedClock:
    """A clock that only moves when told to: tests and benchmarks run the app at a chosen moment."""

    def __init__(self, at: datetime) -> None:
        self._at = at

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> None:
        self._at += delta


class BusinessCalendar:
    """Counts working time between two instants in the team's zone, skipping weekends and holidays."""

    def __init__(self, hours: BusinessHours) -> None:
        self.hours = hours
        self.zone = ZoneInfo(hours.timezone)

    @lru_cache(maxsize=64)  # noqa: B019 - calendars live as long as the app
    def _holidays(self, year: int) -> holidays.HolidayBase | dict:
        if not self.hours.holidays_country:
            return {}
        return holidays.country_holidays(self.hours.holidays_country, years=year)

    @property
    def workday(self) -> timedelta:
        """The length of one working day."""
        day = date(2000, 1, 3)
        return datetime.combine(day, self.hours.end) - datetime.combine(day, self.hours.start)

    def holiday_name(self, day: date) -> str | None:
        name = self._holidays(day.year).get(day)
        return str(name) if name else None

    def is_workday(self, day: date) -> bool:
        return day.weekday() in self.hours.workdays and day not in self._holidays(day.year)

    def workdays_after(self, at: datetime, count: int = 3) -> list[date]:
        """The next `count` working days after `at`'s day in the team's zone (no weekends, no holidays)."""
        day, found = at.astimezone(self.zone).date(), list[date]()
        while len(found) < count:
            day += timedelta(days=1)
            if self.is_workday(day):
                found.append(day)
        return found

    def add_workdays(self, at: datetime, count: int) -> datetime:
        """The same local time `count` working days after `at` (weekends and holidays skipped); a time
        outside working hours moves to the next opening (a touch due "3 business days" after an evening
        send comes due in the morning)."""
        local = at.astimezone(self.zone)
        day = local.date()
        left = count
        while left > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                left -= 1
        when = datetime.combine(day, local.time(), self.zone)
        return self.next_opening(when).astimezone(at.tzinfo)

    def next_opening(self, at: datetime) -> datetime:
        """`at` when it is inside working hours, else the start of the next working period."""
        local = at.astimezone(self.zone)
        day = local.date()
        for _ in range(3660):
            if self.is_workday(day):
                open_at = datetime.combine(day, self.hours.start, self.zone)
                close_at = datetime.combine(day, self.hours.end, self.zone)
                if local < close_at:
                    return max(open_at, local).astimezone(at.tzinfo)
            day += timedelta(days=1)
            local = datetime.combine(day, self.hours.start, self.zone)
        return at

    def start_of_day(self, at: datetime) -> datetime:
        """Local midnight of `at`'s day in the team's zone."""
        local = at.astimezone(self.zone)
        return datetime.combine(local.date(), datetime.min.time(), self.zone)

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between start and end (zero if end is before start)."""
        if end <= start:
            return timedelta(0)
        start_local, end_local = start.astimezone(self.zone), end.astimezone(self.zone)
        total = timedelta(0)
        day = start_local.date()
        while day <= end_local.date():
            if self.is_workday(day):
                open_at = datetime.combine(day, self.hours.start, self.zone)
                close_at = datetime.combine(day, self.hours.end, self.zone)
                lo, hi = max(open_at, start_local), min(close_at, end_local)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def after(self, start: datetime, amount: timedelta) -> datetime:
        """The instant `amount` of business time after `start` (a lead's answer-by time)."""
        start_local = start.astimezone(self.zone)
        left = amount
        day = start_local.date()
        for _ in range(3660):
            if self.is_workday(day):
                open_at = max(datetime.combine(day, self.hours.start, self.zone), start_local)
                close_at = datetime.combine(day, self.hours.end, self.zone)
                if close_at > open_at:
                    if close_at - open_at >= left:
                        return (open_at + left).astimezone(start.tzinfo)
                    left -= close_at - open_at
            day += timedelta(days=1)
        return start + amount * 3  # no workdays configured in ten years: treat the time as plain hours

    def before(self, end: datetime, amount: timedelta) -> datetime:
        """The instant `amount` of business time before `end` (walks back day by day, a few weeks at most)."""
        end_local = end.astimezone(self.zone)
        left = amount
        day = end_local.date()
        for _ in range(3660):
            if self.is_workday(day):
                open_at = datetime.combine(day, self.hours.start, self.zone)
                close_at = min(datetime.combine(day, self.hours.end, self.zone), end_local)
                if close_at > open_at:
                    if close_at - open_at >= left:
                        return (close_at - left).astimezone(end.tzinfo)
                    left -= close_at - open_at
            day -= timedelta(days=1)
        return end - amount * 3  # no workdays configured in ten years: treat the time as plain hours
