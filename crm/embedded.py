"""The embedded CRM: the default when no HubSpot token is set."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime

from sqlalchemy import delete, func, or_, select, update

from bot.db import Database
from bot.errors import DeliveryError
from bot.records import (
    Company,
    Contact,
    Deal,
    Engagement,
    EngagementType,
    Owner,
    Stage,
    Thread,
    is_own_record,
    tagged,
)
from crm.tables import CrmCompany, CrmContact, CrmDeal, CrmEngagement, CrmOwner


def _engagement(row: CrmEngagement) -> Engagement:
    return Engagement(
        id=row.id,
        type=EngagementType(row.type),
        direction=row.direction,
        occurred_at=row.occurred_at,
        subject=row.subject,
        body=row.body,
        contact_id=row.contact_id,
        deal_id=row.deal_id,
        owner_id=row.owner_id,
    )


def _deal(row: CrmDeal) -> Deal:
    return Deal(
        id=row.id,
        name=row.name,
        stage=row.stage,
        amount=float(row.amount) if row.amount is not None else None,
        stage_changed_at=row.stage_changed_at,
        close_date=row.close_date,
        quote_expires_at=row.quote_expires_at,
        lost_reason=row.lost_reason,
        contact_id=row.contact_id,
        company_id=row.company_id,
        owner_id=row.owner_id,
    )


def _interactions(rows: Iterable[CrmEngagement]) -> list[Engagement]:
    """Engagements with the lead: not the tasks and review-trail notes this app wrote itself."""
    return [_engagement(r) for r in rows if r.type != "task" and not is_own_record(r.body)]


class EmbeddedCRM:
    name = "embedded"

    def __init__(self, db: Database) -> None:
        self.db = db

    def get_contact(self, contact_id: str) -> Contact | None:
        with self.db.session() as s:
            row = s.get(CrmContact, contact_id)
            return Contact.model_validate(row, from_attributes=True) if row else None

    def get_company(self, company_id: str) -> Company | None:
        with self.db.session() as s:
            row = s.get(CrmCompany, company_id)
            return Company.model_validate(row, from_attributes=True) if row else None

    def get_deal(self, deal_id: str) -> Deal | None:
        with self.db.session() as s:
            row = s.get(CrmDeal, deal_id)
            return _deal(row) if row else None

    def get_owner(self, owner_id: str) -> Owner | None:
        with self.db.session() as s:
            row = s.get(CrmOwner, owner_id)
            return Owner.model_validate(row, from_attributes=True) if row else None

    def engagements_since(self, since: datetime) -> list[Engagement]:
        with self.db.session() as s:
            rows = s.scalars(
                select(CrmEngagement)
                .where(CrmEngagement.occurred_at >= since)
                .order_by(CrmEngagement.occurred_at, CrmEngagement.id)
            )
            return _interactions(rows)

    def engagements_for(
        self, *, contact_id: str, deal_id: str | None = None, limit: int = 10
    ) -> list[Engagement]:
        cond = CrmEngagement.contact_id == contact_id
        if deal_id:
            cond = or_(cond, CrmEngagement.deal_id == deal_id)
        with self.db.session() as s:
            rows = s.scalars(
                select(CrmEngagement)
                .where(cond)
                .where(CrmEngagement.type != "task")
                .order_by(CrmEngagement.occurred_at.desc(), CrmEngagement.id.desc())
                .limit(limit + 5)
            )
            return _interactions(rows)[:limit]

    def batch(self, contact_ids: Iterable[str], deal_ids: Iterable[str] = ()) -> AbstractContextManager[None]:
        return nullcontext()  # reads are local queries: nothing to gain from batching

    def reply_thread(self, contact_id: str) -> Thread | None:
        return None  # no inbox: replies go out by email

    def send_on_thread(self, thread: Thread, **_: object) -> str:
        raise DeliveryError("The embedded CRM has no inbox threads to reply on.")

    def stages(self) -> list[Stage] | None:
        return None  # no pipelines: the configured stage ids are the closed ones

    def open_deals(self, closed_stages: list[str]) -> list[Deal]:
        with self.db.session() as s:
            rows = s.scalars(select(CrmDeal).where(CrmDeal.stage.not_in(closed_stages)).order_by(CrmDeal.id))
            return [_deal(r) for r in rows]

    def deals_for(self, *, contact_id: str | None, company_id: str | None) -> list[Deal]:
        conditions = [
            *([CrmDeal.contact_id == contact_id] if contact_id else []),
            *([CrmDeal.company_id == company_id] if company_id else []),
        ]
        if not conditions:
            return []
        with self.db.session() as s:
            return [_deal(r) for r in s.scalars(select(CrmDeal).where(or_(*conditions)).order_by(CrmDeal.id))]

    def deals_in_stages(self, stages: list[str]) -> list[Deal]:
        with self.db.session() as s:
            rows = s.scalars(select(CrmDeal).where(CrmDeal.stage.in_(stages)).order_by(CrmDeal.id))
            return [_deal(r) for r in rows]

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
        """Idempotent on the Message-ID: a retried log after a crash finds the first one."""
        existing = self._written(message_id)
        if existing:
            return existing
        return self._add(
            type="email",
            direction="outbound",
            occurred_at=sent_at,
            subject=subject,
            body=body,
            contact_id=contact_id,
            deal_id=deal_id,
            owner_id=owner_id,
            message_id=message_id,
        )

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
        """Idempotent on the marker (kept in the message_id column)."""
        existing = self._written(marker)
        if existing:
            return existing
        text = tagged(body, marker)
        return self._add(
            type="note", occurred_at=at, body=text, contact_id=contact_id, deal_id=deal_id, message_id=marker
        )

    def mark_opted_out(self, *, contact_id: str | None, email: str) -> None:
        with self.db.session() as s:
            s.execute(
                update(CrmContact)
                .where(or_(CrmContact.id == contact_id, func.lower(CrmContact.email) == email.lower()))
                .where(CrmContact.opted_out_at.is_(None))
                .values(opted_out_at=datetime.now(UTC))
            )

    def find_contact(self, email: str) -> Contact | None:
        with self.db.session() as s:
            row = s.scalars(
                select(CrmContact)
                .where(func.lower(CrmContact.email) == email.strip().lower())
                .order_by(CrmContact.created_at, CrmContact.id)
            ).first()
            return Contact.model_validate(row, from_attributes=True) if row else None

    def find_contact_by_name(self, first_name: str, last_name: str, company_id: str) -> Contact | None:
        with self.db.session() as s:
            row = s.scalars(
                select(CrmContact)
                .where(
                    func.lower(CrmContact.first_name) == first_name.strip().lower(),
                    func.lower(CrmContact.last_name) == last_name.strip().lower(),
                    CrmContact.company_id == company_id,
                )
                .order_by(CrmContact.created_at, CrmContact.id)
            ).first()
            return Contact.model_validate(row, from_attributes=True) if row else None

    def find_company(self, domain: str) -> Company | None:
        with self.db.session() as s:
            row = s.scalars(
                select(CrmCompany).where(func.lower(CrmCompany.domain) == domain.strip().lower())
            ).first()
            return Company.model_validate(row, from_attributes=True) if row else None

    def owners(self) -> dict[str, Owner]:
        with self.db.session() as s:
            return {
                r.id: Owner.model_validate(r, from_attributes=True)
                for r in s.scalars(select(CrmOwner).order_by(CrmOwner.id))
            }

    def create_contact(
        self, *, email: str, first_name: str, last_name: str, company_id: str | None, source: str
    ) -> str:
        existing = self.find_contact(email)
        if existing is not None:
            return existing.id
        contact_id = uuid.uuid4().hex[:16]
        with self.db.session() as s:
            s.add(
                CrmContact(
                    id=contact_id,
                    email=email,
                    first_name=first_name[:100],
                    last_name=last_name[:100],
                    company_id=company_id,
                    lead_source=source[:100],
                    created_at=datetime.now(UTC),
                )
            )
        return contact_id

    def set_owner(self, contact_id: str, owner_id: str) -> None:
        with self.db.session() as s:
            s.execute(
                update(CrmContact)
                .where(CrmContact.id == contact_id)
                .values(owner_id=owner_id)
                .execution_options(synchronize_session=False)
            )

    def form_fills_since(self, since: datetime) -> list[Engagement]:
        with self.db.session() as s:
            rows = s.scalars(
                select(CrmEngagement)
                .where(
                    CrmEngagement.type == "form",
                    CrmEngagement.direction == "inbound",
                    CrmEngagement.occurred_at >= since,
                )
                .order_by(CrmEngagement.occurred_at, CrmEngagement.id)
            )
            return [_engagement(r) for r in rows]

    def mark_sequence_completed(self, *, contact_id: str, prop: str, value: str) -> None:
        """The embedded CRM keeps the same marker HubSpot would (one column, whatever the property name)."""
        del prop
        with self.db.session() as s:
            s.execute(
                update(CrmContact)
                .where(CrmContact.id == contact_id)
                .values(sequence_status=value)
                .execution_options(synchronize_session=False)
            )

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
        existing = self._written(marker)
        if existing:
            return existing
        return self._add(
            type="task",
            occurred_at=due_at,
            subject=subject,
            body=tagged(body, marker),
            contact_id=contact_id,
            deal_id=deal_id,
            owner_id=owner_id,
            message_id=marker,
        )

    def _written(self, marker: str | None) -> str | None:
        """An engagement this app wrote earlier with this Message-ID or marker (a retried write finds it)."""
        if not marker:
            return None
        with self.db.session() as s:
            return s.scalar(select(CrmEngagement.id).where(CrmEngagement.message_id == marker))

    def _add(self, **fields: object) -> str:
        eid = f"eng-{uuid.uuid4().hex[:12]}"
        with self.db.session() as s:
            s.add(CrmEngagement(id=eid, **fields))
        return eid

    def clear(self) -> None:
        """Remove every CRM record (the sample book is replaced, not merged)."""
        with self.db.session() as s:
            for table in (CrmEngagement, CrmDeal, CrmContact, CrmCompany, CrmOwner):
                s.execute(delete(table))
