"""Ports: the small interfaces the domain needs from the outside world."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.records import Company, Contact, Deal, DraftOutput, Engagement, LeadContext, Owner, Stage, Thread
from bot.snapshot import CardRef, FollowUpView


class CRM(Protocol):
    name: str

    def get_contact(self, contact_id: str) -> Contact | None: ...
    def get_company(self, company_id: str) -> Company | None: ...
    def get_deal(self, deal_id: str) -> Deal | None: ...
    def get_owner(self, owner_id: str) -> Owner | None: ...
    def engagements_since(self, since: datetime) -> list[Engagement]:
        """All emails, calls, notes, meetings and form fills on or after `since`, oldest first."""
        ...

    def engagements_for(
        self, *, contact_id: str, deal_id: str | None = None, limit: int = 10
    ) -> list[Engagement]:
        """The contact's (and deal's) history, newest first."""
        ...

    def batch(self, contact_ids: Iterable[str], deal_ids: Iterable[str] = ()) -> AbstractContextManager[None]:
        """Read these leads' records and history together; inside the block, reads of them are cheap."""
        ...

    def stages(self) -> list[Stage] | None:
        """Every deal stage of every pipeline, or None where the CRM has no pipelines to ask about."""
        ...

    def reply_thread(self, contact_id: str) -> Thread | None:
        """The CRM inbox thread the lead wrote in on, where a reply should go; None to send by email."""
        ...

    def send_on_thread(
        self,
        thread: Thread,
        *,
        owner_id: str | None,
        recipient: str,
        subject: str,
        body: str,
        on_handover: Callable[[], None] | None = None,
    ) -> str:
        """Reply on the thread (DeliveryError: surely not sent; DeliveryUnknown: maybe sent)."""
        ...

    def open_deals(self, closed_stages: list[str]) -> list[Deal]: ...
    def deals_for(self, *, contact_id: str | None, company_id: str | None) -> list[Deal]:
        """Every deal associated with the contact or with the company (each once)."""
        ...

    def deals_in_stages(self, stages: list[str]) -> list[Deal]:
        """Deals in any of `stages` (e.g. closed lost, for nurture)."""
        ...

    def log_email(
        self,
        *,
        contact_id: str,
        deal_id: str | None,
        owner_id: str | None,
        subject: str,
        body: str,
        message_id: str,
        sent_at: datetime,
        sender: str | None = None,
        recipient: str | None = None,
        company_id: str | None = None,
    ) -> str:
        """Log a sent email once per Message-ID (a retry finds the first), with its From and To."""
        ...

    def log_note(
        self,
        *,
        contact_id: str,
        deal_id: str | None,
        body: str,
        at: datetime,
        marker: str | None = None,
        company_id: str | None = None,
    ) -> str:
        """Add a note; with a `marker`, once (a retry finds the first)."""
        ...

    def create_task(
        self,
        *,
        contact_id: str,
        deal_id: str | None,
        company_id: str | None,
        owner_id: str | None,
        subject: str,
        body: str,
        due_at: datetime,
        marker: str,
    ) -> str:
        """A task for the owner, once per `marker`."""
        ...

    def mark_opted_out(self, *, contact_id: str | None, email: str) -> None:
        """Set the CRM's own marker that this address gets no more email (idempotent)."""
        ...

    def mark_sequence_completed(self, *, contact_id: str, prop: str, value: str) -> None:
        """Mark the contact: a sequence ran its course without a reply ("completed: <rule> <date>")."""
        ...

    # --- intake: new leads from forms, forwarders and webhooks ---------------------------------
    def find_contact(self, email: str) -> Contact | None:
        """The contact with this address (case-insensitive), if the CRM has one."""
        ...

    def find_contact_by_name(self, first_name: str, last_name: str, company_id: str) -> Contact | None:
        """A contact of that company with that name: the same person, writing from another address."""
        ...

    def find_company(self, domain: str) -> Company | None:
        """The company with this web domain, if the CRM has one."""
        ...

    def owners(self) -> dict[str, Owner]:
        """Every owner (sales rep) in the CRM, by id."""
        ...

    def create_contact(
        self, *, email: str, first_name: str, last_name: str, company_id: str | None, source: str
    ) -> str:
        """A new contact; its CRM id."""
        ...

    def set_owner(self, contact_id: str, owner_id: str) -> None:
        """Write the contact's owner field."""
        ...

    def form_fills_since(self, since: datetime) -> list[Engagement]:
        """Form submissions at or after `since`, oldest first (the intake poll's source)."""
        ...


class Drafter(Protocol):
    name: str
    model: str | None
    prompt_version: str | None

    def draft(self, context: LeadContext) -> DraftOutput: ...


@dataclass
class OutgoingEmail:
    sender: str
    sender_name: str
    recipient: str
    subject: str
    body: str
    message_id: str
    headers: dict[str, str] = field(default_factory=dict)


class Mailer(Protocol):
    def send(self, email: OutgoingEmail, *, on_handover: Callable[[], None] | None = None) -> None:
        """Deliver; DeliveryError when surely not delivered, DeliveryUnknown when it may have been.
        `on_handover` runs just before the message itself is handed over."""
        ...


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class PostedCard:
    channel: str
    ts: str
    permalink: str | None


class Chat(Protocol):
    """Where follow-ups are shown to people and who is who; the Slack adapter implements it."""

    def find_user_by_email(self, email: str) -> str | None: ...
    def user_timezone(self, user_id: str) -> str | None: ...
    def is_away(self, user_id: str) -> bool:
        """Their status says they are away (new leads are routed past them)."""
        ...

    def is_person(self, user_id: str) -> bool:
        """Whether the id is an active human member of the workspace."""
        ...

    def show(self, followup: FollowUpView, channel: str, *, kind: str = "card") -> PostedCard:
        """Put a card for the follow-up in front of `channel` (a person's DM or a channel)."""
        ...

    def refresh(self, followup: FollowUpView, card: CardRef) -> None:
        """Make an existing card show the follow-up as it is now."""
        ...

    def notify(self, user_id: str, text: str) -> None:
        """A short private note to a person."""
        ...

    def upload_image(self, png: bytes, *, filename: str, title: str, channel: str | None) -> str:
        """Upload a PNG (shared to `channel`, or kept private to the app); returns its file id."""
        ...

    def post_blocks(self, channel: str, blocks: list[dict], text: str) -> str:
        """Post a message; returns its ts."""
        ...

    def publish_home(self, user_id: str, blocks: list[dict]) -> None:
        """Show the blocks on the person's App Home tab."""
        ...
