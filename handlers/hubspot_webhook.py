"""`POST /hubspot/webhook`: HubSpot tells us about new contacts and form submissions.

HubSpot signs each delivery (signature v3): `X-HubSpot-Signature-v3` is the base64 HMAC-SHA256, keyed with the
app's client secret (`HUBSPOT_CLIENT_SECRET`), of method + URI + body + `X-HubSpot-Request-Timestamp`
(milliseconds); a timestamp more than five minutes old is refused. The URI is the one HubSpot called, so it is
built from `PUBLIC_URL` (what the app's webhook settings point at), not from a Host header a proxy may change.

The body is a JSON array of events. A new contact (`contact.creation`, or the developer platform's
`object.creation` of a contact) and a form submission (a property change of `recent_conversion_date`) are
stored as leads before the answer, one per event id (HubSpot
retries a delivery it did not see answered); the queue reads the contact and its form, and a form reported by
both a creation and a property change, or by the webhook and the poll, is one lead. Other events are answered
and ignored."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from bot.services import intake
from bot.services.deps import Deps
from handlers.http import Refusal, answer, number, read_body, signed
from handlers.inbound import problem

log = logging.getLogger(__name__)

PATH = "/hubspot/webhook"
MAX_BODY = 1_000_000
WINDOW_MS = 300_000
CONTACTS = "0-1"  # HubSpot's object type id for contacts
FORM_PROPERTIES = {"recent_conversion_date", "first_conversion_date"}


class Event(BaseModel):
    model_config = ConfigDict(extra="ignore")

    eventId: int
    subscriptionType: str = Field(max_length=100)
    objectId: int
    propertyName: str | None = Field(default=None, max_length=200)
    objectTypeId: str | None = Field(default=None, max_length=20)

    @property
    def is_lead(self) -> bool:
        """A new contact, or a form submission (a contact's conversion date changing): both the legacy
        subscription names (contact.*) and the developer platform's (object.* on contacts, 0-1)."""
        kind = self.subscriptionType
        if kind == "contact.creation" or (kind == "object.creation" and self.objectTypeId == CONTACTS):
            return True
        changed = kind == "contact.propertyChange" or (
            kind == "object.propertyChange" and self.objectTypeId == CONTACTS
        )
        return changed and self.propertyName in FORM_PROPERTIES


EVENTS = TypeAdapter(list[Event])


def sign(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """HubSpot's signature v3 (what a test sends, and what a delivery is checked against)."""
    message = method.encode() + uri.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


class HubSpotWebhook:
    def __init__(
        self, deps: Deps, secret: str | None, public_url: str, *, now: Callable[[], float] = time.time
    ) -> None:
        self.deps, self.secret, self.public_url, self.now = deps, secret, public_url.rstrip("/"), now

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if self.secret is None:
            return answer(start_response, "404 Not Found", {"error": "no HUBSPOT_CLIENT_SECRET is set"})
        try:
            body = read_body(environ, MAX_BODY)
        except Refusal as exc:
            return answer(start_response, exc.status, {"error": exc.error})
        stamp = environ.get("HTTP_X_HUBSPOT_REQUEST_TIMESTAMP") or ""
        given = environ.get("HTTP_X_HUBSPOT_SIGNATURE_V3") or ""
        at = number(stamp, 15)
        if at is None or abs(self.now() * 1000 - at) > WINDOW_MS:
            log.warning("refused a HubSpot webhook: missing or stale timestamp")
            return answer(
                start_response, "401 Unauthorized", {"error": "missing or stale X-HubSpot-Request-Timestamp"}
            )
        query = environ.get("QUERY_STRING") or ""
        uri = unquote(self.public_url + PATH + (f"?{query}" if query else ""))
        if not signed(sign(self.secret, "POST", uri, body, stamp), given):
            log.warning("refused a HubSpot webhook: bad signature")
            return answer(start_response, "401 Unauthorized", {"error": "bad X-HubSpot-Signature-v3"})
        try:
            events = EVENTS.validate_json(body)
        except ValidationError as exc:
            return answer(start_response, "400 Bad Request", {"error": problem(exc)})
        stored = intake.accept_events(  # the whole delivery in one transaction: all stored, or none (a retry)
            self.deps, [(f"event:{e.eventId}", str(e.objectId)) for e in events if e.is_lead]
        )
        log.info("HubSpot webhook: %d events, %d new leads", len(events), stored)
        return answer(start_response, "200 OK", {"received": len(events), "new": stored})
