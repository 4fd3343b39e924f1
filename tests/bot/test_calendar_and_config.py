from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.clock import BusinessCalendar
from bot.config import BusinessHours, load_config, parse_config
from bot.errors import ConfigError

NY = BusinessHours(timezone="America/New_York", holidays_country="US")


def ny(*args: int) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(*args, tzinfo=ZoneInfo("America/New_York"))


def test_business_time_skips_nights_and_weekends():
    cal = BusinessCalendar(NY)
    assert cal.elapsed(ny(2026, 11, 18, 10), ny(2026, 11, 18, 12)) == timedelta(hours=2)
    # Friday 16:00 → Monday 10:00 is two working hours
    assert cal.elapsed(ny(2026, 11, 20, 16), ny(2026, 11, 23, 10)) == timedelta(hours=2)
    # an inquiry at 22:00 starts counting at 9:00 the next morning
    assert cal.elapsed(ny(2026, 11, 18, 22), ny(2026, 11, 19, 10, 30)) == timedelta(hours=1, minutes=30)
    assert cal.elapsed(ny(2026, 11, 19, 10), ny(2026, 11, 18, 10)) == timedelta(0)


def test_business_time_skips_public_holidays():
    cal = BusinessCalendar(NY)
    # Thanksgiving (Thu 26 Nov 2026) does not count
    assert cal.elapsed(ny(2026, 11, 25, 16), ny(2026, 11, 27, 10)) == timedelta(hours=2)
    assert not cal.is_workday(ny(2026, 11, 26, 12).date())


def test_an_answer_by_time_is_counted_in_business_hours():
    cal = BusinessCalendar(NY)
    assert cal.after(ny(2026, 11, 18, 10), timedelta(hours=1)) == ny(2026, 11, 18, 11)
    # Wednesday 16:30 plus one business hour: half an hour that evening, half the next working morning,
    # which is Friday: Thursday 26 November is Thanksgiving
    assert cal.after(ny(2026, 11, 25, 16, 30), timedelta(hours=1)) == ny(2026, 11, 27, 9, 30)
    assert cal.after(ny(2026, 11, 20, 23), timedelta(hours=2)) == ny(2026, 11, 23, 11)  # Friday night
    assert cal.after(ny(2026, 11, 18, 12), timedelta(0)) == ny(2026, 11, 18, 12)


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
    ),
    minutes=st.integers(min_value=0, max_value=60 * 40),
)
def test_after_and_elapsed_agree(start: datetime, minutes: int):
    cal = BusinessCalendar(NY)
    due = cal.after(start, timedelta(minutes=minutes))
    assert due >= start and cal.elapsed(start, due) == timedelta(minutes=minutes)
    assert minutes == 0 or cal.elapsed(start, due - timedelta(seconds=1)) < timedelta(minutes=minutes)


def test_a_bad_value_names_the_key():
    with pytest.raises(
        ConfigError, match=r"triggers\.stale_deal\.days_by_stage\.contractsent: .*greater than 0"
    ):
        parse_config({"triggers": {"stale_deal": {"days_by_stage": {"contractsent": 0}}}})
    with pytest.raises(ConfigError, match=r"business_hours\.timezone: unknown time zone 'Mars/Base'"):
        parse_config({"business_hours": {"timezone": "Mars/Base"}})
    with pytest.raises(ConfigError, match=r"business_hours\.end: must be later than start"):
        parse_config({"business_hours": {"start": "17:00", "end": "09:00"}})
    with pytest.raises(ConfigError, match=r"triggers\.inbound_no_respons: unknown key"):
        parse_config({"triggers": {"inbound_no_respons": {}}})


def test_config_file_errors(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml")
    broken = tmp_path / "followup.toml"
    broken.write_text("[slack\nreview_channel = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)


def test_example_config_is_valid_and_matches_defaults():
    from bot.config import FollowupConfig
    from bot.triggers.registry import RULES

    path = Path(__file__).parents[2] / "followup.example.toml"
    example = load_config(path)
    assert example == FollowupConfig()  # the example documents the defaults, every one
    text = path.read_text(encoding="utf-8")
    assert all(f"[triggers.{rule.name}]" in text for rule in RULES)
    assert example.triggers.inbound_no_response.business_hours == 2
    assert example.triggers.stale_deal.threshold("contractsent") == 10
    assert example.business_hours.timezone == "America/New_York"


def test_settings_errors_name_the_variable(monkeypatch):
    from bot.settings import Settings, load_settings

    monkeypatch.setenv("SMTP_PORT", "twenty-five")
    with pytest.raises(ConfigError, match="SMTP_PORT"):
        load_settings(_env_file=None)
    monkeypatch.delenv("SMTP_PORT")
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET is not set"):
        Settings(_env_file=None, slack_signing_secret="  ").require("slack_signing_secret")  # type: ignore[call-arg]


def test_utc_now_is_aware():
    from bot.adapters.clock import SystemClock

    assert SystemClock().now().tzinfo is UTC
