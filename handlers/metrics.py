"""`GET /metrics`: Prometheus's text format, optionally behind a bearer token (`METRICS_TOKEN`)."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry

from bot import telemetry


class MetricsEndpoint:
    def __init__(self, registry: CollectorRegistry, token: str | None) -> None:
        self.registry, self.token = registry, token

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _plain(start_response, "405 Method Not Allowed", b"GET /metrics\n")
        if self.token is not None:
            given = str(environ.get("HTTP_AUTHORIZATION") or "").encode("latin-1", "replace")
            if not hmac.compare_digest(given, f"Bearer {self.token}".encode()):
                return _plain(start_response, "401 Unauthorized", b"metrics need the bearer token\n")
        data = telemetry.exposition(self.registry)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(data)))])
        return [data]


def _plain(start_response: Callable, status: str, data: bytes) -> list[bytes]:
    start_response(
        status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))]
    )
    return [data]
