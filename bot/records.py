"""Plain domain records shared by the CRM port, the triggers and the drafters."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, field_validator


class Owner(BaseModel):
    id: str
    email: str
    first_name: str = ""
    last_name: str = ""

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email


class Company(BaseModel):
    id: str
    name: str
    domain: str | None = None
    industry: str | None = None
    employees: int | None = None


class Contact(BaseModel):
    id: str
    email: str
    first_name: str = ""
    last_name: str = ""
    title: str | None = None
    phone: str | None = None
    company_id: str | None = None
    owner_id: str | None = None
    lead_source: str | None = None
    created_at: datetime | None = None
    timezone: str | None = None  # the CRM's zone for them (IANA, or HubSpot's "america_slash_chicago")

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email


class Deal(BaseModel):
    id: str
    name: str
    stage: str
    amount: float | None = None
    stage_changed_at: datetime
    close_date: datetime | None = None
    quote_expires_at: datetime | None = None
    lost_reason: str | None = None
    contact_id: str | None = None
    company_id: str | None = None
    owner_id: str | None = None


class EngagementType(StrEnum):
    EMAIL = "email"
    CALL = "call"
    NOTE = "note"
    MEETING = "meeting"
    FORM = "form"


class Engagement(BaseModel):
    id: str
    type: EngagementType
    occurred_at: datetime
    direction: str | None = None  # "inbound" | "outbound" for emails, forms and calls
    subject: str | None = None
    body: str = ""
    contact_id: str | None = None
    deal_id: str | None = None
    owner_id: str | None = None

    @property
    def is_inbound(self) -> bool:
        return self.direction == "inbound"

    def ref(self) -> SourceRef:
        return SourceRef(kind=self.type.value, id=self.id, occurred_at=self.occurred_at, label=self.label())

    def label(self) -> str:
        what = {"email": "Email", "call": "Call", "note": "Note", "meeting": "Meeting", "form": "Form"}[
            self.type.value
        ]
        if self.direction:
            what = f"{self.direction.capitalize()} {what.lower()}"
        return f"{what}: {self.subject}" if self.subject else what


class SourceRef(BaseModel):
    """A CRM record a draft was based on, kept beside the AI output."""

    kind: str
    id: str
    occurred_at: datetime | None = None
    label: str = ""


CONTEXT_CHARS = 8_000  # of one interaction's text, for drafting


class LeadContext(BaseModel):
    """Everything the drafter may use about one triggered lead."""

    rule: str
    reason: str
    as_of: datetime
    contact: Contact
    company: Company | None = None
    deal: Deal | None = None
    owner: Owner | None = None
    engagements: list[Engagement] = Field(default_factory=list, description="newest first")
    workdays_ahead: list[date] = Field(
        default_factory=list,
        description="the next working days in the team's calendar: the only days to propose",
    )
    zone: str | None = Field(
        default=None, description="the team's time zone (IANA): the drafts' dates are in it"
    )

    @field_validator("engagements")
    @classmethod
    def _bounded(cls, engagements: list[Engagement]) -> list[Engagement]:
        """Each interaction's text, clipped: what a drafter reads (and a model is paid for) stays bounded,
        whatever a lead pasted or a thread quoted (the full text stays where it came from)."""
        return [
            e.model_copy(update={"body": e.body[:CONTEXT_CHARS]}) if len(e.body) > CONTEXT_CHARS else e
            for e in engagements
        ]

    @property
    def last_interaction(self) -> Engagement | None:
        return self.engagements[0] if self.engagements else None


class Stage(BaseModel):
    """A deal stage of one of the CRM's pipelines, and whether it ends the deal (and how)."""

    id: str
    label: str
    pipeline: str
    closed: bool
    won: bool


class Thread(BaseModel):
    """A CRM inbox conversation the lead wrote in on: a reply there leaves from the shared inbox."""

    id: str
    channel_id: str
    channel_account_id: str
    inbox_id: str | None = None


class Urgency(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def storable(text: str) -> str:
    """Text any database and Slack can take: NUL removed, unpaired surrogates (valid in JSON, and what
    surrogate-escaped mail decodes to) replaced."""
    text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def one_line(text: str | None, limit: int) -> str:
    """Text for a single line (a name, a subject, an email header): no control characters or line breaks,
    whitespace collapsed, at most `limit` characters."""
    flat = " ".join(_CONTROL.sub(" ", text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def block_text(text: str | None, limit: int) -> str:
    """Text that keeps its line breaks (a body, a summary): control characters other than newlines and tabs
    removed, at most `limit` characters."""
    clean = _CONTROL.sub("", (text or "").replace("\r\n", "\n").replace("\r", "\n")).strip()
    return clean if len(clean) <= limit else clean[: limit - 1].rstrip() + "…"


# the subject the app gives an inbound lead that came without one ("Inquiry via the pricing form"): a label
# of ours, not the lead's words, so the classifier never reads it
SYNTHETIC_SUBJECT = "Inquiry via "

OWN_MARK = "[followup:"  # tags the notes and tasks this app writes into the CRM


def tagged(body: str, marker: str | None) -> str:
    """A note or task body carrying its marker (`followup:<id>:<kind>`), which both finds an earlier write
    and tells the app's own records from interactions with the lead."""
    return f"{body}\n\n[{marker}]" if marker else body


def is_own_record(text: str | None) -> bool:
    """A note or task this app wrote (a review trail): not an interaction with the lead."""
    return OWN_MARK in (text or "")


def _lines(items: list[str] | None, *, count: int, limit: int) -> list[str]:
    return [text for text in (one_line(x, limit) for x in (items or [])[:count]) if text]


class DraftOutput(BaseModel):
    """What a drafter returns; every field is kept in the database. Build it with `fit` from whatever a
    drafter produced: any input then gives a valid draft within these limits."""

    summary: str = Field(min_length=1, max_length=1500)
    classification: str = Field(min_length=1, max_length=80)
    urgency: Urgency
    missing_information: list[str] = Field(default_factory=list)
    review_flags: list[str] = Field(
        default_factory=list, description="price, timing, scope, access or promises a person must decide"
    )
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=2900)
    sources: list[SourceRef] = Field(default_factory=list)
    # the pipeline's findings (class, confidence, extraction, scores, each step's engine) and its run id
    analysis: dict[str, Any] | None = None
    run_id: str | None = None

    @classmethod
    def fit(
        cls,
        *,
        summary: str,
        classification: str,
        urgency: Urgency | str,
        subject: str,
        body: str,
        missing_information: list[str] | None = None,
        review_flags: list[str] | None = None,
        sources: list[SourceRef] | None = None,
    ) -> DraftOutput:
        """Clip every field to its limit, make the subject a single line and fill what is empty."""
        return cls(
            summary=block_text(summary, 1500) or "No summary.",
            classification=one_line(classification, 80) or "general inquiry",
            urgency=Urgency(urgency) if urgency in set(Urgency) else Urgency.MEDIUM,
            missing_information=_lines(missing_information, count=10, limit=200),
            review_flags=_lines(review_flags, count=12, limit=400),
            subject=one_line(subject, 200) or "Following up",
            body=block_text(body, 2900) or "Hi,\n\nFollowing up on your message.\n\nBest",
            sources=(sources or [])[:10],
        )
