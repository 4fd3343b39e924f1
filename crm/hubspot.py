"""The CRM port on HubSpot, through the official hubspot-api-client. Vendor types stay in this module."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from hubspot import HubSpot
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest
from hubspot.crm.objects import (
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectInputForCreate,
)

from bot.records import Company, Contact, Deal, Engagement, EngagementType, Owner

log = logging.getLogger(__name__)

# HubSpot-defined association type ids (engagement → record)
ASSOC = {
    ("emails", "contacts"): 198,
    ("emails", "deals"): 210,
    ("notes", "contacts"): 202,
    ("notes", "deals"): 214,
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
]
DEAL_PROPS = [
    "dealname",
    "dealstage",
    "amount",
    "closedate",
    "hubspot_owner_id",
    "hs_lastmodifieddate",
    "hs_v2_date_entered_current_stage",
]
PAGE = 100
# our Deal field -> HubSpot deal property; `[hubspot.properties]` in followup.toml overrides these
DEFAULT_DEAL_FIELDS = {"quote_expires_at": "quote_expiration_date", "lost_reason": "closed_lost_reason"}


def _factory_with_timeout(timeout: float) -> Callable[[Any, str, dict], Any]:
    """hubspot-api-client sets no timeout on its requests; this API factory (the SDK's documented hook)
    gives every request of every API a default one."""
    from hubspot.discovery.discovery_base import DiscoveryBase

    def factory(package: Any, api_name: str, config: dict) -> Any:
        api = DiscoveryBase._default_api_factory(package, api_name, config)
        rest = api.api_client.rest_client
        send = rest.request

        def request(*args: Any, _request_timeout: Any = None, **kwargs: Any) -> Any:
            return send(*args, _request_timeout=_request_timeout or timeout, **kwargs)

        rest.request = request
        return api

    return factory


def _ms(at: datetime) -> str:
    return str(int(at.timestamp() * 1000))


def _when(value: str | None) -> datetime | None:
    """HubSpot sends instants as ISO 8601 or as epoch milliseconds, depending on the property."""
    if not value:
        return None
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


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


def _engagement(kind: str, obj: Any, contact_id: str | None) -> Engagement:
    p = obj.properties or {}
    our_type, subject, body, direction_prop, inbound_value = SHAPES[kind]
    direction = None
    if our_type is not EngagementType.NOTE:
        inbound = direction_prop is not None and p.get(direction_prop) == inbound_value
        direction = "inbound" if inbound else "outbound"
    return Engagement(
        id=f"{kind}-{obj.id}",
        type=our_type,
        occurred_at=_when(p.get("hs_timestamp")) or obj.created_at,
        direction=direction,
        subject=p.get(subject) if subject else None,
        body=p.get(body) or "",
        contact_id=contact_id,
        owner_id=p.get("hubspot_owner_id"),
    )


def _form_fill(contact: Any) -> Engagement | None:
    """HubSpot keeps form submissions on the contact: the latest one is an inbound inquiry."""
    p = contact.properties or {}
    at = _when(p.get("recent_conversion_date"))
    if at is None:
        return None
    return Engagement(
        id=f"form-{contact.id}-{_ms(at)}",
        type=EngagementType.FORM,
        occurred_at=at,
        direction="inbound",
        subject=p.get("recent_conversion_event_name"),
        body=p.get("message") or "",
        contact_id=contact.id,
        owner_id=p.get("hubspot_owner_id"),
    )


def _found(get: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """The record, or None where HubSpot answers 404; any other error is raised."""
    try:
        return get(*args, **kwargs)
    except Exception as exc:
        if getattr(exc, "status", None) == 404:
            return None
        raise


class HubSpotCRM:
    name = "hubspot"

    def __init__(
        self,
        access_token: str,
        *,
        base_url: str | None = None,
        timeout: float = 20.0,
        properties: dict[str, str] | None = None,
    ) -> None:
        options: dict[str, Any] = {
            "access_token": access_token,
            "api_factory": _factory_with_timeout(timeout),
        }
        if base_url:
            options["host"] = base_url.rstrip("/")
        self.client = HubSpot(**options)
        # our Deal field -> the portal's property holding it (quote expiry and lost reason vary by portal)
        self.props = {**DEFAULT_DEAL_FIELDS, **(properties or {})}
        self.deal_props = [*DEAL_PROPS, *self.props.values()]

    # --- records ---------------------------------------------------------------
    def get_contact(self, contact_id: str) -> Contact | None:
        c = _found(self.client.crm.contacts.basic_api.get_by_id, contact_id, properties=CONTACT_PROPS)
        if c is None:
            return None
        p = c.properties or {}
        return Contact(
            id=c.id,
            email=p.get("email") or "",
            first_name=p.get("firstname") or "",
            last_name=p.get("lastname") or "",
            title=p.get("jobtitle"),
            phone=p.get("phone"),
            company_id=p.get("associatedcompanyid"),
            owner_id=p.get("hubspot_owner_id"),
            lead_source=p.get("hs_analytics_source"),
            created_at=_when(p.get("createdate")),
        )

    def get_company(self, company_id: str) -> Company | None:
        c = _found(
            self.client.crm.companies.basic_api.get_by_id,
            company_id,
            properties=["name", "domain", "industry", "numberofemployees"],
        )
        if c is None:
            return None
        p = c.properties or {}
        employees = p.get("numberofemployees")
        return Company(
            id=c.id,
            name=p.get("name") or "",
            domain=p.get("domain"),
            industry=p.get("industry"),
            employees=int(employees) if employees and employees.isdigit() else None,
        )

    def get_deal(self, deal_id: str) -> Deal | None:
        d = _found(
            self.client.crm.deals.basic_api.get_by_id,
            deal_id,
            properties=self.deal_props,
            associations=["contacts", "companies"],
        )
        if d is None:
            return None
        assoc = d.associations or {}
        return self._deal(
            d.id,
            d.properties or {},
            self._first(assoc.get("contacts")),
            self._first(assoc.get("companies")),
            d.updated_at,
        )

    def get_owner(self, owner_id: str) -> Owner | None:
        o = _found(self.client.crm.owners.owners_api.get_by_id, int(owner_id))
        if o is None:
            return None
        return Owner(
            id=str(o.id), email=o.email or "", first_name=o.first_name or "", last_name=o.last_name or ""
        )

    # --- history ---------------------------------------------------------------
    def engagements_since(self, since: datetime) -> list[Engagement]:
        found: list[Engagement] = []
        for kind in ENGAGEMENT_TYPES:
            objects = list(self._search(kind, "hs_timestamp", "GTE", _ms(since), PROPS[kind]))
            contacts = self._associated(kind, "contacts", [o.id for o in objects])
            found += [_engagement(kind, o, contacts.get(o.id)) for o in objects]
        for contact in self._search("contacts", "recent_conversion_date", "GTE", _ms(since), CONTACT_PROPS):
            form = _form_fill(contact)
            if form:
                found.append(form)
        return sorted(found, key=lambda e: (e.occurred_at, e.id))

    def engagements_for(
        self, *, contact_id: str, deal_id: str | None = None, limit: int = 10
    ) -> list[Engagement]:
        contact = self.client.crm.contacts.basic_api.get_by_id(
            contact_id, properties=CONTACT_PROPS, associations=list(ENGAGEMENT_TYPES)
        )
        ids: dict[str, set[str]] = {kind: set() for kind in ENGAGEMENT_TYPES}
        for kind, coll in (contact.associations or {}).items():
            if kind in ids and coll is not None:
                ids[kind].update(a.id for a in coll.results)
        if deal_id:
            deal = self.client.crm.deals.basic_api.get_by_id(deal_id, associations=list(ENGAGEMENT_TYPES))
            for kind, coll in (deal.associations or {}).items():
                if kind in ids and coll is not None:
                    ids[kind].update(a.id for a in coll.results)
        found = [
            _engagement(kind, o, contact_id) for kind, wanted in ids.items() for o in self._read(kind, wanted)
        ]
        form = _form_fill(contact)
        if form:
            found.append(form)
        return sorted(found, key=lambda e: (e.occurred_at, e.id), reverse=True)[:limit]

    def open_deals(self, closed_stages: list[str]) -> list[Deal]:
        return self._deals_where("NOT_IN", closed_stages)

    def deals_in_stages(self, stages: list[str]) -> list[Deal]:
        return self._deals_where("IN", stages)

    def _deals_where(self, operator: str, stages: list[str]) -> list[Deal]:
        request = {"filters": [{"propertyName": "dealstage", "operator": operator, "values": stages}]}
        deals = list(self._search_request("deals", request, self.deal_props))
        ids = [d.id for d in deals]
        contacts, companies = (
            self._associated("deals", "contacts", ids),
            self._associated("deals", "companies", ids),
        )
        return [
            self._deal(d.id, d.properties or {}, contacts.get(d.id), companies.get(d.id), d.updated_at)
            for d in deals
        ]

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
    ) -> str:
        props = {
            "hs_timestamp": sent_at.isoformat(),
            "hs_email_direction": "EMAIL",
            "hs_email_status": "SENT",
            "hs_email_subject": subject,
            "hs_email_text": body,
            "hs_email_headers": json.dumps({"messageId": message_id}),
        }
        if owner_id:
            props["hubspot_owner_id"] = owner_id
        existing = self._logged(contact_id, message_id)
        if existing:  # a retry after a crash: the first attempt reached HubSpot
            return existing
        return self._create("emails", props, contact_id, deal_id)

    def _logged(self, contact_id: str, message_id: str) -> str | None:
        """The email already logged on this contact with this Message-ID, if any."""
        contact = _found(self.client.crm.contacts.basic_api.get_by_id, contact_id, associations=["emails"])
        coll = (contact.associations or {}).get("emails") if contact else None
        ids = [a.id for a in coll.results] if coll is not None else []
        for email in self._read("emails", ids, ["hs_email_headers"]):
            try:
                headers = json.loads((email.properties or {}).get("hs_email_headers") or "{}")
            except ValueError:
                continue
            if isinstance(headers, dict) and headers.get("messageId") == message_id:
                return f"emails-{email.id}"
        return None

    def log_note(self, *, contact_id: str, deal_id: str | None, body: str, at: datetime) -> str:
        return self._create(
            "notes", {"hs_timestamp": at.isoformat(), "hs_note_body": body}, contact_id, deal_id
        )

    # --- helpers ---------------------------------------------------------------
    def _api(self, kind: str) -> Any:
        if kind in ("contacts", "companies", "deals"):
            return getattr(self.client.crm, kind)
        return getattr(self.client.crm.objects, kind)

    def _search(self, kind: str, prop: str, op: str, value: str, properties: list[str]) -> Iterator[Any]:
        return self._search_request(
            kind, {"filters": [{"propertyName": prop, "operator": op, "value": value}]}, properties
        )

    def _search_request(self, kind: str, group: dict, properties: list[str]) -> Iterator[Any]:
        after: str | None = None
        while True:
            request = PublicObjectSearchRequest(
                filter_groups=[group], properties=properties, limit=PAGE, after=after, sorts=["hs_object_id"]
            )
            page = self._api(kind).search_api.do_search(public_object_search_request=request)
            yield from page.results
            if not page.paging or not page.paging.next or not page.paging.next.after:
                return
            after = page.paging.next.after

    def _read(self, kind: str, ids: Iterable[str], properties: list[str] | None = None) -> list[Any]:
        wanted = sorted(ids)
        out: list[Any] = []
        for start in range(0, len(wanted), PAGE):
            batch = BatchReadInputSimplePublicObjectId(
                inputs=[{"id": i} for i in wanted[start : start + PAGE]],
                properties=properties or PROPS[kind],
                properties_with_history=[],
            )
            out += self._api(kind).batch_api.read(batch_read_input_simple_public_object_id=batch).results
        return out

    def _associated(self, from_type: str, to_type: str, ids: list[str]) -> dict[str, str]:
        """First associated record of `to_type` for each id (one request per 100 ids)."""
        found: dict[str, str] = {}
        for start in range(0, len(ids), PAGE):
            request = BatchInputPublicFetchAssociationsBatchRequest(
                inputs=[{"id": i} for i in ids[start : start + PAGE]]
            )
            result = self.client.crm.associations.v4.batch_api.get_page(
                from_object_type=from_type,
                to_object_type=to_type,
                batch_input_public_fetch_associations_batch_request=request,
            )
            for row in result.results:
                if row.to:
                    found[row._from.id] = str(row.to[0].to_object_id)
        return found

    def _create(self, kind: str, props: dict[str, str], contact_id: str, deal_id: str | None) -> str:
        associations = [
            {
                "to": {"id": contact_id},
                "types": [
                    {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": ASSOC[(kind, "contacts")]}
                ],
            }
        ]
        if deal_id:
            associations.append(
                {
                    "to": {"id": deal_id},
                    "types": [
                        {
                            "associationCategory": "HUBSPOT_DEFINED",
                            "associationTypeId": ASSOC[(kind, "deals")],
                        }
                    ],
                }
            )
        created = self._api(kind).basic_api.create(
            simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
                properties=props, associations=associations
            )
        )
        return f"{kind}-{created.id}"

    @staticmethod
    def _first(coll: Any) -> str | None:
        return coll.results[0].id if coll is not None and coll.results else None

    def _deal(
        self,
        deal_id: str,
        p: dict[str, str],
        contact_id: str | None,
        company_id: str | None,
        updated_at: datetime | None,
    ) -> Deal:
        entered = _when(p.get("hs_v2_date_entered_current_stage")) or _when(p.get("hs_lastmodifieddate"))
        amount = p.get("amount")
        return Deal(
            id=deal_id,
            name=p.get("dealname") or "",
            stage=p.get("dealstage") or "",
            amount=float(amount) if amount else None,
            stage_changed_at=entered or updated_at or datetime.now(UTC),
            close_date=_when(p.get("closedate")),
            quote_expires_at=_when(p.get(self.props["quote_expires_at"])),
            lost_reason=p.get(self.props["lost_reason"]),
            contact_id=contact_id,
            company_id=company_id,
            owner_id=p.get("hubspot_owner_id"),
        )
