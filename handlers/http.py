"""What the app's own signed HTTP endpoints (`/inbound`, `/hubspot/webhook`) share: JSON answers and a body
read only up to its limit."""

from __future__ import annotations

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
