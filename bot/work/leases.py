"""Named leases in the database: a periodic job runs on whichever replica holds its lease, once per tick."""

from __future__ import annotations

import os
import socket
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from bot.db import Database
from bot.models import Lease


def try_acquire(db: Database, name: str, *, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take (or extend) the lease `name` until now + ttl; False while another holder's lease is live."""
    with db.session() as s:
        taken = s.execute(
            update(Lease)
            .where(Lease.name == name, or_(Lease.until <= now, Lease.holder == holder))
            .values(holder=holder, until=now + ttl)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount:  # type: ignore[attr-defined]
            return True
        if s.get(Lease, name) is not None:
            return False
    try:
        with db.session() as s:
            s.add(Lease(name=name, holder=holder, until=now + ttl))
        return True
    except IntegrityError:  # another replica created it first
        return False


def release(db: Database, name: str, *, holder: str) -> None:
    """Give the lease up early (when this holder still has it)."""
    with db.session() as s:
        s.execute(
            update(Lease)
            .where(Lease.name == name, Lease.holder == holder)
            .values(until=datetime(1970, 1, 1, tzinfo=UTC))
            .execution_options(synchronize_session=False)
        )


def this_thread() -> str:
    """A holder name no other process or thread uses."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
