"""One small book of business, loadable into the embedded CRM and into the fake HubSpot alike."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.db import Database
from crm.tables import CrmCompany, CrmContact, CrmDeal, CrmEngagement, CrmOwner
from tests.fakes.hubspot_api import FakeHubSpot

DANA_EMAIL = "dana.whitfield@followup-demo.com"
SARAH, OMAR = "101", "102"  # contacts (HubSpot ids are numeric)
DEAL = "301"
DEMO_REQUEST = (
    "Could we see a demo for our 40 dispatchers? We want to replace spreadsheets before Q1 planning."
)
CALL_NOTE = "Omar said legal review of the DPA is the last open item before signature."


def small_book(db: Database, now: datetime) -> None:
    """One rep (Dana), an unanswered inbound demo request from yesterday, one stale deal."""
    with db.session() as s:
        s.add(CrmOwner(id="501", email=DANA_EMAIL, first_name="Dana", last_name="Whitfield"))
        s.add(CrmCompany(id="201", name="Northwind Logistics", domain="northwind.example", employees=300))
        s.add(CrmCompany(id="202", name="Bluepeak Health", domain="bluepeak.example"))
        s.flush()
        s.add(
            CrmContact(
                id=SARAH,
                email="sarah.chen@northwind.example",
                first_name="Sarah",
                last_name="Chen",
                title="VP Operations",
                company_id="201",
                owner_id="501",
                created_at=now - timedelta(days=3),
            )
        )
        s.add(
            CrmContact(
                id=OMAR,
                email="omar.haddad@bluepeak.example",
                first_name="Omar",
                last_name="Haddad",
                company_id="202",
                owner_id="501",
                created_at=now - timedelta(days=90),
            )
        )
        s.flush()
        s.add(
            CrmDeal(
                id=DEAL,
                name="Bluepeak — Pilot",
                stage="presentationscheduled",
                amount=48000,
                stage_changed_at=now - timedelta(days=20),
                contact_id=OMAR,
                company_id="202",
                owner_id="501",
            )
        )
        s.flush()
        s.add(
            CrmEngagement(
                id="401",
                type="form",
                direction="inbound",
                occurred_at=now - timedelta(days=1),
                subject="Demo request",
                contact_id=SARAH,
                owner_id="501",
                body=DEMO_REQUEST,
            )
        )
        s.add(
            CrmEngagement(
                id="402",
                type="call",
                direction="outbound",
                occurred_at=now - timedelta(days=21),
                subject="Pricing call",
                contact_id=OMAR,
                deal_id=DEAL,
                owner_id="501",
                body=CALL_NOTE,
            )
        )


def small_book_in_hubspot(hs: FakeHubSpot, now: datetime) -> None:
    """The same book as HubSpot holds it: form fills live on the contact, engagements are objects."""
    iso = lambda at: at.isoformat()  # noqa: E731
    hs.owners["501"] = {"email": DANA_EMAIL, "firstName": "Dana", "lastName": "Whitfield", "userId": 1}
    hs.add("companies", "201", name="Northwind Logistics", domain="northwind.example", numberofemployees=300)
    hs.add("companies", "202", name="Bluepeak Health", domain="bluepeak.example")
    hs.add(
        "contacts",
        SARAH,
        email="sarah.chen@northwind.example",
        firstname="Sarah",
        lastname="Chen",
        jobtitle="VP Operations",
        associatedcompanyid="201",
        hubspot_owner_id="501",
        createdate=iso(now - timedelta(days=3)),
        recent_conversion_date=iso(now - timedelta(days=1)),
        recent_conversion_event_name="Demo request",
        message=DEMO_REQUEST,
    )
    hs.add(
        "contacts",
        OMAR,
        email="omar.haddad@bluepeak.example",
        firstname="Omar",
        lastname="Haddad",
        associatedcompanyid="202",
        hubspot_owner_id="501",
        createdate=iso(now - timedelta(days=90)),
    )
    hs.add(
        "deals",
        DEAL,
        dealname="Bluepeak — Pilot",
        dealstage="presentationscheduled",
        amount="48000",
        hubspot_owner_id="501",
        hs_v2_date_entered_current_stage=iso(now - timedelta(days=20)),
    )
    hs.link("deals", DEAL, "contacts", OMAR)
    hs.link("deals", DEAL, "companies", "202")
    hs.add(
        "calls",
        "402",
        hs_timestamp=iso(now - timedelta(days=21)),
        hs_call_direction="OUTBOUND",
        hs_call_title="Pricing call",
        hs_call_body=CALL_NOTE,
        hubspot_owner_id="501",
    )
    hs.link("calls", "402", "contacts", OMAR)
    hs.link("calls", "402", "deals", DEAL)


def detect(crm, config, now: datetime):  # type: ignore[no-untyped-def]
    """Every enabled rule's triggers at `now` (what a scan would find)."""
    from bot.clock import BusinessCalendar
    from bot.triggers.base import Pipeline, RuleContext
    from bot.triggers.registry import run_rules

    ctx = RuleContext(
        crm=crm,
        calendar=BusinessCalendar(config.business_hours),
        now=now,
        pipeline=Pipeline(config.pipeline.won_stages, config.pipeline.lost_stages),
    )
    run = run_rules(config.triggers, ctx)
    assert run.failures == {}, run.failures
    return run.triggers


def stale_book(db: Database, now: datetime, leads: int) -> list[str]:
    """Dana and `leads` contacts, each with a deal stuck for 30 days: triggers that fire whatever the time of
    day or week the test runs. Returns the contact ids."""
    ids = []
    with db.session() as s:
        s.add(CrmOwner(id="501", email=DANA_EMAIL, first_name="Dana", last_name="Whitfield"))
        s.flush()
        for n in range(leads):
            cid = str(1000 + n)
            ids.append(cid)
            s.add(
                CrmContact(
                    id=cid,
                    email=f"lead{n}@example.com",
                    first_name=f"Lead{n}",
                    last_name="Stuck",
                    owner_id="501",
                    created_at=now - timedelta(days=60),
                )
            )
            s.flush()
            s.add(
                CrmDeal(
                    id=str(2000 + n),
                    name=f"Deal {n}",
                    stage="qualifiedtobuy",
                    stage_changed_at=now - timedelta(days=30),
                    contact_id=cid,
                    owner_id="501",
                )
            )
    return ids


def hubspot_portal(hs: FakeHubSpot, now: datetime, *, contacts: int = 2000, deals: int = 1000) -> set[str]:
    """A mid-size portal: 5 owners, 400 companies, `contacts` contacts, `deals` deals (a tenth stalled), 100
    unanswered form fills, recent email and note traffic that triggers nothing, older history for everyone,
    and a second pipeline whose closed stages only its metadata names. Returns the contacts that should
    trigger (the stalled deals' contacts and the form fills)."""
    iso = lambda at: at.isoformat()  # noqa: E731
    from tests.fakes.hubspot_api import default_pipeline, pipeline

    hs.pipelines = [
        default_pipeline(),
        pipeline(
            "renewals",
            "Renewals",
            [
                ("r-open", "Renewal due", "0.5", "false"),
                ("r-won", "Renewed", "1.0", "true"),
                ("r-lost", "Churned", "0.0", "true"),
            ],
        ),
    ]
    for n in range(5):
        hs.owners[str(501 + n)] = {
            "email": f"rep{n}@followup-demo.com",
            "firstName": f"Rep{n}",
            "lastName": "Seller",
            "userId": n + 1,
        }
    for n in range(400):
        hs.add("companies", str(200000 + n), name=f"Company {n}", domain=f"c{n}.example")
    expected: set[str] = set()
    ids = iter(range(700000, 10**7))
    for n in range(contacts):
        cid = str(100000 + n)
        props: dict[str, Any] = {
            "email": f"lead{n}@c{n % 400}.example",
            "firstname": f"Lead{n}",
            "lastname": "Prospect",
            "hubspot_owner_id": str(501 + n % 5),
            "associatedcompanyid": str(200000 + n % 400),
            "createdate": iso(now - timedelta(days=200)),
        }
        if deals <= n < deals + 100:  # an inquiry from yesterday, unanswered
            props |= {
                "recent_conversion_date": iso(now - timedelta(days=1)),
                "recent_conversion_event_name": "Contact us",
                "message": f"Could we talk about pricing for team {n}?",
            }
            expected.add(cid)
        hs.add("contacts", cid, **props)
        for k in range(2):  # older history
            eid = str(next(ids))
            hs.add(
                "emails",
                eid,
                hs_timestamp=iso(now - timedelta(days=90 + k)),
                hs_email_direction="EMAIL",
                hs_email_subject=f"Intro {k}",
                hs_email_text="Following our chat, here is the overview.",
            )
            hs.link("emails", eid, "contacts", cid)
        if 1200 <= n < 1600:  # recent outbound traffic: answers nothing, triggers nothing
            eid = str(next(ids))
            hs.add(
                "emails",
                eid,
                hs_timestamp=iso(now - timedelta(days=3)),
                hs_email_direction="EMAIL",
                hs_email_subject="Newsletter",
                hs_email_text="Our November update.",
            )
            hs.link("emails", eid, "contacts", cid)
        if 1600 <= n < 1800:
            eid = str(next(ids))
            hs.add(
                "notes", eid, hs_timestamp=iso(now - timedelta(days=5)), hs_note_body="Met at the trade show."
            )
            hs.link("notes", eid, "contacts", cid)
    for n in range(deals):
        did = str(300000 + n)
        stalled = n % 10 == 0
        renewal_closed = n % 10 == 5  # closed in the renewals pipeline long ago: not stale
        stage = "r-won" if renewal_closed else "qualifiedtobuy"
        entered = now - timedelta(days=40 if (stalled or renewal_closed) else 3)
        hs.add(
            "deals",
            did,
            dealname=f"Deal {n}",
            dealstage=stage,
            pipeline="renewals" if renewal_closed else "default",
            amount="12000",
            hubspot_owner_id=str(501 + n % 5),
            hs_v2_date_entered_current_stage=iso(entered),
        )
        hs.link("deals", did, "contacts", str(100000 + n))
        hs.link("deals", did, "companies", str(200000 + n % 400))
        if stalled:
            expected.add(str(100000 + n))
    return expected
