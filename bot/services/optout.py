"""Unsubscribes (and, with the reply reader, hard bounces): the contact gets nothing more from us, every open
follow-up of theirs ends saying why, and the CRM is told.

Every email we send carries a one-click unsubscribe link (RFC 8058): a `List-Unsubscribe` header
`<{PUBLIC_URL}/unsubscribe/{token}>` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.
The token is random and stored, so a link can't be guessed or forged; a GET shows a page with a button (mail
scanners fetch links), only a POST acts.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.errors import WrongState
from bot.models import FollowUp, Suppression, UnsubscribeToken
from bot.services import lifecycle, sequences
from bot.services.deps import Deps
from bot.states import Action, State, allowed_from
from bot.work.queue import Job, Kind, enqueue

TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def token_for(session: Session, fu: FollowUp, now: datetime) -> str:
    """The follow-up's unsubscribe token, made on its first send and reused by a retry."""
    existing = session.scalar(select(UnsubscribeToken.token).where(UnsubscribeToken.followup_id == fu.id))
    if existing:
        return existing
    token = secrets.token_urlsafe(24)
    session.add(
        UnsubscribeToken(
            token=token,
            followup_id=fu.id,
            contact_id=fu.contact_id,
            email=fu.contact_email.lower(),
            created_at=now,
        )
    )
    return token


def headers(public_url: str, token: str, mailto: str | None = None) -> dict[str, str]:
    link = f"<{public_url.rstrip('/')}/unsubscribe/{token}>"
    if mailto:
        link += f", <mailto:{mailto}?subject=unsubscribe>"
    return {"List-Unsubscribe": link, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def suppressed(session: Session, email: str) -> Suppression | None:
    return session.scalar(select(Suppression).where(Suppression.email == email.strip().lower()))


def lookup(session: Session, token: str) -> UnsubscribeToken | None:
    if not TOKEN.match(token):
        return None
    return session.get(UnsubscribeToken, token)


WAITING = {s.value for s in allowed_from(Action.RESOLVE)} - {State.SENDING.value}


def resolve_quietly(s: Session, fu: FollowUp, *, reason: str, actor: str, now: datetime) -> bool:
    """Resolve `fu` unless someone acts on it this instant (then it keeps their state); False if so."""
    try:
        with s.begin_nested():
            lifecycle.resolve(s, fu, reason=reason, now=now, actor=actor)
    except WrongState:
        return False
    return True


def suppress_in(
    s: Session, deps: Deps, *, email: str, contact_id: str | None, reason: str, detail: str, actor: str
) -> bool:
    """`suppress` inside the caller's transaction (the mailbox reader moves its cursor in the same one)."""
    email = email.strip().lower()
    now = deps.clock.now()
    if suppressed(s, email) is not None:
        return False
    with s.begin_nested():
        s.add(Suppression(email=email, contact_id=contact_id, reason=reason, detail=detail, created_at=now))
    open_ones = s.scalars(
        select(FollowUp).where(func.lower(FollowUp.contact_email) == email, FollowUp.state.in_(WAITING))
    ).all()
    for fu in open_ones:
        resolve_quietly(s, fu, reason=detail, actor=actor, now=now)
    for seq in sequences.active_for(s, email=email):  # between two touches: nothing open, the sequence ends
        sequences.stop_in(s, deps, seq.id, sequences.Stop(detail))
    enqueue(
        s,
        Kind.CRM_OPTOUT,
        followup_id=None,
        now=now,
        payload={"email": email, "contact_id": contact_id, "reason": reason},
    )
    return True


def suppress(deps: Deps, *, email: str, contact_id: str | None, reason: str, detail: str, actor: str) -> bool:
    """Record that nothing more goes to `email` (idempotent: False when it was already recorded), end every
    follow-up of theirs that is still waiting, and queue the CRM's opt-out marker. One transaction."""
    try:
        with deps.db.session() as s:
            return suppress_in(
                s, deps, email=email, contact_id=contact_id, reason=reason, detail=detail, actor=actor
            )
    except IntegrityError:  # the same address recorded a moment ago by another request
        return False


def crm_job(deps: Deps, job: Job) -> None:
    """Set the CRM's opt-out marker for an address we suppressed (retried while the CRM is down)."""
    deps.crm.mark_opted_out(contact_id=job.payload.get("contact_id"), email=job.payload["email"])
