"""`POST /inbound`: new leads from website forms and email forwarders.

The sender signs each request with the shared secret `INBOUND_SIGNING_SECRET`:

    X-Followup-Timestamp: <Unix seconds>
    X-Followup-Signature: v1=<hex HMAC-SHA256 of "v1:{timestamp}:{raw body}">

A timestamp more than five minutes off is refused (a replayed request fails). The body is a JSON object with
`email` and `text`, and optionally `name`, `company`, `subject`, `source` (what the sender calls itself, e.g.
"pricing form") and `id` (the sender's id: a redelivery with the same id is the same lead).

Answers: 202 `{"id": …}` once the lead is stored (everything after that is the queue's work, so an accepted
lead is never lost); 400 naming the field for a body that does not fit; 401 for a missing, wrong or stale
signature; 413 for a body over the limit; 404 while no secret is configured.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.addresses import BadAddress, single_address
from bot.services import intake
from bot.services.deps import Deps
from handlers.gate import json_object
from handlers.http import Refusal, answer, number, read_body, signed
from handlers.payload import Invalid

log = logging.getLogger(__name__)

PATH = "/inbound"
MAX_BODY = 512 * 1024  # a 50,000-character message in any script fits
WINDOW = 300


class InboundBody(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    email: str = Field(max_length=320)
    text: str = Field(min_length=1, max_length=100_000)
    name: str = Field(default="", max_length=300)
    company: str = Field(default="", max_length=300)
    subject: str = Field(default="", max_length=1000)
    source: str = Field(default="", max_length=200)
    id: str | None = Field(default=None, max_length=200)

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("email")
    @classmethod
    def _one_address(cls, value: str) -> str:
        try:
            return single_address(value, whose="The lead's")
        except BadAddress as exc:
            raise ValueError(str(exc)) from None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature a sender puts in X-Followup-Signature."""
    digest = hmac.new(secret.encode(), b"v1:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return "v1=" + digest.hexdigest()


def problem(exc: ValidationError) -> str:
    """The first thing wrong with the body, naming the field (never echoing the value)."""
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"]) or "body"
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "missing":
        message = "is required"
    return f"{field}: {message}"


class InboundEndpoint:
    def __init__(self, deps: Deps, secret: str | None, *, now: Callable[[], float] = time.time) -> None:
        self.deps, self.secret, self.now = deps, secret, now

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if self.secret is None:
            return answer(
                start_response, "404 Not Found", {"error": "POST /inbound is off: no signing secret"}
            )
        try:
            body = read_body(environ, MAX_BODY)
        except Refusal as exc:
            return answer(start_response, exc.status, {"error": exc.error})
        stamp = environ.get("HTTP_X_FOLLOWUP_TIMESTAMP") or ""
        given = environ.get("HTTP_X_FOLLOWUP_SIGNATURE") or ""
        at = number(stamp, 12)
        if at is None or abs(self.now() - at) > WINDOW:
            log.warning("refused an inbound post: missing or stale timestamp")
            return answer(
                start_response, "401 Unauthorized", {"error": "missing or stale X-Followup-Timestamp"}
            )
        if not signed(sign(self.secret, stamp, body), given):
            log.warning("refused an inbound post: bad signature")
            return answer(start_response, "401 Unauthorized", {"error": "bad X-Followup-Signature"})
        try:
            data = InboundBody.model_validate(json_object(body, "the body"))
        except Invalid as exc:
            return answer(start_response, "400 Bad Request", {"error": str(exc)})
        except ValidationError as exc:
            return answer(start_response, "400 Bad Request", {"error": problem(exc)})
        lead_id, new = intake.accept(
            self.deps,
            intake.Arrival(
                source="inbound",
                external_id=data.id,
                email=data.email,
                text=data.text,
                name=data.name,
                company=data.company,
                subject=data.subject,
                origin=data.source,
            ),
        )
        log.info("inbound lead accepted" if new else "inbound lead already received")
        return answer(start_response, "202 Accepted", {"id": lead_id, "duplicate": not new})
