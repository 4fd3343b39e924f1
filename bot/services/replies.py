"""Reading what came back: the replies mailbox, polled with a stored cursor (UIDVALIDITY + last UID).

Each message is handled in one transaction with the cursor move and everything it causes, so a restart in the
middle of a poll neither loses a message nor counts one twice (a message already recorded, by its UID or by
its Message-ID, only moves the cursor on).

- A real reply stops the contact's waiting follow-ups and sequences, and those of anyone at their company
  ("Sarah Chen replied 10 min ago (Tue 24 Nov 10:02) — sequence stopped"; every card updates), and the owner
  gets a DM with its first lines.
- An out-of-office auto-reply stops nothing; with a return date, the next touch (and an approved one waiting
  for its time) waits until the working day after it.
- A hard bounce suppresses the address (no more drafts or sends; the CRM is told); a soft one is only noted.
- A request to stop ("unsubscribe", "remove me") is an unsubscribe.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from blocks.format import line
from bot.adapters.imap import MailboxConfig, open_mailbox
from bot.addresses import company_domain
from bot.mail import inbound
from bot.models import FollowUp, InboundMessage, MailCursor, Sequence
from bot.services import optout, sequences
from bot.services.deps import Deps
from bot.work.queue import Kind, enqueue

log = logging.getLogger(__name__)

MATCH_BY_ADDRESS_DAYS = 90  # a reply without our headers counts for a follow-up sent this recently


@dataclass
class PollResult:
    read: int = 0
    already: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    unmatched: int = 0


def poll(deps: Deps, cfg: MailboxConfig, *, limit: int | None = None) -> PollResult:
    """Read every message past the cursor (at most `limit`), oldest first."""
    result = PollResult()
    with open_mailbox(cfg) as box:
        with deps.db.session() as s:
            cursor = s.get(MailCursor, cfg.mailbox)
            last = cursor.last_uid if cursor is not None and cursor.uidvalidity == box.uidvalidity else 0
        for uid in box.uids_after(last)[:limit]:
            raw = box.fetch(uid)
            handle(deps, cfg.mailbox, box.uidvalidity, uid, raw, result)
    return result


def _move_cursor(s: Session, mailbox: str, validity: int, uid: int, deps: Deps) -> None:
    cursor = s.get(MailCursor, mailbox)
    now = deps.clock.now()
    if cursor is None:
        s.add(MailCursor(mailbox=mailbox, uidvalidity=validity, last_uid=uid, updated_at=now))
    else:
        cursor.uidvalidity, cursor.last_uid, cursor.updated_at = validity, uid, now


def handle(deps: Deps, mailbox: str, validity: int, uid: int, raw: bytes | None, result: PollResult) -> None:
    item = inbound.parse(raw) if raw else None
    with deps.db.session() as s:
        seen = s.scalar(
            select(InboundMessage.id).where(
                InboundMessage.mailbox == mailbox,
                InboundMessage.uidvalidity == validity,
                InboundMessage.uid == uid,
            )
        )
        if seen is None and item is not None and item.message_id:
            seen = s.scalar(select(InboundMessage.id).where(InboundMessage.message_id == item.message_id))
        if seen is not None or item is None:  # handled before (a new UIDVALIDITY rereads), or expunged
            result.already += 1
            _move_cursor(s, mailbox, validity, uid, deps)
            return
        fu, how = match(s, item, deps)
        s.add(
            InboundMessage(
                mailbox=mailbox,
                uidvalidity=validity,
                uid=uid,
                message_id=(item.message_id or "")[:255] or None,
                kind=item.kind,
                bounce=item.bounce,
                sender=item.sender[:320],
                subject=item.subject[:300],
                snippet=item.first_lines(),
                followup_id=fu.id if fu else None,
                contact_id=fu.contact_id if fu else None,
                matched_by=how,
                return_date=item.return_date,
                received_at=item.received_at if item.received_at and item.received_at.tzinfo else None,
                created_at=deps.clock.now(),
            )
        )
        result.read += 1
        result.kinds[item.kind] = result.kinds.get(item.kind, 0) + 1
        if fu is None:
            result.unmatched += 1
            if item.kind == inbound.REPLY:
                _colleague_wrote(s, deps, item)
        else:
            _effects(s, deps, item, fu)
            # the sent follow-up's card shows what came back
            enqueue(s, Kind.REFRESH_CARDS, followup_id=fu.id, now=deps.clock.now(), coalesce=True)
        _move_cursor(s, mailbox, validity, uid, deps)


def match(s: Session, item: inbound.Inbound, deps: Deps) -> tuple[FollowUp | None, str | None]:
    """The follow-up this answers: by our Message-ID in its In-Reply-To/References (or, for a bounce, in the
    returned original), else the latest follow-up sent to the sender's address in the last 90 days."""
    if item.refers_to:
        fu = s.scalar(
            select(FollowUp).where(FollowUp.message_id.in_(item.refers_to)).order_by(FollowUp.id.desc())
        )
        if fu is not None:
            return fu, "header"
    address = item.bounced_recipient if item.kind == inbound.BOUNCE else item.sender
    if not address:
        return None, None
    since = deps.clock.now() - timedelta(days=MATCH_BY_ADDRESS_DAYS)
    fu = s.scalar(
        select(FollowUp)
        .where(func.lower(FollowUp.contact_email) == address, FollowUp.sent_at >= since)
        .order_by(FollowUp.sent_at.desc())
    )
    return (fu, "address") if fu is not None else (None, None)


def _effects(s: Session, deps: Deps, item: inbound.Inbound, fu: FollowUp) -> None:
    now = deps.clock.now()
    who = item.sender_name or fu.contact_name or item.sender
    if item.kind == inbound.REPLY:
        when = item.received_at if item.received_at and item.received_at.tzinfo else now
        reason = f"{line(who, 80)} replied {ago(when, now)} ({when:%a %d %b %H:%M})"
        _stop_contact(s, deps, fu, reason)
        if fu.owner_slack_id:
            company = f" ({line(fu.company_name, 80)})" if fu.company_name else ""
            text = f"*{line(who, 80)}*{company} replied to your follow-up:\n>{line(item.first_lines(), 300)}"
            enqueue(
                s, Kind.NOTIFY, followup_id=fu.id, now=now, payload={"user": fu.owner_slack_id, "text": text}
            )
    elif item.kind == inbound.AUTO_REPLY and item.return_date:
        # nothing stops; the next touch (and an approved one waiting for its time) waits for their return
        sequences.hold_in(s, deps, fu.contact_id, item.return_date)
    elif item.kind == inbound.BOUNCE and item.bounce == "hard":
        optout.suppress_in(
            s,
            deps,
            email=item.bounced_recipient or fu.contact_email,
            contact_id=fu.contact_id,
            reason="bounced",
            detail=f"Mail to {fu.contact_email} bounced ({item.bounce_detail or 'permanent failure'})",
            actor="mailbox",
        )
    elif item.kind == inbound.UNSUBSCRIBE:
        optout.suppress_in(
            s,
            deps,
            email=item.sender,
            contact_id=fu.contact_id,
            reason="unsubscribed",
            detail=f"{line(who, 80)} asked by email to get no more emails",
            actor="mailbox",
        )


def _stop_contact(s: Session, deps: Deps, fu: FollowUp, reason: str) -> None:
    """A reply ends the contact's waiting follow-ups (and so their sequences) and every sequence of theirs —
    and of anyone at their company: a colleague answering for them is an answer."""
    now = deps.clock.now()
    waiting = s.scalars(
        select(FollowUp).where(FollowUp.contact_id == fu.contact_id, FollowUp.state.in_(optout.WAITING))
    ).all()
    for other in waiting:  # one in a sequence says "— sequence stopped" (lifecycle.resolve adds it)
        why = reason if other.sequence_id else f"{reason} — follow-up stopped"
        optout.resolve_quietly(s, other, reason=why, actor="mailbox", now=now)
    running = sequences.active_for(s, contact_id=fu.contact_id)
    if fu.company_id:
        running += [q for q in sequences.active_for(s, company_id=fu.company_id) if q not in running]
    for seq in running:
        colleague = seq.contact_id != fu.contact_id
        _end_sequence(
            s, deps, seq.id, f"{reason}, at {fu.company_name or 'the same company'}" if colleague else reason
        )


def _end_sequence(s: Session, deps: Deps, sequence_id: int, reason: str) -> FollowUp | None:
    """Stop a running sequence: its waiting touch resolves saying why (lifecycle.resolve ends the sequence
    with it), or, between touches, the card of its latest touch shows it. Returns that latest follow-up."""
    now = deps.clock.now()
    for touch in s.scalars(
        select(FollowUp).where(FollowUp.sequence_id == sequence_id, FollowUp.state.in_(optout.WAITING))
    ).all():
        optout.resolve_quietly(s, touch, reason=reason, actor="mailbox", now=now)
    last = s.scalar(select(FollowUp).where(FollowUp.sequence_id == sequence_id).order_by(FollowUp.id.desc()))
    if (
        sequences.end_in(s, sequence_id, state=sequences.STOPPED, outcome=reason, now=now)
        and last is not None
    ):
        enqueue(s, Kind.REFRESH_CARDS, followup_id=last.id, now=now, coalesce=True)
    return last


def _colleague_wrote(s: Session, deps: Deps, item: inbound.Inbound) -> None:
    """Someone we never emailed wrote from a company domain (not a free-mail provider's): every running
    sequence with a contact at that domain stops (a colleague answering is an answer); the owner is told."""
    domain = company_domain(item.sender)
    if domain is None:
        return
    now = deps.clock.now()
    who = line(item.sender_name or item.sender, 80)
    running = s.scalars(
        select(Sequence).where(
            Sequence.state == sequences.ACTIVE,
            func.lower(Sequence.contact_email).endswith(f"@{domain}", autoescape=True),
        )
    ).all()
    for seq in running:
        reason = f"{who}, at the same company ({domain}), wrote in {ago(item.received_at or now, now)}"
        last = _end_sequence(s, deps, seq.id, reason)
        if last is not None and last.owner_slack_id:
            text = (
                f"*{who}* ({line(domain, 80)}) wrote in, so {line(seq.contact_name, 80)}'s sequence stopped:"
                f"\n>{line(item.first_lines(), 300)}"
            )
            enqueue(
                s,
                Kind.NOTIFY,
                followup_id=last.id,
                now=now,
                payload={"user": last.owner_slack_id, "text": text},
            )


def ago(when: datetime, now: datetime) -> str:
    """'just now', '10 min ago', '3 h ago', 'yesterday', '4 days ago'."""
    seconds = max(0, int((now - when).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    days = seconds // 86400
    return "yesterday" if days == 1 else f"{days} days ago"
