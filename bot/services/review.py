"""Approve & send, Edit & send, Retry, and the send itself: claimed once, delivered by a worker, never
re-sent without a person when the outcome is unknown, then logged to the CRM exactly once."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot.addresses import single_address
from bot.errors import DeliveryError, FollowupError, NoInboxSender, WrongState
from bot.models import CrmWrite, Draft, FollowUp
from bot.ports import OutgoingEmail
from bot.records import block_text, one_line
from bot.services import lifecycle, optout, sending, sequences
from bot.services.common import authorize, class_review, load, transition
from bot.services.deps import Deps
from bot.states import Action, State
from bot.work.queue import Job, Kind, enqueue

log = logging.getLogger(__name__)

UNKNOWN_ON_THREAD = (
    "HubSpot took the reply on the lead's inbox thread but never confirmed it, so it may or may not have "
    "gone out. Check the thread in HubSpot: if it is there, choose “It was sent”; otherwise “Send again”."
)
UNKNOWN_MESSAGE = (
    "The mail server took the message but never confirmed it, so it may or may not have reached the lead. "
    "Check your Sent folder or the lead's thread: if it went out, choose “It was sent”; "
    "otherwise “Send again”."
)


def _edit(fu: FollowUp, actor: str, subject: str | None, body: str | None, now: Any) -> Draft:
    base = fu.current_draft
    return Draft(
        followup_id=fu.id,
        origin="edit",
        author=actor,
        model=None,
        prompt_version=None,
        summary=base.summary,
        classification=base.classification,
        urgency=base.urgency,
        missing_information=base.missing_information,
        review_flags=base.review_flags,
        sources=base.sources,
        subject=one_line(subject, 200) or base.subject,
        body=block_text(body, 2900) or base.body,
        created_at=now,
    )


def claim(
    deps: Deps,
    followup_id: int,
    *,
    actor: str,
    action: Action,
    where: str | None = None,
    subject: str | None = None,
    body: str | None = None,
    detail: dict | None = None,
    authorized: bool = False,
    reviewed_class: str | None = None,
) -> None:
    """Move the follow-up to `sending` (exactly one caller can) and queue the send in the same commit, for
    the first moment the send window and the mailbox's pace allow (the card says when)."""
    now = deps.clock.now()
    with deps.db.session() as s:
        fu = load(s, followup_id)
        if not authorized:
            authorize(deps, fu, actor, where=where)
        if not fu.owner_email:
            raise FollowupError("This lead has no owner in the CRM, so there is no address to send from.")
        detail = dict(detail or {}) | class_review(fu, reviewed_class)
        if action is Action.EDIT_AND_SEND:
            base = fu.current_draft
            edit = _edit(fu, actor, subject, body, now)
            s.add(edit)
            s.flush()
            detail |= {
                "draft_id": edit.id,
                "subject_changed": edit.subject != base.subject,
                "body_changed": edit.body != base.body,
            }
        if action is Action.RESEND:
            detail |= {"confirmed": "the person was told it may have been delivered already"}
        message_id = fu.message_id or new_message_id(fu.id, deps.config.mail.message_id_domain)
        sending.free(s, fu.id)  # a retry takes a new slot
        slot = sending.allocate(
            s,
            deps,
            followup_id=fu.id,
            mailbox=fu.owner_email,
            recipient_tz=fu.recipient_tz,
            not_before=fu.sequence.hold_until if fu.sequence else None,
        )
        if slot.at > now:
            detail["scheduled_for"] = slot.at.isoformat()
        transition(
            s,
            fu,
            action,
            actor=actor,
            now=now,
            values={
                "message_id": message_id,
                "last_error": None,
                "send_handover_at": None,
                "send_at": slot.at,
                "recipient_tz": slot.zone,
            },
            detail=detail,
        )
        enqueue(s, Kind.SEND, followup_id=fu.id, now=now, payload={"actor": actor}, due=slot.at)


def auto_approve(deps: Deps, followup_id: int, *, actor: str, confidence: float | None) -> None:
    """The app approves a later touch itself (the rule allows it, the classification is confident enough,
    and no guardrail flagged the draft); the audit trail and the card say so."""
    claim(
        deps,
        followup_id,
        actor=actor,
        action=Action.APPROVE,
        detail={"auto": True, "confidence": confidence},
        authorized=True,
    )


def cancel_send(deps: Deps, followup_id: int, *, actor: str, where: str | None = None) -> None:
    """Pull back an approved send that is still waiting for its time; it goes back to review."""
    now = deps.clock.now()
    with deps.db.session() as s:
        fu = load(s, followup_id)
        authorize(deps, fu, actor, where=where)
        if fu.send_handover_at is not None:
            raise WrongState("This email is already on its way, so it can't be pulled back.")
        sending.free(s, fu.id)
        transition(
            s,
            fu,
            Action.CANCEL_SEND,
            actor=actor,
            now=now,
            values={"send_at": None},
            detail={"was_scheduled_for": fu.send_at.isoformat() if fu.send_at else None},
            condition=FollowUp.send_handover_at.is_(None),
        )


def new_message_id(followup_id: int, domain: str) -> str:
    """Unique, and short enough that no mail server folds the header (replies are matched on it)."""
    return f"<followup-{followup_id}.{uuid.uuid4().hex[:20]}@{domain}>"


def approve(deps: Deps, followup_id: int, *, actor: str, where: str | None = None) -> None:
    claim(deps, followup_id, actor=actor, action=Action.APPROVE, where=where)


def retry(deps: Deps, followup_id: int, *, actor: str, where: str | None = None) -> None:
    claim(deps, followup_id, actor=actor, action=Action.RETRY, where=where)


def resend(deps: Deps, followup_id: int, *, actor: str, where: str | None = None) -> None:
    """After an unknown outcome, a person confirmed: send again (same Message-ID, so servers can dedupe)."""
    claim(deps, followup_id, actor=actor, action=Action.RESEND, where=where)


def mark_sent(deps: Deps, followup_id: int, *, actor: str, where: str | None = None) -> None:
    """After an unknown outcome, a person checked: it went out. Log it like any sent email."""
    now = deps.clock.now()
    with deps.db.session() as s:
        fu = load(s, followup_id)
        authorize(deps, fu, actor, where=where)
        transition(
            s,
            fu,
            Action.MARK_SENT,
            actor=actor,
            now=now,
            values={
                "sent_at": fu.send_handover_at or now,
                "sent_by": fu.sent_by or actor,
                "last_error": None,
            },
            detail={"confirmed_by": actor},
        )
        sequences.on_sent(s, deps, fu, fu.sent_at or now)
        enqueue(s, Kind.CRM_LOG, followup_id=fu.id, now=now)


def retry_crm_log(deps: Deps, followup_id: int, *, actor: str, where: str | None = None) -> None:
    with deps.db.session() as s:
        fu = load(s, followup_id)
        authorize(deps, fu, actor, where=where)
        if fu.state != State.SENT.value or fu.crm_engagement_id:
            raise WrongState("There is no failed CRM log to retry on this follow-up.")
        enqueue(s, Kind.CRM_LOG, followup_id=fu.id, now=deps.clock.now())


# --- the work ------------------------------------------------------------------------------------------
def _outside_window(s: Session, deps: Deps, fu: FollowUp, actor: str) -> datetime | None:
    """When the send's moment is no longer a good one (outside the recipient's hours, or before an
    out-of-office return), take a new slot, queue the send for it and return it; else None."""
    now = deps.clock.now()
    cfg = deps.config.sending
    zone = sending.zone_named(fu.recipient_tz, deps.calendar.zone)
    hold = fu.sequence.hold_until if fu.sequence else None
    if sending.in_window(cfg, zone, now) and (hold is None or hold <= now):
        return None
    sending.free(s, fu.id)
    slot = sending.allocate(
        s,
        deps,
        followup_id=fu.id,
        mailbox=fu.owner_email or "",
        recipient_tz=fu.recipient_tz,
        not_before=hold,
    )
    fu.send_at = slot.at
    fu.version += 1  # the card shows the new time
    enqueue(s, Kind.SEND, followup_id=fu.id, now=now, payload={"actor": actor}, due=slot.at)
    enqueue(s, Kind.REFRESH_CARDS, followup_id=fu.id, now=now, coalesce=True)
    log.info("send moved to the next window", extra={"followup_id": fu.id})
    return slot.at


def _fail(deps: Deps, followup_id: int, action: Action, error: str, actor: str) -> None:
    with deps.db.session() as s:
        fu = load(s, followup_id)
        if fu.state != State.SENDING.value:
            return
        transition(
            s,
            fu,
            action,
            actor=actor,
            now=deps.clock.now(),
            values={"last_error": error},
            detail={"error": error},
        )


def send_job(deps: Deps, job: Job) -> None:
    """Deliver the claimed follow-up's current draft. Ends in sent, failed (surely not delivered), unknown
    (maybe delivered: a person decides) or resolved (no longer needed: not sent)."""
    assert job.followup_id is not None
    fid, actor = job.followup_id, job.payload.get("actor", "system")
    with deps.db.session() as s:
        fu = load(s, fid)
        if fu.state != State.SENDING.value:
            return  # already settled by an earlier attempt
        if fu.send_at is not None and fu.send_at > deps.clock.now():
            return  # queued for an earlier approval (since pulled back and approved again): its own job runs
        if fu.send_handover_at is not None:
            # an earlier attempt handed the message over and then died: never resend blindly
            transition(
                s,
                fu,
                Action.DELIVERY_UNKNOWN,
                actor="worker",
                now=deps.clock.now(),
                values={"last_error": UNKNOWN_MESSAGE},
                detail={"error": "worker stopped after the handover", "attempt": job.attempts},
            )
            return
        later = _outside_window(s, deps, fu, actor)
        if later is not None:  # its time passed while workers were down or retrying: the next good moment
            return
        draft = fu.current_draft
        stop = optout.suppressed(s, fu.contact_email)
        if stop is not None:  # they unsubscribed or bounced since the draft was approved: nothing leaves
            lifecycle.resolve(s, fu, reason=f"Not sent: {stop.detail}", now=deps.clock.now(), actor="worker")
            return
        # the one-click unsubscribe link (RFC 8058), the same on a retry
        unsubscribe = optout.headers(
            deps.public_url, optout.token_for(s, fu, deps.clock.now()), deps.config.mail.unsubscribe_mailto
        )
        email = OutgoingEmail(
            sender=fu.owner_email or "",
            sender_name=fu.owner_name or "",
            recipient=fu.contact_email,
            subject=draft.subject,
            body=draft.body,
            message_id=fu.message_id or "",
            headers={"X-Followup-Id": str(fu.id), **unsubscribe},
        )
        watch, draft_id = lifecycle.watch_of(fu), draft.id
        contact_id, owner_crm_id = fu.contact_id, fu.owner_crm_id

    reason = lifecycle.no_longer_needed(deps, watch)  # right before the send
    if reason:
        with deps.db.session() as s:
            lifecycle.resolve(
                s, load(s, fid), reason=f"Not sent: {reason}", now=deps.clock.now(), actor="worker"
            )
        return

    # a read, before anything leaves: if HubSpot can't answer, the queue tries again later
    thread = deps.crm.reply_thread(contact_id) if deps.config.hubspot.reply_on_inbox_threads else None
    handed_over = False

    def handover() -> None:
        """Only one worker ever hands a message over: a worker whose lease ran out while it was slow finds
        the mark taken (or the follow-up settled) and stops before the message leaves."""
        nonlocal handed_over
        with deps.db.session() as s:
            marked = s.execute(
                update(FollowUp)
                .where(
                    FollowUp.id == fid,
                    FollowUp.state == State.SENDING.value,
                    FollowUp.send_handover_at.is_(None),
                )
                .values(send_handover_at=deps.clock.now())
                .execution_options(synchronize_session=False)
            )
            if marked.rowcount != 1:  # type: ignore[attr-defined]
                raise WrongState(f"follow-up {fid} is being sent by another worker")
        handed_over = True

    thread_message: str | None = None
    try:
        if thread is not None:  # the lead wrote in through the CRM's inbox: reply there, from the inbox
            try:
                thread_message = deps.crm.send_on_thread(
                    thread,
                    owner_id=owner_crm_id,
                    recipient=single_address(email.recipient),
                    subject=email.subject,
                    body=email.body,
                    on_handover=handover,
                )
            except NoInboxSender:  # raised before anything left: the rep's own address instead
                thread = None
        if thread is None:
            deps.mailer.send(email, on_handover=handover)
    except DeliveryError as exc:
        log.warning("not sent (%s)", type(exc).__name__, extra={"followup_id": fid})
        _fail(deps, fid, Action.DELIVERY_FAILED, str(exc), actor)
        return
    except Exception as exc:
        if not handed_over:
            raise  # nothing went out: the queue tries again
        log.warning("outcome unknown after handover (%s)", type(exc).__name__, extra={"followup_id": fid})
        said = UNKNOWN_ON_THREAD if thread is not None else UNKNOWN_MESSAGE
        _fail(deps, fid, Action.DELIVERY_UNKNOWN, f"{said} ({exc})", actor)
        return
    sent_at = deps.clock.now()
    with deps.db.session() as s:
        fu = load(s, fid)
        try:
            transition(
                s,
                fu,
                Action.DELIVERED,
                actor=actor,
                now=sent_at,
                values={
                    "sent_at": sent_at,
                    "sent_by": actor,
                    "sent_draft_id": draft_id,
                    "last_error": None,
                    "sent_via": "inbox" if thread_message else "email",
                    # on the inbox thread the message is on the CRM's timeline already
                    "crm_engagement_id": thread_message,
                },
                detail={"message_id": email.message_id, "via": "inbox" if thread_message else "email"},
            )
        except WrongState:  # another worker decided "unknown" while this one was still talking to the server
            log.warning("delivered after it had been marked unknown", extra={"followup_id": fid})
            return
        if thread_message:
            s.add(CrmWrite(followup_id=fid, kind="email", crm_id=thread_message, created_at=sent_at))
        sequences.on_sent(s, deps, fu, sent_at)
        enqueue(s, Kind.CRM_LOG, followup_id=fu.id, now=sent_at)
    log.info("sent", extra={"followup_id": fid})


def send_gave_up(deps: Deps, job: Job, error: str) -> None:
    """The send kept failing before anything was handed over (e.g. the CRM check): show it as failed."""
    assert job.followup_id is not None
    _fail(deps, job.followup_id, Action.DELIVERY_FAILED, f"Could not send: {error}", "worker")
