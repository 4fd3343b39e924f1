"""HubSpot over HTTP: date-versioned paths, a timeout on every call, one rate budget, safe retries.

Requests are built by hubspot-api-client's own request builder (the one behind `HubSpot.api_request`: base
URL, bearer auth, JSON encoding), and sent here through one pooled `requests.Session` with a timeout, because
`api_request` itself sets none and prints errors to stdout. Version 12 of the client has no classes for the
date-based API versions, so every path names its version explicitly (`/crm/objects/2026-03/...`)."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from hubspot import HubSpot
from hubspot.utils.requests.http_request_builder import Request

from bot.errors import FollowupError

log = logging.getLogger(__name__)

VERSION = "2026-03"
OBJECTS = f"/crm/objects/{VERSION}"
ASSOCIATIONS = f"/crm/associations/{VERSION}"
OWNERS = f"/crm/owners/{VERSION}"
PIPELINES = f"/crm/pipelines/{VERSION}"
PROPERTIES = f"/crm/properties/{VERSION}"
# the Conversations API's first date-based version is 2026-09
CONVERSATIONS = "/conversations/conversations/2026-09"
PREFERENCES = f"/communication-preferences/{VERSION}"


class HubSpotError(FollowupError):
    """HubSpot refused a request; the message says what and, where HubSpot said, why."""

    def __init__(self, message: str, *, status: int | None = None, category: str | None = None) -> None:
        super().__init__(message)
        self.status, self.category = status, category


class HubSpotScopeError(HubSpotError):
    """403: the token lacks a scope; `scopes` names the ones HubSpot said are missing."""

    def __init__(self, message: str, scopes: list[str]) -> None:
        super().__init__(message, status=403, category="MISSING_SCOPES")
        self.scopes = scopes


class HubSpotUnavailable(HubSpotError):
    """No usable answer (timeout, connection, 5xx or 429 after the retries): try again later."""


@dataclass
class RateBudget:
    """One budget shared by every call in this process: at most `per_10s` requests in any 10 seconds, and
    at most `search_per_s` searches in any second (HubSpot's limits for the portal's tier). A call waits
    for its slot rather than collecting a 429."""

    per_10s: int = 100
    search_per_s: int = 5
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _all: deque[float] = field(default_factory=deque)
    _search: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, *, search: bool = False) -> None:
        while True:
            with self._lock:
                now = self.clock()
                wait = max(
                    self._wait(self._all, self.per_10s, 10.0, now),
                    self._wait(self._search, self.search_per_s, 1.0, now) if search else 0.0,
                )
                if wait <= 0:
                    self._all.append(now)
                    if search:
                        self._search.append(now)
                    return
            self.sleep(wait)

    @staticmethod
    def _wait(window: deque[float], limit: int, span: float, now: float) -> float:
        while window and window[0] <= now - span:
            window.popleft()
        return 0.0 if len(window) < limit else window[0] + span - now + 0.001


@dataclass
class Counts:
    """Calls made, per endpoint (method and path with ids folded), for benchmarks and `hubspot check`."""

    by_endpoint: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, method: str, path: str) -> None:
        parts = [("{id}" if p.isdigit() else p) for p in path.split("?")[0].split("/")]
        key = f"{method} {'/'.join(parts)}"
        with self.lock:
            self.by_endpoint[key] = self.by_endpoint.get(key, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.by_endpoint.values())


class HubSpotHTTP:
    def __init__(
        self,
        access_token: str,
        *,
        base_url: str | None = None,
        timeout: float = 20.0,
        budget: RateBudget | None = None,
        retries: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.sdk = HubSpot(access_token=access_token)
        self.base_url = (base_url or "https://api.hubapi.com").rstrip("/")
        self.timeout, self.retries, self.sleep = timeout, retries, sleep
        self.budget = budget or RateBudget()
        self.session = requests.Session()
        self.counts = Counts()

    def get(self, path: str, qs: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """A read; None where HubSpot answers 404."""
        return self._call("GET", path, qs=qs, retry_server_errors=True, missing_ok=True)

    def read(self, path: str, body: dict[str, Any], *, search: bool = False) -> dict[str, Any]:
        """A POST that only reads (search, batch read): retried like a GET."""
        out = self._call("POST", path, body=body, search=search, retry_server_errors=True)
        assert out is not None
        return out

    def write(
        self, method: str, path: str, body: dict[str, Any] | None = None, qs: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A create or update: a 429 is retried (HubSpot did nothing), a timeout or 5xx is not, since the
        write may have happened; callers make their writes idempotent and let the work queue retry."""
        out = self._call(method, path, body=body, qs=qs, retry_server_errors=False)
        assert out is not None
        return out

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        qs: dict[str, Any] | None = None,
        search: bool = False,
        retry_server_errors: bool,
        missing_ok: bool = False,
    ) -> dict[str, Any] | None:
        options: dict[str, Any] = {"method": method, "path": path, "base_url": self.base_url}
        if body is not None:
            options["body"] = body
        if qs:
            options["qs"] = qs
        request = Request(self.sdk.config, options)
        for attempt in range(self.retries + 1):
            self.budget.take(search=search)
            self.counts.add(method, path)
            last = attempt == self.retries
            try:
                resp = self.session.request(
                    request.get_method(),
                    request.get_url(),
                    timeout=self.timeout,
                    **request.get_options_for_sending(),
                )
            except requests.RequestException as exc:
                if retry_server_errors and not last:
                    self.sleep(_backoff(attempt))
                    continue
                raise HubSpotUnavailable(
                    f"HubSpot did not answer {method} {path} ({type(exc).__name__})"
                ) from None
            if resp.status_code == 429 and not last:
                self.sleep(_retry_after(resp, attempt))
                continue
            if resp.status_code >= 500 and retry_server_errors and not last:
                self.sleep(_backoff(attempt))
                continue
            if resp.status_code == 404 and missing_ok:
                return None
            if resp.status_code >= 400:
                raise _error(method, path, resp)
            return resp.json() if resp.content else {}
        raise AssertionError("unreachable")


def _backoff(attempt: int) -> float:
    return min(0.5 * 2**attempt, 8.0)


def _retry_after(resp: requests.Response, attempt: int) -> float:
    try:
        return min(max(float(resp.headers.get("Retry-After", "")), 0.1), 60.0)
    except ValueError:
        return _backoff(attempt)


def _error(method: str, path: str, resp: requests.Response) -> HubSpotError:
    try:
        data = resp.json()
    except ValueError:
        data = {}
    category = data.get("category") if isinstance(data, dict) else None
    what = f"HubSpot answered {resp.status_code} to {method} {path}"
    if resp.status_code == 403:
        scopes = _missing_scopes(data)
        named = ", ".join(scopes) or "a scope it needs"
        return HubSpotScopeError(f"{what}: the token lacks {named}", scopes)
    if resp.status_code == 429:
        return HubSpotUnavailable(
            f"{what}: rate limited after {path} was retried", status=429, category=category
        )
    if resp.status_code >= 500:
        return HubSpotUnavailable(what, status=resp.status_code, category=category)
    return HubSpotError(f"{what} ({category or 'error'})", status=resp.status_code, category=category)


def _missing_scopes(data: Any) -> list[str]:
    """HubSpot lists the scopes a 403 lacks in `errors[].context.requiredGranularScopes` (or `context`)."""
    found: list[str] = []
    if not isinstance(data, dict):
        return found
    for entry in [data, *(data.get("errors") or [])]:
        context = entry.get("context") if isinstance(entry, dict) else None
        if isinstance(context, dict):
            for key in ("requiredGranularScopes", "requiredScopes", "scopes"):
                for scope in context.get(key) or []:
                    if isinstance(scope, str) and scope not in found:
                        found.append(scope)
    return found
