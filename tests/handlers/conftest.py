"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

import pytest

from tests.builders import small_book_in_hubspot
from tests.handlers.flow import start_on_hubspot


@pytest.fixture
def hubspot_harness(settings, clock, slack, mailbox, hubspot):  # type: ignore[no-untyped-def]
    """The app on the fake HubSpot, holding the small book."""
    small_book_in_hubspot(hubspot, clock.now())
    h = start_on_hubspot(settings, clock, slack, mailbox, hubspot)
    yield h
    h.stop()
