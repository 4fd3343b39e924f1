"""Small, explicit CRM fixtures for tests (the demo uses the generated sample book instead)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.db import Database
from crm.tables import CrmCompany, CrmContact, CrmDeal, CrmEngagement, CrmOwner

DANA_EMAIL = "dana.whitfield@followup-demo.com"


def small_book(db: Database, now: datetime) -> None:
    """One rep (Dana), one unanswered inbound demo request from yesterday, one stale deal."""
    with db.session() as s:
        s.add(CrmOwner(id="own-1", email=DANA_EMAIL, first_name="Dana", last_name="Whitfield"))
        s.add(CrmCompany(id="co-1", name="Northwind Logistics", domain="northwind.example", employees=300))
        s.add(CrmCompany(id="co-2", name="Bluepeak Health", domain="bluepeak.example"))
        s.flush()
        s.add(
            CrmContact(
                id="ct-1",
                email="sarah.chen@northwind.example",
                first_name="Sarah",
                last_name="Chen",
                title="VP Operations",
                company_id="co-1",
                owner_id="own-1",
                created_at=now - timedelta(days=3),
            )
        )
        s.add(
            CrmContact(
                id="ct-2",
                email="omar.haddad@bluepeak.example",
                first_name="Omar",
                last_name="Haddad",
                company_id="co-2",
                owner_id="own-1",
                created_at=now - timedelta(days=90),
            )
        )
        s.flush()
        s.add(
            CrmDeal(
                id="deal-1",
                name="Bluepeak — Pilot",
                stage="contractsent",
                amount=48000,
                stage_changed_at=now - timedelta(days=20),
                contact_id="ct-2",
                company_id="co-2",
                owner_id="own-1",
            )
        )
        s.flush()
        s.add(
            CrmEngagement(
                id="eng-1",
                type="form",
                direction="inbound",
                occurred_at=now - timedelta(days=1),
                subject="Demo request",
                contact_id="ct-1",
                owner_id="own-1",
                body="Could we see a demo for our 40 dispatchers? We want to replace spreadsheets "
                "before Q1 planning.",
            )
        )
        s.add(
            CrmEngagement(
                id="eng-2",
                type="call",
                direction="outbound",
                occurred_at=now - timedelta(days=21),
                subject="Pricing call",
                contact_id="ct-2",
                deal_id="deal-1",
                owner_id="own-1",
                body="Omar said legal review of the DPA is the last open item before signature.",
            )
        )
