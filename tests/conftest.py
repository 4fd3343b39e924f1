"""Fixtures: databases (SQLite and PostgreSQL), fake Slack/Claude/SMTP servers, and the running app."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest
from pytest_httpserver import HTTPServer

from bot.clock import FixedClock
from bot.settings import Settings
from tests.databases import fresh_postgres
from tests.fakes.anthropic_api import FakeClaude
from tests.fakes.hubspot_api import FakeHubSpot
from tests.fakes.slack_api import FakeSlack
from tests.fakes.smtp import Mailbox, start_smtp
from tests.harness import AppHarness

Fake = TypeVar("Fake", FakeSlack, FakeClaude, FakeHubSpot)
PG_ENV = "FOLLOWUP_TEST_POSTGRES_URL"
# Wednesday 18 Nov 2026, 15:00 in New York: inside business hours, no holiday nearby.
NOW = datetime(2026, 11, 18, 20, 0, tzinfo=UTC)
SIGNING_SECRET = "test-signing-secret"

DANA, MANAGER, OTHER, ADMIN = "UDANA", "UMANAGER", "UOTHER", "UADMIN"
REVIEW_CHANNEL, ESCALATION_CHANNEL = "CREVIEW", "CESCALATE"


def _postgres_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url and os.environ.get("CI"):
        pytest.fail(f"{PG_ENV} is not set; .ci/run starts PostgreSQL and sets it")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind the product supports."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'followup.db'}"
        return
    admin_url = _postgres_url()
    if admin_url is None:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (bash .ci/run sets it up)")
    with fresh_postgres(admin_url) as url:
        yield url


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@contextmanager
def local_api(fake_type: type[Fake]) -> Iterator[Fake]:
    """A fake API on its own HTTP server on 127.0.0.1, for the real SDK client to talk to."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    fake = fake_type(server)
    fake.install()
    try:
        yield fake
    finally:
        server.clear()
        server.stop()


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with local_api(FakeSlack) as fake:
        fake.add_user(DANA, "dana.whitfield@followup-demo.com", tz="Europe/Berlin")
        fake.add_user(MANAGER, "manager@followup-demo.com", tz="America/Chicago")
        fake.add_user(OTHER, "other.rep@followup-demo.com")
        fake.add_user(ADMIN, "revops@followup-demo.com")
        yield fake


@pytest.fixture
def claude() -> Iterator[FakeClaude]:
    with local_api(FakeClaude) as fake:
        yield fake


@pytest.fixture
def hubspot() -> Iterator[FakeHubSpot]:
    with local_api(FakeHubSpot) as fake:
        yield fake


@pytest.fixture
def mailbox() -> Iterator[tuple[int, Mailbox]]:
    controller, box = start_smtp()
    yield controller.port, box
    controller.stop()


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "followup.toml"
    path.write_text(
        f"""
[business_hours]
timezone = "America/New_York"
holidays_country = "US"

[slack]
review_channel = "{REVIEW_CHANNEL}"
escalation_channel = "{ESCALATION_CHANNEL}"
admins = ["{ADMIN}"]

[timeouts]
smtp_seconds = 2
crm_seconds = 2

# sends leave at once and every card is shown at once, unless a test of that timing sets its own
[sending]
spacing_minutes = 0

[budget]
cards_per_rep_per_day = 0
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def settings(
    database_url: str, slack: FakeSlack, mailbox: tuple[int, Mailbox], config_file: Path
) -> Settings:
    port, _ = mailbox
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=slack.token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        database_url=database_url,
        followup_config=config_file,
        smtp_host="127.0.0.1",
        smtp_port=port,
        anthropic_api_key=None,
        hubspot_access_token=None,
        slack_app_token=None,
    )


@pytest.fixture
def harness(
    settings: Settings, clock: FixedClock, slack: FakeSlack, mailbox: tuple[int, Mailbox]
) -> Iterator[AppHarness]:
    h = AppHarness.start(
        settings, clock=clock, slack=slack, mailbox=mailbox[1], signing_secret=SIGNING_SECRET
    )
    yield h
    h.stop()
