"""Tables of the embedded CRM: a real store in the app's own database, shaped like HubSpot's objects."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.models import Base


class CrmOwner(Base):
    __tablename__ = "crm_owners"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))


class CrmCompany(Base):
    __tablename__ = "crm_companies"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str | None] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(100))
    employees: Mapped[int | None] = mapped_column(Integer)


class CrmContact(Base):
    __tablename__ = "crm_contacts"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50))
    company_id: Mapped[str | None] = mapped_column(ForeignKey("crm_companies.id"))
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("crm_owners.id"))
    lead_source: Mapped[str | None] = mapped_column(String(100))
    opted_out_at: Mapped[datetime | None]  # unsubscribed or bounced: no follow-up emails
    timezone: Mapped[str | None] = mapped_column(String(64))  # IANA name, when known
    sequence_status: Mapped[str | None] = mapped_column(String(200))  # "completed: <rule> <date>"
    created_at: Mapped[datetime]


class CrmDeal(Base):
    __tablename__ = "crm_deals"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(60), index=True)
    amount: Mapped[float | None] = mapped_column(Numeric(14, 2))
    stage_changed_at: Mapped[datetime]
    close_date: Mapped[datetime | None]
    quote_expires_at: Mapped[datetime | None]
    lost_reason: Mapped[str | None] = mapped_column(String(200))
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("crm_contacts.id"))
    company_id: Mapped[str | None] = mapped_column(ForeignKey("crm_companies.id"))
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("crm_owners.id"))


class CrmEngagement(Base):
    __tablename__ = "crm_engagements"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str | None] = mapped_column(String(10))
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("crm_contacts.id"), index=True)
    deal_id: Mapped[str | None] = mapped_column(ForeignKey("crm_deals.id"), index=True)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("crm_owners.id"))
    message_id: Mapped[str | None] = mapped_column(String(255), index=True)
