"""The dependencies every use case shares, built once in app.py."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from bot.adapters.imap import MailboxConfig
from bot.clock import BusinessCalendar
from bot.config import FollowupConfig
from bot.db import Database
from bot.ports import CRM, Chat, Clock, Drafter, Mailer


@dataclass
class Deps:
    db: Database
    crm: CRM
    drafter: Drafter
    fallback_drafter: Drafter | None
    mailer: Mailer
    chat: Chat | None
    clock: Clock
    config: FollowupConfig
    public_url: str = "http://localhost:3000"  # PUBLIC_URL: where unsubscribe links point
    mailbox: MailboxConfig | None = None  # the replies mailbox (IMAP_*), when there is one

    @cached_property
    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar(self.config.business_hours)
