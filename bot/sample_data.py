"""A realistic sample book of business for the embedded CRM, generated (deterministically) relative to now."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bot.clock import BusinessCalendar
from bot.config import BusinessHours
from bot.db import Database
from crm.tables import CrmCompany, CrmContact, CrmDeal, CrmEngagement, CrmOwner

OWNERS = [
    ("Dana", "Whitfield"),
    ("Marcus", "Oyelaran"),
    ("Priya", "Raman"),
    ("Tom", "Becker"),
    ("Lena", "Kowalski"),
]
COMPANY_PARTS = (
    [
        "Northwind",
        "Bluepeak",
        "Harbor",
        "Ironleaf",
        "Cedar",
        "Brightline",
        "Summit",
        "Redwood",
        "Lumen",
        "Keystone",
        "Falcon",
        "Meridian",
        "Copperfield",
        "Silverlake",
        "Granite",
        "Oakridge",
        "Evergreen",
        "Atlas",
        "Beacon",
        "Clearwater",
        "Stonebridge",
        "Pinecrest",
        "Riverbend",
        "Westgate",
        "Tidewater",
    ],
    [
        "Logistics",
        "Health",
        "Analytics",
        "Manufacturing",
        "Legal",
        "Foods",
        "Energy",
        "Capital",
        "Robotics",
        "Studios",
        "Dental Group",
        "Freight",
        "Software",
        "Insurance",
        "Labs",
    ],
)
INDUSTRIES = [
    "Logistics",
    "Healthcare",
    "SaaS",
    "Manufacturing",
    "Legal services",
    "Food & beverage",
    "Energy",
    "Financial services",
    "Robotics",
    "Media",
]
FIRST = [
    "Sarah",
    "James",
    "Aisha",
    "Daniel",
    "Mei",
    "Carlos",
    "Olivia",
    "Noah",
    "Fatima",
    "Liam",
    "Grace",
    "Ethan",
    "Sofia",
    "Lucas",
    "Hannah",
    "Mateo",
    "Chloe",
    "Ravi",
    "Emma",
    "Jonas",
    "Isabel",
    "Kenji",
    "Nora",
    "Omar",
]
LAST = [
    "Chen",
    "Patel",
    "Garcia",
    "Müller",
    "Okafor",
    "Johansson",
    "Rossi",
    "Nguyen",
    "Silva",
    "Cohen",
    "Dubois",
    "Kim",
    "Novak",
    "Haddad",
    "Brennan",
    "Tanaka",
    "Lindqvist",
    "Moreau",
    "Abebe",
    "Walsh",
]
TITLES = [
    "VP Operations",
    "Head of RevOps",
    "COO",
    "IT Director",
    "Procurement Manager",
    "Founder & CEO",
    "Head of Sales",
    "Operations Manager",
    None,
    "CFO",
]
INQUIRIES = [
    (
        "Demo request",
        "We're evaluating tools to replace our spreadsheet-based dispatch process. Could we see a demo "
        "for a team of about 40 dispatchers? Ideally before our Q1 planning.",
    ),
    (
        "Pricing question",
        "What does pricing look like for 25 seats? We have budget approved for this quarter and "
        "need a quote to take to finance.",
    ),
    (
        "Integration with HubSpot",
        "Does your platform integrate with HubSpot and our Snowflake warehouse? Our ops "
        "team needs the data in one place before we can move forward.",
    ),
    (
        "Trial access",
        "Can we get trial access for our analytics team? We'd like to test it on last month's data.",
    ),
    (
        "Partnership inquiry",
        "We're a regional reseller for operations software and think our clients would be a "
        "good fit. Open to a partnership conversation?",
    ),
    (
        "Question about onboarding",
        "How long does onboarding usually take for a company our size (about 300 "
        "employees)? Our go-live target is end of February.",
    ),
]
CALL_NOTES = [
    "Mentioned the Q2 implementation timeline is the key constraint; legal review of the DPA still open.",
    "Discussed phasing the rollout: start with the Boston warehouse, expand to two more sites after 60 days.",
    "CFO wants to see ROI numbers against their current manual process before signing off.",
    "They are comparing us with two other vendors; main concern is migration effort from the legacy system.",
    "Champion is positive but needs buy-in from IT on SSO and data residency.",
    "Asked for a reference customer in the same industry before the next meeting.",
]
OUTBOUND = [
    ("Proposal for {company}", "Attached is the proposal we discussed, with the phased rollout option."),
    (
        "Recap of our call",
        "Thanks for the time today. As promised, here is a recap and the security overview.",
    ),
    ("Agreement for review", "Sending over the order form and MSA for your legal team's review."),
]
STAGES = [
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
]


@dataclass
class SampleBook:
    owners: list[CrmOwner]
    companies: list[CrmCompany]
    contacts: list[CrmContact]
    deals: list[CrmDeal]
    engagements: list[CrmEngagement]

    def rows(self) -> list:
        return [*self.owners, *self.companies, *self.contacts, *self.deals, *self.engagements]


def _business_moment(
    calendar: BusinessCalendar, now: datetime, workdays_back: int, hour: int, minute: int
) -> datetime:
    """A time during business hours `workdays_back` working days before now."""
    day = now.astimezone(calendar.zone).date()
    back = 0
    while back < workdays_back:
        day -= timedelta(days=1)
        if calendar.is_workday(day):
            back += 1
    return datetime.combine(day, time(hour, minute), calendar.zone)


def generate(
    now: datetime,
    *,
    hours: BusinessHours | None = None,
    seed: int = 7,
    contacts: int = 45,
    companies: int = 25,
) -> SampleBook:
    rng = random.Random(seed)
    calendar = BusinessCalendar(hours or BusinessHours())
    owners = [
        CrmOwner(
            id=f"own-{i + 1}",
            email=f"{first.lower()}.{last.lower()}@followup-demo.com",
            first_name=first,
            last_name=last,
        )
        for i, (first, last) in enumerate(OWNERS)
    ]
    pool = [f"{a} {b}" for a in COMPANY_PARTS[0] for b in COMPANY_PARTS[1]]
    names = rng.sample(pool, min(companies, len(pool)))
    names += [f"{rng.choice(pool)} {n}" for n in range(2, companies - len(names) + 2)]  # large books
    comps = []
    for i, name in enumerate(names):
        domain = name.lower().replace(" ", "").replace("&", "") + ".example"
        comps.append(
            CrmCompany(
                id=f"co-{i + 1}",
                name=name,
                domain=domain,
                industry=rng.choice(INDUSTRIES),
                employees=rng.choice([12, 45, 120, 300, 850, 2400, None]),
            )
        )
    people: list[CrmContact] = []
    pairs = [(f, last) for f in FIRST for last in LAST]
    rng.shuffle(pairs)
    for i in range(contacts):
        company = comps[i % companies]
        first, last = pairs[i % len(pairs)]
        suffix = str(i // len(pairs) + 1) if i >= len(pairs) else ""  # unique emails in large books
        people.append(
            CrmContact(
                id=f"ct-{i + 1}",
                email=f"{first.lower()}.{last.lower().replace('ü', 'ue')}{suffix}@{company.domain}",
                first_name=first,
                last_name=last,
                title=rng.choice(TITLES),
                phone=rng.choice([None, f"+1 617 555 {rng.randint(1000, 9999)}"]),
                company_id=company.id,
                owner_id=owners[i % len(owners)].id,
                lead_source=rng.choice(["Website form", "Referral", "Webinar", "Outbound", "Partner"]),
                created_at=now - timedelta(days=rng.randint(5, 200)),
            )
        )

    engagements: list[CrmEngagement] = []
    counter = itertools.count(1)

    def add(
        kind: str,
        contact: CrmContact,
        at: datetime,
        body: str,
        *,
        direction: str | None = None,
        subject: str | None = None,
        deal: CrmDeal | None = None,
    ) -> None:
        engagements.append(
            CrmEngagement(
                id=f"eng-{next(counter):04d}",
                type=kind,
                direction=direction,
                occurred_at=at,
                subject=subject,
                body=body,
                contact_id=contact.id,
                deal_id=deal.id if deal else None,
                owner_id=contact.owner_id,
            )
        )

    # 1. Fresh inbound: 8 unanswered inquiries from 1-3 working days ago, 3 answered, 2 still in the window.
    # The demo's 45 contacts split 13 inbound / 30 with deals / 2 quiet; larger books keep the proportions.
    n_inbound, n_deals = round(contacts * 13 / 45), round(contacts * 30 / 45)
    for n, contact in enumerate(people[:n_inbound]):
        subject, text = INQUIRIES[n % len(INQUIRIES)]
        kind = "form" if n % 2 == 0 else "email"
        if n % 13 < 8:
            at = _business_moment(calendar, now, 1 + n % 3, 9 + n % 5, 15 * (n % 4))
            add(kind, contact, at, text, direction="inbound", subject=subject)
        elif n % 13 < 11:
            at = _business_moment(calendar, now, 2, 10, 0)
            add(kind, contact, at, text, direction="inbound", subject=subject)
            add(
                "email",
                contact,
                at + timedelta(minutes=40),
                "Thanks for reaching out — happy to help. Here are two times for a call.",
                direction="outbound",
                subject=f"Re: {subject}",
            )
        else:
            add(
                kind,
                contact,
                now - timedelta(minutes=20 + 10 * n),
                text,
                direction="inbound",
                subject=subject,
            )

    # 2. Deals in every open stage, some stale, plus a few closed ones.
    deals: list[CrmDeal] = []
    for n, contact in enumerate(people[n_inbound : n_inbound + n_deals]):
        stage = STAGES[n % len(STAGES)] if n % 30 < 25 else ("closedwon" if n % 30 == 25 else "closedlost")
        stale = n % 3 == 0
        idle = rng.randint(25, 40) if stale else rng.randint(1, 5)
        company = next(c for c in comps if c.id == contact.company_id)
        close_date = now + timedelta(days=rng.randint(10, 90))
        lost_reason, quote_expires = None, None
        if stage == "closedlost":  # "not right now": one due for a check-in, one long past, the others later
            idle = 65 if n % 30 == 26 else 400 if n % 30 == 28 else 20 + n % 10
            close_date = now - timedelta(days=idle)
            lost_reason = (
                "Not right now — revisit after their budget cycle" if n % 30 != 29 else "Chose a competitor"
            )
        if stage == "contractsent" and n % 2 == 0:  # a quote that ran out before anyone signed
            quote_expires = now - timedelta(days=2 + n % 5)
        deal = CrmDeal(
            id=f"deal-{n + 1}",
            name=f"{company.name} — {rng.choice(['Platform', 'Pilot', 'Expansion'])}",
            stage=stage,
            amount=rng.choice([None, 12_000, 24_500, 48_000, 75_000, 140_000]),
            stage_changed_at=now - timedelta(days=idle),
            close_date=close_date,
            quote_expires_at=quote_expires,
            lost_reason=lost_reason,
            contact_id=contact.id,
            company_id=company.id,
            owner_id=contact.owner_id,
        )
        deals.append(deal)
        call_at = _business_moment(calendar, now, idle + 1, 14, 0)
        add(
            "call",
            contact,
            call_at,
            CALL_NOTES[n % len(CALL_NOTES)],
            direction="outbound",
            subject="Discovery call" if stage in STAGES[:2] else "Follow-up call",
            deal=deal,
        )
        subj, text = OUTBOUND[n % len(OUTBOUND)]
        add(
            "email",
            contact,
            call_at + timedelta(hours=2),
            text,
            direction="outbound",
            subject=subj.format(company=company.name),
            deal=deal,
        )
        if n % 4 == 1:
            add(
                "note",
                contact,
                call_at + timedelta(hours=3),
                f"Internal: {contact.first_name} prefers email; decision expected after their board meeting.",
                deal=deal,
            )
    # 3. The last two contacts: long-quiet relationships with meeting history only.
    for contact in people[n_inbound + n_deals :]:
        add(
            "meeting",
            contact,
            now - timedelta(days=rng.randint(40, 80)),
            "Intro meeting; interested but said 'not right now' — revisit next quarter.",
            subject="Intro meeting",
        )
    return SampleBook(owners, comps, people, deals, engagements)


def seed(db: Database, now: datetime, *, hours: BusinessHours | None = None) -> SampleBook:
    """Replace the embedded CRM's contents with the sample book."""
    from crm.embedded import EmbeddedCRM

    EmbeddedCRM(db).clear()
    book = generate(now, hours=hours)
    with db.session() as s:
        for group in (book.owners, book.companies, book.contacts, book.deals, book.engagements):
            s.add_all(group)
            s.flush()
    return book
