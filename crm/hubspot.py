"""The CRM port on HubSpot's date-based (2026-03) API. Vendor shapes stay in this module.

Reads are batched: searches take 200 a page and walk past HubSpot's 10,000-result cap in `hs_object_id`
windows; the context of a batch of leads is read with batch reads of 100 ids, batched associations of 1,000
and one owner list; engagements are read newest first, at most `limit` per record."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from bot.errors import DeliveryError, DeliveryUnknown, NoInboxSender
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
    storable,
    tagged,
)
from crm.hubspot_http import (
    ASSOCIATIONS,
    CONVERSATIONS,
    OBJECTS,
    OWNERS,
    PIPELINES,
    PREFERENCES,
    HubSpotError,
    HubSpotHTTP,
    HubSpotScopeError,
    HubSpotUnavailable,
    RateBudget,
)

log = logging.getLogger(__name__)

# HubSpot-defined association type ids, from → to (HubSpot's association schema)
ASSOC = {
    ("emails", "contacts"): 198,
    ("emails", "companies"): 186,
    ("emails", "deals"): 210,
    ("notes", "contacts"): 202,
    ("notes", "companies"): 190,
    ("notes", "deals"): 214,
    ("tasks", "contacts"): 204,
    ("tasks", "companies"): 192,
    ("tasks", "deals"): 216,
    ("contacts", "companies"): 1,  # the contact's primary company
}
ENGAGEMENT_TYPES = ("emails", "calls", "notes", "meetings")
PROPS = {
    "emails": ["hs_timestamp", "hs_email_direction", "hs_email_subject", "hs_email_text", "hubspot_owner_id"],
    "calls": ["hs_timestamp", "hs_call_direction", "hs_call_title", "hs_call_body", "hubspot_owner_id"],
    "notes": ["hs_timestamp", "hs_note_body", "hubspot_owner_id"],
    "meetings": ["hs_timestamp", "hs_meeting_title", "hs_meeting_body", "hubspot_owner_id"],
}
CONTACT_PROPS = [
    "email",
    "firstname",
    "lastname",
    "jobtitle",
    "phone",
    "hubspot_owner_id",
    "hs_analytics_source",
    "createdate",
    "associatedcompanyid",
    "recent_conversion_date",
    "recent_conversion_event_name",
    "message",
    "hs_timezone",
]
COMPANY_PROPS = ["name", "domain", "industry", "numberofemployees"]
DEAL_PROPS = [
    "dealname",
    "dealstage",
    "pipeline",
    "amount",
    "closedate",
    "hubspot_owner_id",
    "hs_lastmodifieddate",
    "hs_v2_date_entered_current_stage",
]
EMAIL_CHANNEL = "1002"  # HubSpot's channel id for email in conversations inboxes
PAGE = 200  # search page size: HubSpot's maximum
SEARCH_CAP = 10_000  # HubSpot answers no search page past this many results
BATCH = 100  # ids per batch read
ASSOC_BATCH = 1000  # ids per batch association read
CACHE_SECONDS = 600.0  # owners and pipelines change rarely
# our Deal field -> HubSpot deal property; `[hubspot.properties]` in followup.toml overrides these
DEFAULT_DEAL_FIELDS = {"quote_expires_at": "quote_expiration_date", "lost_reason": "closed_lost_reason"}


def _ms(at: datetime) -> str:
    return str(int(at.timestamp() * 1000))


def _when(value: Any) -> datetime | None:
    """HubSpot sends instants as ISO 8601 or as epoch milliseconds, depending on the property."""
    if not value or not isinstance(value, str | int):
        return None
    text = str(value)
    try:
        if text.lstrip("-").isdigit():
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return None


# kind -> (our type, subject property, body property, direction property, its value for "inbound")
SHAPES: dict[str, tuple[EngagementType, str | None, str, str | None, str | None]] = {
    "emails": (
        EngagementType.EMAIL,
        "hs_email_subject",
        "hs_email_text",
        "hs_email_direction",
        "INCOMING_EMAIL",
    ),
    "calls": (EngagementType.CALL, "hs_call_title", "hs_call_body", "hs_call_direction", "INBOUND"),
    "meetings": (EngagementType.MEETING, "hs_meeting_title", "hs_meeting_body", None, None),
    "notes": (EngagementType.NOTE, None, "hs_note_body", None, None),
}


def _props(obj: dict[str, Any]) -> dict[str, Any]:
    """A record's properties, every text made storable: whatever a visitor typed into a form reaches us here,
    and a NUL or an unpaired surrogate (both valid JSON) could be neither stored in PostgreSQL nor sent to
    Slack."""
    props = obj.get("properties")
    if not isinstance(props, dict):
        return {}
    return {k: storable(v) if isinstance(v, str) else v for k, v in props.items()}


def _engagement(kind: str, obj: dict[str, Any], contact_id: str | None, deal_id: str | None) -> Engagement:
    p = _props(obj)
    our_type, subject, body, direction_prop, inbound_value = SHAPES[kind]
    direction = None
    if our_type is not EngagementType.NOTE:
        inbound = direction_prop is not None and p.get(direction_prop) == inbound_value
        direction = "inbound" if inbound else "outbound"
    return Engagement(
        id=f"{kind}-{obj['id']}",
        type=our_type,
        occurred_at=_when(p.get("hs_timestamp")) or _when(obj.get("createdAt")) or datetime.now(UTC),
        direction=direction,
        subject=p.get(subject) if subject else None,
        body=p.get(body) or "",
        contact_id=contact_id,
        deal_id=deal_id,
        owner_id=p.get("hubspot_owner_id"),
    )


def _own(obj: dict[str, Any]) -> bool:
    """A note this app wrote (the review trail): not an interaction with the lead."""
    return is_own_record(_props(obj).get("hs_note_body"))


def _form_fill(obj: dict[str, Any]) -> Engagement | None:
    """HubSpot keeps form submissions on the contact: the latest one is an inbound inquiry."""
    p = _props(obj)
    at = _when(p.get("recent_conversion_date"))
    if at is None:
        return None
    return Engagement(
        id=f"form-{obj['id']}-{_ms(at)}",
        type=EngagementType.FORM,
        occurred_at=at,
        direction="inbound",
        subject=p.get("recent_conversion_event_name"),
        body=p.get("message") or "",
        contact_id=str(obj["id"]),
        owner_id=p.get("hubspot_owner_id"),
    )


def _contact(obj: dict[str, Any]) -> Contact:
    p = _props(obj)
    return Contact(
        id=str(obj["id"]),
        email=p.get("email") or "",
        first_name=p.get("firstname") or "",
        last_name=p.get("lastname") or "",
        title=p.get("jobtitle"),
        phone=p.get("phone"),
        company_id=p.get("associatedcompanyid") or None,
        owner_id=p.get("hubspot_owner_id") or None,
        lead_source=p.get("hs_analytics_source"),
        created_at=_when(p.get("createdate")),
        timezone=p.get("hs_timezone") or None,
    )


def _company(obj: dict[str, Any]) -> Company:
    p = _props(obj)
    employees = str(p.get("numberofemployees") or "")
    return Company(
        id=str(obj["id"]),
        name=p.get("name") or "",
        domain=p.get("domain"),
        industry=p.get("industry"),
        employees=int(employees) if employees.isdigit() else None,
    )


@dataclass
class _Batch:
    """What one batch of reads fetched, for the thread that asked for it."""

    contacts: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    deals: dict[str, Deal | None] = field(default_factory=dict)
    companies: dict[str, Company | None] = field(default_factory=dict)
    history: dict[tuple[str, str | None], list[Engagement]] = field(default_factory=dict)


class HubSpotCRM:
    name = "hubspot"

    def __init__(
        self,
        access_token: str,
        *,
        base_url: str | None = None,
        timeout: float = 20.0,
        properties: dict[str, str] | None = None,
        requests_per_10s: int = 100,
        searches_per_second: int = 5,
        history_limit: int = 10,
    ) -> None:
        self.http = HubSpotHTTP(
            access_token,
            base_url=base_url,
            timeout=timeout,
            budget=RateBudget(per_10s=requests_per_10s, search_per_s=searches_per_second),
        )
        # our Deal field -> the portal's property holding it (quote expiry and lost reason vary by portal)
        self.props = {**DEFAULT_DEAL_FIELDS, **(properties or {})}
        self.deal_props = [*DEAL_PROPS, *self.props.values()]
        self.history_limit = history_limit
        self._owners: tuple[float, dict[str, Owner]] | None = None
        self._stages: tuple[float, list[Stage]] | None = None
        self._users: dict[str, str] = {}  # owner id -> HubSpot user id (the inbox actor)
        self._no_inbox = False  # the token has no conversations scope: email goes over SMTP
        self._local = threading.local()
        self._lock = threading.Lock()

    # --- batches ---------------------------------------------------------------
    @contextmanager
    def batch(self, contact_ids: Iterable[str], deal_ids: Iterable[str] = ()) -> Iterator[None]:
        """Read the records and recent history of many leads in a few batched calls; inside the block this
        thread's reads of them are answered from what was fetched."""
        outer = getattr(self._local, "batch", None)
        self._local.batch = self._fetch(sorted(set(contact_ids)), sorted(set(deal_ids)))
        try:
            yield
        finally:
            self._local.batch = outer

    def _cached(self) -> _Batch | None:
        batch: _Batch | None = getattr(self._local, "batch", None)
        return batch

    def _fetch(self, contact_ids: list[str], deal_ids: list[str]) -> _Batch:
        out = _Batch()
        deals = self._read("deals", deal_ids, self.deal_props)
        deal_contacts = self._associated("deals", "contacts", deal_ids)
        deal_companies = self._associated("deals", "companies", deal_ids)
        for d in deals:
            out.deals[str(d["id"])] = self._deal(
                d, deal_contacts.get(str(d["id"])), deal_companies.get(str(d["id"]))
            )
        for i in deal_ids:
            out.deals.setdefault(i, None)
        wanted_contacts = sorted(
            {*contact_ids, *(d.contact_id for d in out.deals.values() if d and d.contact_id)}
        )
        for c in self._read("contacts", wanted_contacts, CONTACT_PROPS):
            out.contacts[str(c["id"])] = c
        for i in wanted_contacts:
            out.contacts.setdefault(i, None)
        company_ids = {_props(c).get("associatedcompanyid") for c in out.contacts.values() if c} | {
            d.company_id for d in out.deals.values() if d
        }
        for co in self._read("companies", sorted(i for i in company_ids if i), COMPANY_PROPS):
            out.companies[str(co["id"])] = _company(co)
        out.history = self._histories(contact_ids, deal_ids, out)
        return out

    def _history_only(self, contact_id: str, deal_id: str | None) -> _Batch:
        """One lead's history and nothing else (the check right before a send): the contact (for its form
        fill), its and the deal's engagement associations, and the newest engagements."""
        out = _Batch()
        for c in self._read("contacts", [contact_id], CONTACT_PROPS):
            out.contacts[str(c["id"])] = c
        out.history = self._histories([contact_id], [deal_id] if deal_id else [], out)
        return out

    def _histories(
        self, contact_ids: list[str], deal_ids: list[str], fetched: _Batch
    ) -> dict[tuple[str, str | None], list[Engagement]]:
        """Per record, its newest engagements (HubSpot's ids grow with creation, so the highest ids are the
        newest): only those are read, not the whole history."""
        per_record: dict[tuple[str, str], dict[str, list[str]]] = {}
        for kind in ENGAGEMENT_TYPES:
            for from_type, ids in (("contacts", contact_ids), ("deals", deal_ids)):
                for record, linked in self._associated_all(from_type, kind, ids).items():
                    newest = sorted(linked, key=lambda i: int(i) if i.isdigit() else 0, reverse=True)
                    per_record.setdefault((from_type, record), {})[kind] = newest[: self.history_limit * 2]
        wanted: dict[str, set[str]] = {kind: set() for kind in ENGAGEMENT_TYPES}
        for by_kind in per_record.values():
            for kind, ids in by_kind.items():
                wanted[kind].update(ids)
        objects: dict[str, dict[str, dict[str, Any]]] = {}
        for kind, wanted_ids in wanted.items():
            try:
                read = self._read(kind, sorted(wanted_ids), PROPS[kind])
                objects[kind] = {str(o["id"]): o for o in read}
            except HubSpotScopeError as exc:  # e.g. no sales-email-read: draft from the rest of the history
                log.warning("%s are left out of the leads' history: %s", kind, exc)
                objects[kind] = {}
        history: dict[tuple[str, str | None], list[Engagement]] = {}
        for contact_id in contact_ids:
            found = self._assemble(per_record, objects, ("contacts", contact_id), contact_id, None)
            contact = fetched.contacts.get(contact_id)
            form = _form_fill(contact) if contact else None
            history[(contact_id, None)] = [*found, *([form] if form else [])]
        for deal_id in deal_ids:
            history[("deal", deal_id)] = self._assemble(
                per_record, objects, ("deals", deal_id), None, deal_id
            )
        return history

    @staticmethod
    def _assemble(
        per_record: dict[tuple[str, str], dict[str, list[str]]],
        objects: dict[str, dict[str, dict[str, Any]]],
        key: tuple[str, str],
        contact_id: str | None,
        deal_id: str | None,
    ) -> list[Engagement]:
        out = []
        for kind, ids in per_record.get(key, {}).items():
            out += [
                _engagement(kind, objects[kind][i], contact_id, deal_id)
                for i in ids
                if i in objects[kind] and not _own(objects[kind][i])
            ]
        return out

    # --- records ---------------------------------------------------------------
    def get_contact(self, contact_id: str) -> Contact | None:
        batch = self._cached()
        if batch and contact_id in batch.contacts:
            found = batch.contacts[contact_id]
        else:
            found = self.http.get(f"{OBJECTS}/contacts/{contact_id}", {"properties": ",".join(CONTACT_PROPS)})
        return _contact(found) if found else None

    def get_company(self, company_id: str) -> Company | None:
        batch = self._cached()
        if batch and company_id in batch.companies:
            return batch.companies[company_id]
        found = self.http.get(f"{OBJECTS}/companies/{company_id}", {"properties": ",".join(COMPANY_PROPS)})
        return _company(found) if found else None

    def get_deal(self, deal_id: str) -> Deal | None:
        batch = self._cached()
        if batch and deal_id in batch.deals:
            return batch.deals[deal_id]
        found = self.http.get(f"{OBJECTS}/deals/{deal_id}", {"properties": ",".join(self.deal_props)})
        if found is None:
            return None
        contacts = self._associated("deals", "contacts", [deal_id])
        companies = self._associated("deals", "companies", [deal_id])
        return self._deal(found, contacts.get(deal_id), companies.get(deal_id))

    def get_owner(self, owner_id: str) -> Owner | None:
        return self.owners().get(str(owner_id))

    def owners(self) -> dict[str, Owner]:
        """Every owner of the portal, read once (a page of up to 500) and kept for ten minutes."""
        with self._lock:
            if self._owners and time.monotonic() - self._owners[0] < CACHE_SECONDS:
                return self._owners[1]
        found: dict[str, Owner] = {}
        users: dict[str, str] = {}
        after: str | None = None
        while True:
            page = self.http.get(OWNERS, {"limit": 500, **({"after": after} if after else {})}) or {}
            for o in page.get("results") or []:
                found[str(o["id"])] = Owner(
                    id=str(o["id"]),
                    email=o.get("email") or "",
                    first_name=o.get("firstName") or "",
                    last_name=o.get("lastName") or "",
                )
                if o.get("userId") is not None:
                    users[str(o["id"])] = str(o["userId"])
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                break
        with self._lock:
            self._owners = (time.monotonic(), found)
            self._users = users
        return found

    def stages(self) -> list[Stage]:
        """Every deal stage of every pipeline, with whether it is closed (and won) from its metadata."""
        with self._lock:
            if self._stages and time.monotonic() - self._stages[0] < CACHE_SECONDS:
                return self._stages[1]
        found: list[Stage] = []
        for p in (self.http.get(f"{PIPELINES}/deals") or {}).get("results") or []:
            for s in p.get("stages") or []:
                meta = s.get("metadata") or {}
                closed = str(meta.get("isClosed", "")).lower() == "true"
                try:
                    won = closed and float(meta.get("probability", 0)) >= 1.0
                except (TypeError, ValueError):
                    won = False
                found.append(
                    Stage(
                        id=str(s["id"]),
                        label=s.get("label") or "",
                        pipeline=str(p["id"]),
                        closed=closed,
                        won=won,
                    )
                )
        with self._lock:
            self._stages = (time.monotonic(), found)
        return found

    # --- history ---------------------------------------------------------------
    def engagements_since(self, since: datetime) -> list[Engagement]:
        found: list[Engagement] = []
        for kind in ENGAGEMENT_TYPES:
            found_objects = self._search(kind, [_filter("hs_timestamp", "GTE", _ms(since))], PROPS[kind])
            objects = [o for o in found_objects if not _own(o)]
            ids = [str(o["id"]) for o in objects]
            contacts = self._associated(kind, "contacts", ids)
            deals = self._associated(kind, "deals", ids)
            found += [
                _engagement(kind, o, contacts.get(str(o["id"])), deals.get(str(o["id"]))) for o in objects
            ]
        for contact in self._search(
            "contacts", [_filter("recent_conversion_date", "GTE", _ms(since))], CONTACT_PROPS
        ):
            form = _form_fill(contact)
            if form:
                found.append(form)
        return sorted(found, key=lambda e: (e.occurred_at, e.id))

    def engagements_for(
        self, *, contact_id: str, deal_id: str | None = None, limit: int = 10
    ) -> list[Engagement]:
        batch = self._cached()
        if (
            batch is None
            or (contact_id, None) not in batch.history
            or (deal_id and ("deal", deal_id) not in batch.history)
        ):
            batch = self._history_only(contact_id, deal_id)
        found = {e.id: e for e in batch.history.get((contact_id, None), [])}
        if deal_id:
            for e in batch.history.get(("deal", deal_id), []):
                found.setdefault(e.id, e.model_copy(update={"contact_id": contact_id}))
        return sorted(found.values(), key=lambda e: (e.occurred_at, e.id), reverse=True)[:limit]

    def open_deals(self, closed_stages: list[str]) -> list[Deal]:
        return self._deals_where(
            [_filter("dealstage", "NOT_IN", values=closed_stages)] if closed_stages else []
        )

    def deals_for(self, *, contact_id: str | None, company_id: str | None) -> list[Deal]:
        """The contact's and the company's deals: two association reads and one batch read."""
        of_contact = (
            self._associated_all("contacts", "deals", [contact_id]).get(contact_id, []) if contact_id else []
        )
        of_company = (
            self._associated_all("companies", "deals", [company_id]).get(company_id, []) if company_id else []
        )
        ids = sorted(set(of_contact) | set(of_company))
        return [
            self._deal(
                d,
                contact_id if str(d["id"]) in of_contact else None,
                company_id if str(d["id"]) in of_company else None,
            )
            for d in self._read("deals", ids, self.deal_props)
        ]

    def deals_in_stages(self, stages: list[str]) -> list[Deal]:
        if not stages:
            return []
        return self._deals_where([_filter("dealstage", "IN", values=stages)])

    def _deals_where(self, filters: list[dict[str, Any]]) -> list[Deal]:
        deals = list(self._search("deals", filters, self.deal_props))
        ids = [str(d["id"]) for d in deals]
        contacts, companies = (
            self._associated("deals", "contacts", ids),
            self._associated("deals", "companies", ids),
        )
        return [self._deal(d, contacts.get(str(d["id"])), companies.get(str(d["id"]))) for d in deals]

    # --- write-back ------------------------------------------------------------
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
        existing = self._find_marked("emails", "hs_email_headers", message_id, contact_id)
        if existing:  # a retry after a crash or a lost answer: the first attempt reached HubSpot
            return existing
        headers: dict[str, Any] = {"messageId": message_id}
        if sender:
            headers["from"] = {"email": sender}
        if recipient:
            headers["to"] = [{"email": recipient}]
        props = {
            "hs_timestamp": _ms(sent_at),
            "hs_email_direction": "EMAIL",
            "hs_email_status": "SENT",
            "hs_email_subject": subject,
            "hs_email_text": body,
            "hs_email_headers": json.dumps(headers),
        }
        if owner_id:
            props["hubspot_owner_id"] = owner_id
        return self._create("emails", props, contact_id, deal_id, company_id)

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
        if marker:
            existing = self._find_marked("notes", "hs_note_body", marker, contact_id)
            if existing:
                return existing
        text = tagged(body, marker)
        return self._create(
            "notes", {"hs_timestamp": _ms(at), "hs_note_body": text}, contact_id, deal_id, company_id
        )

    def mark_opted_out(self, *, contact_id: str | None, email: str) -> None:
        """Unsubscribe the address from all email in HubSpot's communication preferences, so nobody in the
        portal mails them by mistake either. Setting it twice is harmless."""
        try:
            self.http.write(
                "POST",
                f"{PREFERENCES}/statuses/{quote(email, safe='@')}/unsubscribe-all",
                qs={"channel": "EMAIL"},
            )
        except HubSpotScopeError:
            # optional scope not granted: followup's own suppression list still stops every email
            log.warning(
                "communication_preferences.write not granted; the opt-out is recorded in followup only"
            )

    def find_contact(self, email: str) -> Contact | None:
        found = next(
            iter(self._search("contacts", [_filter("email", "EQ", email.strip().lower())], CONTACT_PROPS)),
            None,
        )
        return _contact(found) if found else None

    def find_contact_by_name(self, first_name: str, last_name: str, company_id: str) -> Contact | None:
        filters = [
            _filter("firstname", "EQ", first_name.strip()),
            _filter("lastname", "EQ", last_name.strip()),
            _filter("associatedcompanyid", "EQ", company_id),
        ]
        found = next(iter(self._search("contacts", filters, CONTACT_PROPS)), None)
        return _contact(found) if found else None

    def find_company(self, domain: str) -> Company | None:
        found = next(
            iter(self._search("companies", [_filter("domain", "EQ", domain.strip().lower())], COMPANY_PROPS)),
            None,
        )
        return _company(found) if found else None

    def create_contact(
        self, *, email: str, first_name: str, last_name: str, company_id: str | None, source: str
    ) -> str:
        """A new contact (associated with its company when known). A retried create finds the first one by
        its address instead of making a second."""
        existing = self.find_contact(email)
        if existing is not None:
            return existing.id
        del source  # HubSpot sets the contact's source itself (hs_analytics_source is read-only)
        props = {
            k: v for k, v in {"email": email, "firstname": first_name, "lastname": last_name}.items() if v
        }
        associations = (
            [
                {
                    "to": {"id": company_id},
                    "types": [
                        {
                            "associationCategory": "HUBSPOT_DEFINED",
                            "associationTypeId": ASSOC[("contacts", "companies")],
                        }
                    ],
                }
            ]
            if company_id
            else []
        )
        created = self.http.write(
            "POST", f"{OBJECTS}/contacts", {"properties": props, "associations": associations}
        )
        return str(created["id"])

    def set_owner(self, contact_id: str, owner_id: str) -> None:
        self.http.write(
            "PATCH",
            f"{OBJECTS}/contacts/{quote(contact_id, safe='')}",
            {"properties": {"hubspot_owner_id": owner_id}},
        )

    def form_fills_since(self, since: datetime) -> list[Engagement]:
        found = [
            form
            for contact in self._search(
                "contacts", [_filter("recent_conversion_date", "GTE", _ms(since))], CONTACT_PROPS
            )
            if (form := _form_fill(contact)) is not None
        ]
        return sorted(found, key=lambda e: (e.occurred_at, e.id))

    def mark_sequence_completed(self, *, contact_id: str, prop: str, value: str) -> None:
        """Set the contact's sequence property (a text property; an admin creates it once, and `followup
        doctor` checks it). Setting it twice is harmless."""
        self.http.write(
            "PATCH", f"{OBJECTS}/contacts/{quote(contact_id, safe='')}", {"properties": {prop: value}}
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
        existing = self._find_marked("tasks", "hs_task_body", marker, contact_id)
        if existing:
            return existing
        props = {
            "hs_timestamp": _ms(due_at),
            "hs_task_subject": subject,
            "hs_task_body": tagged(body, marker),
            "hs_task_status": "NOT_STARTED",
            "hs_task_type": "EMAIL",
        }
        if owner_id:
            props["hubspot_owner_id"] = owner_id
        return self._create("tasks", props, contact_id, deal_id, company_id)

    # --- the shared inbox ---------------------------------------------------------
    def reply_thread(self, contact_id: str) -> Thread | None:
        """The open email thread this contact wrote in on through a HubSpot inbox, if any (newest first)."""
        if self._no_inbox:
            return None
        try:
            page = self.http.get(
                f"{CONVERSATIONS}/threads",
                {"associatedContactId": contact_id, "threadStatus": "OPEN", "limit": 20},
            )
        except HubSpotScopeError:
            log.warning("no conversations scope: replies go out by email, not on inbox threads")
            self._no_inbox = True
            return None
        threads = [
            t
            for t in (page or {}).get("results") or []
            if str(t.get("originalChannelId")) == EMAIL_CHANNEL
            and not t.get("archived")
            and not t.get("spam")
        ]
        if not threads:
            return None
        newest = max(threads, key=lambda t: str(t.get("latestMessageTimestamp") or t.get("createdAt") or ""))
        return Thread(
            id=str(newest["id"]),
            channel_id=str(newest["originalChannelId"]),
            channel_account_id=str(newest["originalChannelAccountId"]),
            inbox_id=str(newest.get("inboxId") or "") or None,
        )

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
        """Reply on the thread from the shared inbox, as the owner; it lands on the timeline by itself.

        Raises DeliveryError when HubSpot surely did not send it, DeliveryUnknown when it may have (a
        timeout or a 5xx after the message was handed over): then a person decides, never a retry."""
        user = self._users.get(owner_id or "") if owner_id else None
        if owner_id and user is None:
            self.owners()
            user = self._users.get(owner_id)
        if not user:
            raise NoInboxSender("The owner has no HubSpot user to send from the inbox as.")
        message = {
            "type": "MESSAGE",
            "text": body,
            "subject": subject,
            "senderActorId": f"A-{user}",
            "channelId": thread.channel_id,
            "channelAccountId": thread.channel_account_id,
            "recipients": [
                {
                    "recipientField": "TO",
                    "deliveryIdentifiers": [{"type": "HS_EMAIL_ADDRESS", "value": recipient}],
                }
            ],
            "attachments": [],
        }
        if on_handover:
            on_handover()
        try:
            sent = self.http.write("POST", f"{CONVERSATIONS}/threads/{thread.id}/messages", message)
        except HubSpotUnavailable as exc:
            raise DeliveryUnknown(
                f"HubSpot took the inbox reply but gave no answer ({exc}); it may have been sent"
            ) from None
        except HubSpotError as exc:
            raise DeliveryError(f"HubSpot refused the reply on the inbox thread: {exc}") from None
        return f"thread-{thread.id}-{sent.get('id', '')}"

    def _find_marked(self, kind: str, prop: str, marker: str, contact_id: str) -> str | None:
        """An earlier write carrying `marker` (a Message-ID or our own tag) on this contact, newest first:
        read before create, so a retried write (after a crash or a lost answer) never duplicates."""
        linked = self._associated_all("contacts", kind, [contact_id]).get(contact_id, [])
        newest = sorted(linked, key=lambda i: int(i) if i.isdigit() else 0, reverse=True)[:BATCH]
        for obj in self._read(kind, newest, [prop]):
            if marker in str(_props(obj).get(prop) or ""):
                return f"{kind}-{obj['id']}"
        return None

    # --- helpers ---------------------------------------------------------------
    def _search(
        self, kind: str, filters: list[dict[str, Any]], properties: list[str]
    ) -> Iterator[dict[str, Any]]:
        """Every match, 200 a page, in `hs_object_id` order; past HubSpot's 10,000-result cap the search
        starts again above the last id seen, so nothing is missed."""
        last: str | None = None
        while True:
            window = [*filters, *([_filter("hs_object_id", "GT", last)] if last else [])]
            after: str | None = None
            while True:
                body: dict[str, Any] = {
                    "filterGroups": [{"filters": window}] if window else [],
                    "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                    "properties": properties,
                    "limit": PAGE,
                }
                if after:
                    body["after"] = after
                page = self.http.read(f"{OBJECTS}/{kind}/search", body, search=True)
                results = page.get("results") or []
                yield from results
                if results:
                    last = str(results[-1]["id"])
                after = ((page.get("paging") or {}).get("next") or {}).get("after")
                if not after:
                    return
                if int(after) + PAGE > SEARCH_CAP:
                    break  # the next page would pass the cap: a new window above `last`

    def _read(self, kind: str, ids: Iterable[str], properties: list[str]) -> list[dict[str, Any]]:
        wanted = sorted(set(ids))
        out: list[dict[str, Any]] = []
        for start in range(0, len(wanted), BATCH):
            body = {"inputs": [{"id": i} for i in wanted[start : start + BATCH]], "properties": properties}
            out += self.http.read(f"{OBJECTS}/{kind}/batch/read", body).get("results") or []
        return out

    def _associated(self, from_type: str, to_type: str, ids: list[str]) -> dict[str, str]:
        """First associated record of `to_type` for each id."""
        return {k: v[0] for k, v in self._associated_all(from_type, to_type, ids).items() if v}

    def _associated_all(self, from_type: str, to_type: str, ids: list[str]) -> dict[str, list[str]]:
        """Every associated record of `to_type` for each id: 1,000 ids a call, following each id's paging."""
        found: dict[str, list[str]] = {}
        pending = [{"id": i} for i in sorted(set(ids))]
        while pending:
            chunk, pending = pending[:ASSOC_BATCH], pending[ASSOC_BATCH:]
            page = self.http.read(f"{ASSOCIATIONS}/{from_type}/{to_type}/batch/read", {"inputs": chunk})
            for row in page.get("results") or []:
                source = str((row.get("from") or {}).get("id"))
                found.setdefault(source, []).extend(str(t["toObjectId"]) for t in row.get("to") or [])
                after = ((row.get("paging") or {}).get("next") or {}).get("after")
                if after:
                    pending.append({"id": source, "after": after})
        return found

    def _create(
        self,
        kind: str,
        props: dict[str, str],
        contact_id: str,
        deal_id: str | None,
        company_id: str | None = None,
    ) -> str:
        associations = [
            {
                "to": {"id": to_id},
                "types": [
                    {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": ASSOC[(kind, to_type)]}
                ],
            }
            for to_type, to_id in (("contacts", contact_id), ("deals", deal_id), ("companies", company_id))
            if to_id
        ]
        created = self.http.write(
            "POST", f"{OBJECTS}/{kind}", {"properties": props, "associations": associations}
        )
        return f"{kind}-{created['id']}"

    def _deal(self, obj: dict[str, Any], contact_id: str | None, company_id: str | None) -> Deal:
        p = _props(obj)
        entered = _when(p.get("hs_v2_date_entered_current_stage")) or _when(p.get("hs_lastmodifieddate"))
        amount = p.get("amount")
        try:
            value = float(amount) if amount not in (None, "") else None
        except (TypeError, ValueError):
            value = None
        return Deal(
            id=str(obj["id"]),
            name=p.get("dealname") or "",
            stage=p.get("dealstage") or "",
            amount=value,
            stage_changed_at=entered or _when(obj.get("updatedAt")) or datetime.now(UTC),
            close_date=_when(p.get("closedate")),
            quote_expires_at=_when(p.get(self.props["quote_expires_at"])),
            lost_reason=p.get(self.props["lost_reason"]),
            contact_id=contact_id,
            company_id=company_id,
            owner_id=p.get("hubspot_owner_id") or None,
        )


def _filter(
    prop: str, op: str, value: str | None = None, *, values: list[str] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"propertyName": prop, "operator": op}
    if values is not None:
        out["values"] = values
    else:
        out["value"] = value
    return out
