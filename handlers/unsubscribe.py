"""`/unsubscribe/{token}`: the one-click unsubscribe endpoint (RFC 8058).

POST (what a mail client's unsubscribe button sends: `List-Unsubscribe=One-Click`, no cookies, no login) takes
effect and answers 200. GET shows a page with a button that POSTs: link scanners and previews fetch GETs, so a
GET alone changes nothing. An unknown or malformed token is 404, and nothing about it is stored or echoed.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterable
from typing import Any

from bot.services import optout
from bot.services.deps import Deps

log = logging.getLogger(__name__)

PREFIX = "/unsubscribe/"
MAX_BODY = 64 * 1024
NOT_FOUND = "<p>This unsubscribe link is not valid. If you copied it, check it is complete.</p>"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;
line-height:1.5}} button{{font-size:1rem;padding:.6rem 1.2rem}}</style></head>
<body><h1>{title}</h1>{body}</body></html>
"""


def _page(start_response: Callable, status: str, title: str, body: str) -> Iterable[bytes]:
    data = PAGE.format(title=html.escape(title), body=body).encode("utf-8")
    start_response(
        status,
        [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
            ("X-Robots-Tag", "noindex"),
            ("Referrer-Policy", "no-referrer"),
        ],
    )
    return [data]


class Unsubscribe:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        token = str(environ.get("PATH_INFO", ""))[len(PREFIX) :]
        method = environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD", "POST"):
            start_response("405 Method Not Allowed", [("Allow", "GET, POST"), ("Content-Type", "text/plain")])
            return [b"Use the button on the page."]
        with self.deps.db.session() as s:
            found = optout.lookup(s, token)
            email = found.email if found else None
            contact_id = found.contact_id if found else None
            already = optout.suppressed(s, email) if email else None
        if email is None:
            return _page(start_response, "404 Not Found", "Link not found", NOT_FOUND)
        shown = html.escape(email)
        if method == "POST":
            self._drain(environ)
            optout.suppress(
                self.deps,
                email=email,
                contact_id=contact_id,
                reason="unsubscribed",
                detail=f"Unsubscribed ({email}) with the link in our email",
                actor="unsubscribe",
            )
            log.info("unsubscribe recorded", extra={"contact_id": contact_id})
            return _page(start_response, "200 OK", "You are unsubscribed",
                         f"<p>{shown} will get no more follow-up emails from us.</p>")  # fmt: skip
        if already is not None:
            return _page(start_response, "200 OK", "Already unsubscribed",
                         f"<p>{shown} gets no follow-up emails from us.</p>")  # fmt: skip
        form = (
            f"<p>Stop follow-up emails to {shown}?</p>"
            '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
            '<button type="submit">Unsubscribe</button></form>'
        )
        return _page(start_response, "200 OK", "Unsubscribe", form)

    @staticmethod
    def _drain(environ: dict[str, Any]) -> None:
        """Read and ignore the body (RFC 8058 `List-Unsubscribe=One-Click`, or our form): 64 KB at most."""
        try:
            length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY)
        except ValueError:
            length = 0
        if length > 0:
            environ["wsgi.input"].read(length)
