"""The HTTP front door, in front of Bolt: size, then signature, then shape; only then Bolt.

In this order, nothing reads a body that Slack did not sign: an unsigned or badly signed request is answered
401 with one log line, an oversized one 413, and a signed one that does not fit `handlers.payload`'s models
400 (naming the field, never echoing the request). Bolt receives the model's own dump of the request, so no
listener or Bolt internal ever meets a field of the wrong type."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, urlencode

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot import telemetry
from bot.services.deliveries import Deliveries, delivery_key
from handlers.payload import (
    HANDLED_EVENTS,
    BlockActions,
    Incoming,
    Invalid,
    MessageShortcut,
    SlashCommand,
    ViewSubmission,
    dump,
    event_type,
    parse,
    response_url_allowed,
)

log = logging.getLogger(__name__)

PATH = "/slack/events"
ROUTES = {  # the request-latency histogram's label: a fixed set, whatever paths are asked for
    PATH: "slack",
    "/inbound": "inbound",
    "/hubspot/webhook": "hubspot_webhook",
    "/healthz": "healthz",
    "/metrics": "metrics",
}
MAX_BODY_BYTES = 1_000_000  # Slack's largest payloads (a view submission carrying a 100-block modal) fit
TIMESTAMP_WINDOW = 300  # seconds either side, as Slack recommends
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

WSGIApp = Callable[[dict[str, Any], Callable], Iterable[bytes]]


class Refused(Exception):
    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def signature_ok(secret: str, body: bytes, timestamp: str, signature: str, now: float) -> bool:
    """Slack's v0 signature over the raw bytes, within the timestamp window (a replay outside it fails)."""
    if not timestamp.isdigit() or len(timestamp) > 12 or abs(now - int(timestamp)) > TIMESTAMP_WINDOW:
        return False
    expected = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return hmac.compare_digest("v0=" + expected.hexdigest(), signature)


def _form(text: str) -> dict[str, str]:
    try:
        fields = parse_qs(
            text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=40, errors="strict"
        )
    except ValueError:
        raise Invalid("the form body is not valid URL encoding") from None
    if any(len(values) != 1 for values in fields.values()):
        raise Invalid("a form field is given more than once")
    if any("\x00" in name or "\x00" in values[0] for name, values in fields.items()):
        raise Invalid("the form holds a NUL character")
    return {name: values[0] for name, values in fields.items()}


def json_object(body: bytes, what: str) -> dict[str, Any]:
    """A UTF-8 JSON object from a request body, or Invalid naming what is wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid(f"{what} is not UTF-8") from None
    return _json_object(text, what)


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise Invalid(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise Invalid(f"{what} is not a JSON object")
    try:  # a lone surrogate (`"\ud800"`) is valid JSON but no text: it could never be stored or shown
        flat = json.dumps(value, ensure_ascii=False)
        flat.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(f"{what} holds an unpaired surrogate, which is not text") from None
    if "\\u0000" in flat or "\x00" in flat:  # Slack never sends NUL; PostgreSQL can't store it in JSON
        raise Invalid(f"{what} holds a NUL character")
    return value


class Gate:
    def __init__(
        self,
        bolt: App,
        signing_secret: str,
        *,
        slack_api_url: str | None = None,
        now: Callable[[], float] = time.time,
        max_body: int = MAX_BODY_BYTES,
        unsubscribe: Callable[[dict[str, Any], Callable], Iterable[bytes]] | None = None,
        inbound: WSGIApp | None = None,
        hubspot: WSGIApp | None = None,
        metrics: WSGIApp | None = None,
        deliveries: Deliveries | None = None,
    ) -> None:
        self.slack = SlackRequestHandler(bolt, path=PATH)
        self.secret, self.slack_api_url = signing_secret, slack_api_url
        self.now, self.max_body = now, max_body
        self.unsubscribe = unsubscribe
        self.inbound = inbound
        self.hubspot = hubspot
        self.metrics = metrics
        self.deliveries = deliveries  # the events already handled: Slack retries an event it saw no 200 for

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        try:
            return self._route(environ, start_response)
        finally:
            path = str(environ.get("PATH_INFO"))
            route = "unsubscribe" if path.startswith("/unsubscribe/") else ROUTES.get(path, "other")
            telemetry.REQUESTS.labels(route).observe(time.perf_counter() - started)

    def _route(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
        if self.metrics is not None and path == "/metrics":
            return self.metrics(environ, start_response)
        if path == "/healthz" and method == "GET":
            return _answer(start_response, "200 OK", '{"ok": true}', JSON)
        if self.unsubscribe is not None and str(path).startswith("/unsubscribe/"):
            return self.unsubscribe(environ, start_response)  # a lead's click, not Slack: no signature
        if self.inbound is not None and path == "/inbound":
            return self.inbound(environ, start_response)  # signed with its own secret, not Slack's
        if self.hubspot is not None and path == "/hubspot/webhook":
            return self.hubspot(environ, start_response)  # signed by HubSpot (v3), not Slack
        if path != PATH:
            return _answer(start_response, "404 Not Found", "Not found.")
        if method != "POST":
            return _answer(start_response, "405 Method Not Allowed", "Slack requests are POSTs.")
        try:
            body = self._read(environ)
            self._verify(environ, body)
            forward = self._check(environ, body)
        except Refused as exc:
            log.warning("refused a Slack request: %s", exc.reason, extra={"status": int(exc.status[:3])})
            return _answer(start_response, exc.status, exc.reason)
        if forward is None:
            return _answer(start_response, "200 OK", "")
        content_type, clean = forward
        inner = dict(environ)
        inner.update({"wsgi.input": io.BytesIO(clean), "CONTENT_LENGTH": str(len(clean))})
        inner["CONTENT_TYPE"] = content_type
        key = delivery_key(json.loads(clean)) if content_type == JSON and self.deliveries else None
        if key is None or self.deliveries is None:
            return self.slack(inner, start_response)
        if self.deliveries.seen(key):
            log.info("Slack sent %s again (a retry): acknowledged, not handled twice", key)
            return _answer(start_response, "200 OK", "")
        answered: list[str] = []

        def noting_status(status: str, headers: list, exc_info: Any = None) -> Any:
            answered.append(status)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        answer = self.slack(inner, noting_status)
        if answered and answered[0].startswith("200"):
            self.deliveries.record(key)
        return answer

    def _read(self, environ: dict[str, Any]) -> bytes:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise Refused("400 Bad Request", "Content-Length is not a number.") from None
        if length > self.max_body:
            raise Refused("413 Content Too Large", f"The body is over {self.max_body} bytes.")
        body: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
        return body

    def _verify(self, environ: dict[str, Any], body: bytes) -> None:
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or ""
        signature = environ.get("HTTP_X_SLACK_SIGNATURE") or ""
        if not (timestamp and signature):
            raise Refused("401 Unauthorized", "The request is not signed.")
        if not signature_ok(self.secret, body, timestamp, signature, self.now()):
            raise Refused("401 Unauthorized", "The request's signature or timestamp is not valid.")

    def _check(self, environ: dict[str, Any], body: bytes) -> tuple[str, bytes] | None:
        """The cleaned request for Bolt, as (content type, body); None for what is answered 200 unread."""
        try:
            return self._decode(environ, body)
        except Invalid as exc:
            raise Refused("400 Bad Request", f"Malformed Slack request: {exc}") from None

    def _decode(self, environ: dict[str, Any], body: bytes) -> tuple[str, bytes] | None:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid("the body is not UTF-8") from None
        content_type = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        if content_type == FORM:
            form = _form(text)
            if "payload" in form:
                interaction = clean_interaction(_json_object(form["payload"], "payload"), self.slack_api_url)
                return FORM, urlencode({"payload": json.dumps(interaction)}).encode()
            if form.get("ssl_check") == "1":
                return None  # Slack checking the certificate: nothing to do
            return FORM, urlencode(clean_command(dict(form), self.slack_api_url)).encode()
        if content_type == JSON:
            envelope = clean_event(_json_object(text, "the body"))
            if envelope is None:
                return None  # an event this app does not subscribe to: acknowledged, not retried
            return JSON, json.dumps(envelope).encode()
        raise Invalid("the content type is neither a form nor JSON")


def clean_interaction(payload: dict[str, Any], slack_api_url: str | None) -> dict[str, Any]:
    """A click, modal submission or shortcut as the app's models read it (raises Invalid): the same check
    over HTTP (the form's `payload`) and over Socket Mode (an `interactive` envelope's payload)."""
    request = parse(payload)
    if not isinstance(request, BlockActions | ViewSubmission | MessageShortcut):
        raise Invalid("the payload is not an interaction")
    _check_urls(request, slack_api_url)
    return dump(request)


def clean_command(form: dict[str, Any], slack_api_url: str | None) -> dict[str, Any]:
    """A slash command's fields as the app's models read them (raises Invalid)."""
    request = parse(form)
    if not isinstance(request, SlashCommand):
        raise Invalid("the form is not a slash command")
    _check_urls(request, slack_api_url)
    return dump(request)


def clean_event(envelope: dict[str, Any]) -> dict[str, Any] | None:
    """An Events API callback as the app's models read it (raises Invalid); None for an event the app does
    not subscribe to, which is acknowledged and dropped."""
    if envelope.get("type") == "event_callback" and event_type(envelope) not in HANDLED_EVENTS:
        return None
    request = parse(envelope)
    if isinstance(request, BlockActions | ViewSubmission | MessageShortcut | SlashCommand):
        raise Invalid("interactions and commands arrive form-encoded")
    return dump(request)


def _check_urls(request: Incoming, slack_api_url: str | None) -> None:
    urls = (
        [u.response_url for u in request.response_urls]
        if isinstance(request, ViewSubmission)
        else request.response_urls
        if isinstance(request, BlockActions | SlashCommand | MessageShortcut)
        else []
    )
    if any(not response_url_allowed(url, slack_api_url) for url in urls):
        raise Invalid("the response_url is not Slack's")


def _answer(
    start_response: Callable, status: str, text: str, content_type: str = "text/plain"
) -> list[bytes]:
    data = text.encode()
    start_response(
        status, [("Content-Type", f"{content_type}; charset=utf-8"), ("Content-Length", str(len(data)))]
    )
    return [data]
