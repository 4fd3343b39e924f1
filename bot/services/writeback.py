"""Writing back to the CRM for every handled follow-up, through the work queue and each part once.

A sent follow-up gets the email logged (From and To, associated with the contact, company and deal), a note
with the review trail (trigger, AI summary, the AI's draft, the rep's edits as a diff, the decision, who and
when) and a task for the owner to check for a reply; a dismissed one gets the review-trail note. Each part
is recorded in `crm_writes` with the CRM's id once written, so a retried job skips what is done, and the CRM
adapters find an earlier write by its marker, so a write whose answer was lost is not made twice."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot.addresses import BadAddress, single_address
from bot.models import CrmWrite, FollowUp
from bot.services.common import load
from bot.services.deps import Deps
from bot.states import Action, State
from bot.triggers.registry import label as rule_label
from bot.work.queue import Job, Kind, enqueue

log = logging.getLogger(__name__)

TASK_AFTER_BUSINESS_DAYS = 3


def writeback_job(deps: Deps, job: Job) -> None:
    """Write what the follow-up's outcome calls for that is not written yet; raising retries the rest."""
    assert job.followup_id is not None
    fid = job.followup_id
    with deps.db.session() as s:
        fu = load(s, fid)
        done = set(s.scalars(select(CrmWrite.kind).where(CrmWrite.followup_id == fid)))
        steps = _steps(deps, fu)
    for kind, write in steps:
        if kind in done:
            continue
        crm_id = write()
        _record(deps, fid, kind, crm_id)
    log.info("written back to the CRM", extra={"followup_id": fid})


def _steps(deps: Deps, fu: FollowUp) -> list[tuple[str, Callable[[], str]]]:
    """The CRM writes for the follow-up as it is now (read inside the session, run after it)."""
    if fu.state == State.SENT.value:
        decided_at = fu.sent_at or deps.clock.now()
        sent = next((d for d in fu.drafts if d.id == fu.sent_draft_id), fu.current_draft)
        try:
            recipient: str | None = single_address(fu.contact_email)
        except BadAddress:
            recipient = None
        email = dict(
            contact_id=fu.contact_id,
            deal_id=fu.deal_id,
            owner_id=fu.owner_crm_id,
            subject=sent.subject,
            body=sent.body,
            message_id=fu.message_id or "",
            sent_at=decided_at,
            sender=fu.owner_email,
            recipient=recipient,
            company_id=fu.company_id,
        )
        due = add_business_days(deps, decided_at, TASK_AFTER_BUSINESS_DAYS)
        first = fu.contact_name.split()[0] if fu.contact_name.split() else "the lead"
        task = dict(
            contact_id=fu.contact_id,
            deal_id=fu.deal_id,
            company_id=fu.company_id,
            owner_id=fu.owner_crm_id,
            subject=f"Check for a reply from {fu.contact_name}"[:200],
            body=(
                f"followup sent “{sent.subject}” on {decided_at:%a %d %b %Y}. "
                f"If {first} has not replied by {due:%a %d %b}, follow up."
            ),
            due_at=due,
            marker=_marker(fu.id, "task"),
        )
        return [
            ("email", lambda: deps.crm.log_email(**email)),  # type: ignore[arg-type]
            ("trail", _trail_step(deps, fu, decided_at)),
            ("task", lambda: deps.crm.create_task(**task)),  # type: ignore[arg-type]
        ]
    if fu.state == State.DISMISSED.value:
        return [("trail", _trail_step(deps, fu, fu.updated_at))]
    return []


def _trail_step(deps: Deps, fu: FollowUp, at: datetime) -> Callable[[], str]:
    note = dict(
        contact_id=fu.contact_id,
        deal_id=fu.deal_id,
        body=review_trail(fu),
        at=at,
        marker=_marker(fu.id, "trail"),
        company_id=fu.company_id,
    )
    return lambda: deps.crm.log_note(**note)  # type: ignore[arg-type]


def _marker(followup_id: int, kind: str) -> str:
    return f"followup:{followup_id}:{kind}"


def _record(deps: Deps, fid: int, kind: str, crm_id: str) -> None:
    try:
        with deps.db.session() as s:
            s.add(CrmWrite(followup_id=fid, kind=kind, crm_id=crm_id, created_at=deps.clock.now()))
    except IntegrityError:
        return  # another worker recorded it a moment ago
    if kind != "email":
        return
    with deps.db.session() as s:  # the card says "logged to CRM"
        fu = load(s, fid)
        s.execute(
            update(FollowUp)
            .where(FollowUp.id == fid)
            .values(crm_engagement_id=crm_id, last_error=None, version=FollowUp.version + 1)
            .execution_options(synchronize_session=False)
        )
        if fu.cards:
            enqueue(s, Kind.REFRESH_CARDS, followup_id=fid, now=deps.clock.now(), coalesce=True)


def writeback_gave_up(deps: Deps, job: Job, error: str) -> None:
    """Shown on a sent card (with Retry CRM log) when the email could not be logged."""
    assert job.followup_id is not None
    with deps.db.session() as s:
        fu = load(s, job.followup_id)
        if fu.state != State.SENT.value or fu.crm_engagement_id:
            return
        s.execute(
            update(FollowUp)
            .where(FollowUp.id == fu.id)
            .values(last_error=f"Sent, but logging to the CRM failed: {error}", version=FollowUp.version + 1)
            .execution_options(synchronize_session=False)
        )
        if fu.cards:
            enqueue(s, Kind.REFRESH_CARDS, followup_id=fu.id, now=deps.clock.now(), coalesce=True)


def add_business_days(deps: Deps, start: datetime, days: int) -> datetime:
    calendar, at = deps.calendar, start
    while days > 0:
        at += timedelta(days=1)
        if calendar.is_workday(at.astimezone(calendar.zone).date()):
            days -= 1
    return at


def _who(fu: FollowUp, actor: str | None) -> str:
    if not actor:
        return "someone"
    if actor == fu.owner_slack_id and fu.owner_name:
        return f"{fu.owner_name} (Slack {actor})"
    if actor.startswith(("drafter:", "scan", "worker", "scheduler")):
        return "followup"
    return f"Slack user {actor}"


def review_trail(fu: FollowUp) -> str:
    """The whole review, as a note a manager can read in the CRM."""
    ai = fu.ai_draft
    lines = [
        f"followup review trail — follow-up #{fu.id}: {rule_label(fu.rule)}",
        f"Trigger: {fu.reason}",
        f"AI summary ({ai.author}{', ' + ai.model if ai.model else ''}"
        f"{', prompt ' + ai.prompt_version if ai.prompt_version else ''}): {ai.summary}",
    ]
    if ai.review_flags:
        lines.append("Flagged for a person: " + "; ".join(ai.review_flags))
    lines += ["", f"AI draft — subject: {ai.subject}", ai.body, ""]
    final = next((d for d in fu.drafts if d.id == fu.sent_draft_id), fu.current_draft)
    if final.id != ai.id:
        lines.append(f"Edited by {_who(fu, final.author)}:")
        if final.subject != ai.subject:
            lines.append(f"Subject: “{ai.subject}” → “{final.subject}”")
        diff = difflib.unified_diff(
            ai.body.splitlines(), final.body.splitlines(), "AI draft", "sent", lineterm="", n=1
        )
        lines += list(diff) or ["(body unchanged)"]
        lines.append("")
    if fu.state == State.SENT.value:
        at = f"{fu.sent_at:%Y-%m-%d %H:%M} UTC" if fu.sent_at else "—"
        lines.append(f"Decision: approved and sent by {_who(fu, fu.sent_by)} at {at}.")
    else:
        lines.append(
            f"Decision: dismissed by {_who(fu, fu.outcome_by)} at {fu.updated_at:%Y-%m-%d %H:%M} UTC: "
            f"{fu.outcome_reason or 'no reason given'}."
        )
    escalations = [e for e in fu.events if e.action == Action.ESCALATE.value]
    for e in escalations:
        reason = (e.detail or {}).get("reason")
        lines.append(f"Escalated by {_who(fu, e.actor)}{': ' + reason if reason else ''}.")
    return "\n".join(lines)[:60_000]
