"""Approve & send, Edit & send, Retry: claim the follow-up once, deliver, log to the CRM, update the cards."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from sqlalchemy import select

from bot.errors import DeliveryError, FollowupError
from bot.models import Draft, FollowUp
from bot.ports import OutgoingEmail
from bot.services import cards
from bot.services.common import authorize, load, transition
from bot.services.deps import Deps
from bot.snapshot import FollowUpView
from bot.states import Action, State

log = logging.getLogger(__name__)


def claim(
    deps: Deps,
    followup_id: int,
    *,
    actor: str,
    action: Action,
    where: str | None = None,
    subject: str | None = None,
    body: str | None = None,
) -> None:
    """Move the follow-up to `sending` (exactly one caller can), storing an edit first if there is one."""
    now = deps.clock.now()
    with deps.db.session() as s:
        fu = load(s, followup_id)
        authorize(deps, fu, actor, where=where)
        if not fu.owner_email:
            raise FollowupError("This lead has no owner in the CRM, so there is no address to send from.")
        detail: dict = {}
        if action is Action.EDIT_AND_SEND:
            base = fu.current_draft
            edit = Draft(
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
                subject=subject or base.subject,
                body=body or base.body,
                created_at=now,
            )
            s.add(edit)
            s.flush()
            detail = {
                "draft_id": edit.id,
                "subject_changed": edit.subject != base.subject,
                "body_changed": edit.body != base.body,
            }
        message_id = fu.message_id or new_message_id(fu.id, deps.config.mail.message_id_domain)
        transition(
            s,
            fu,
            action,
            actor=actor,
            now=now,
            values={"message_id": message_id, "last_error": None},
            detail=detail,
        )


def new_message_id(followup_id: int, domain: str) -> str:
    """Unique, and short enough that no mail server folds the header (replies are matched on it)."""
    return f"<followup-{followup_id}.{uuid.uuid4().hex[:20]}@{domain}>"


def deliver(deps: Deps, followup_id: int, *, actor: str) -> FollowUpView:
    """Send the claimed follow-up's current draft; ends in `sent` or `failed`, never lost in between."""
    with deps.db.session() as s:
        fu = load(s, followup_id)
        draft = fu.current_draft
        email = OutgoingEmail(
            sender=fu.owner_email or "",
            sender_name=fu.owner_name or "",
            recipient=fu.contact_email,
            subject=draft.subject,
            body=draft.body,
            message_id=fu.message_id or "",
            headers={"X-Followup-Id": str(fu.id)},
        )
        contact_id, deal_id, owner_id, draft_id = fu.contact_id, fu.deal_id, fu.owner_crm_id, draft.id
    try:
        deps.mailer.send(email)
    except DeliveryError as exc:
        with deps.db.session() as s:
            transition(
                s,
                load(s, followup_id),
                Action.DELIVERY_FAILED,
                actor=actor,
                now=deps.clock.now(),
                values={"last_error": str(exc)},
                detail={"error": str(exc)},
            )
        cards.refresh(deps, followup_id)
        return cards.view(deps, followup_id)

    sent_at = deps.clock.now()
    engagement_id, crm_error = None, None
    try:
        engagement_id = deps.crm.log_email(
            contact_id=contact_id,
            deal_id=deal_id,
            owner_id=owner_id,
            subject=email.subject,
            body=email.body,
            message_id=email.message_id,
            sent_at=sent_at,
        )
    except Exception as exc:  # the email is out; say plainly that the CRM log is missing
        log.exception("logging follow-up %s to the CRM failed", followup_id)
        crm_error = f"Sent, but logging to the CRM failed: {exc}"
    with deps.db.session() as s:
        transition(
            s,
            load(s, followup_id),
            Action.DELIVERED,
            actor=actor,
            now=sent_at,
            values={
                "sent_at": sent_at,
                "sent_by": actor,
                "sent_draft_id": draft_id,
                "crm_engagement_id": engagement_id,
                "last_error": crm_error,
            },
            detail={
                "message_id": email.message_id,
                "crm_engagement_id": engagement_id,
                "crm_error": crm_error,
            },
        )
    cards.refresh(deps, followup_id)
    return cards.view(deps, followup_id)


INTERRUPTED_AFTER = timedelta(minutes=10)
INTERRUPTED_MESSAGE = (
    "Sending was interrupted (the app stopped mid-send). The email may or may not have gone out: "
    "check the contact's thread before pressing Retry."
)


def recover_interrupted(deps: Deps) -> list[int]:
    """Follow-ups left in `sending` by a crash or restart become `failed`, visible with a Retry button."""
    now = deps.clock.now()
    with deps.db.session() as s:
        stuck = list(
            s.scalars(
                select(FollowUp.id).where(
                    FollowUp.state == State.SENDING.value, FollowUp.updated_at < now - INTERRUPTED_AFTER
                )
            )
        )
    for fid in stuck:
        with deps.db.session() as s:
            transition(
                s,
                load(s, fid),
                Action.INTERRUPTED,
                actor="scheduler",
                now=now,
                values={"last_error": INTERRUPTED_MESSAGE},
                detail={"error": INTERRUPTED_MESSAGE},
            )
        cards.refresh(deps, fid)
    return stuck


def approve(deps: Deps, followup_id: int, *, actor: str, where: str | None = None) -> FollowUpView:
    claim(deps, followup_id, actor=actor, action=Action.APPROVE, where=where)
    cards.refresh(deps, followup_id)
    return deliver(deps, followup_id, actor=actor)


def retry(deps: Deps, followup_id: int, *, actor: str, where: str | None = None) -> FollowUpView:
    claim(deps, followup_id, actor=actor, action=Action.RETRY, where=where)
    cards.refresh(deps, followup_id)
    return deliver(deps, followup_id, actor=actor)
