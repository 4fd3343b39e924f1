"""What the app's own signed HTTP endpoints (`/inbound`, `/hubspot/webhook`) share: JSON answers and a body
read only up to its limit."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any


class Refusal(Exception):
    def __init__(self, status: str, error: str) -> None:
        super().__init__(error)
        self.status, self.error = status, error


def answer(start_response: Callable, status: str, payload: dict[str, Any]) -> list[bytes]:
    data = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def read_body(environ: dict[str, Any], limit: int) -> bytes:
    """The POSTed body, or a Refusal (405 for another method, 400 for a bad length, 413 over `limit`)."""
    if environ.get("REQUEST_METHOD") != "POST":
        raise Refusal("405 Method Not Allowed", "use POST")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refusal("400 Bad Request", "Content-Length is not a number") from None
    if length > limit:
        raise Refusal("413 Content Too Large", f"the body is over {limit} bytes")
    body: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
    return body


def number(header: str, most_digits: int) -> int | None:
    """A header's unsigned integer, or None: ASCII digits only (`str.isdigit` also passes "²" and "٣", which
    `int` then refuses or reads)."""
    ok = header.isascii() and header.isdigit() and len(header) <= most_digits
    return int(header) if ok else None


def signed(expected: str, given: str) -> bool:
    """Whether a header carries the expected signature, compared in constant time. A WSGI header is any
    latin-1 text; `hmac.compare_digest` refuses non-ASCII strings, so bytes are compared."""
    return hmac.compare_digest(expected.encode(), given.encode("latin-1", "replace"))
