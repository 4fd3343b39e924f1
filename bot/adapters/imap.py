"""The replies mailbox over IMAP (stdlib `imaplib`), read-only: messages are fetched with BODY.PEEK, never
marked or moved, so the mailbox stays a person's to read."""

from __future__ import annotations

import imaplib
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from bot.errors import FollowupError


class MailboxError(FollowupError):
    pass


@dataclass(frozen=True)
class MailboxConfig:
    host: str
    port: int
    username: str
    password: str
    tls: bool = True
    mailbox: str = "INBOX"
    timeout: float = 30.0


class OpenMailbox:
    def __init__(self, conn: imaplib.IMAP4, uidvalidity: int) -> None:
        self.conn = conn
        self.uidvalidity = uidvalidity

    def uids_after(self, last: int) -> list[int]:
        """UIDs above `last`, in order. (`UID SEARCH UID n:*` also returns the highest UID when none is above
        n: filtered here.)"""
        kind, data = self.conn.uid("SEARCH", f"UID {last + 1}:*")
        if kind != "OK":
            raise MailboxError(f"IMAP search failed: {data!r}"[:200])
        uids = sorted(int(x) for x in (data[0] or b"").split())
        return [u for u in uids if u > last]

    def fetch(self, uid: int) -> bytes | None:
        """The whole message, without setting \\Seen; None if it was expunged meanwhile."""
        kind, data = self.conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
        if kind != "OK":
            raise MailboxError(f"IMAP fetch failed for UID {uid}")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2:
                return bytes(item[1])
        return None


@contextmanager
def open_mailbox(cfg: MailboxConfig) -> Iterator[OpenMailbox]:
    try:
        if cfg.tls:
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                cfg.host, cfg.port, ssl_context=ssl.create_default_context(), timeout=cfg.timeout
            )
        else:
            conn = imaplib.IMAP4(cfg.host, cfg.port, timeout=cfg.timeout)
        conn.login(cfg.username, cfg.password)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"Could not log in to IMAP {cfg.host}:{cfg.port} ({type(exc).__name__})") from None
    try:
        kind, _ = conn.select(cfg.mailbox, readonly=True)
        if kind != "OK":
            raise MailboxError(f"IMAP mailbox {cfg.mailbox!r} could not be opened")
        _, data = conn.response("UIDVALIDITY")
        if not data or data[0] is None:
            _, status = conn.status(cfg.mailbox, "(UIDVALIDITY)")
            found = re.search(rb"UIDVALIDITY (\d+)", status[0] or b"")
            data = [found[1]] if found else []
        if not data:
            raise MailboxError("the IMAP server did not say the mailbox's UIDVALIDITY")
        yield OpenMailbox(conn, int(data[0]))
    finally:
        with suppress(OSError, imaplib.IMAP4.error):
            conn.logout()
