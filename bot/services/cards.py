"""Putting follow-ups in front of people: where a card goes, posting it, and keeping every copy current.

Both run as work items (bot/work), queued in the transaction that made them necessary."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from blocks.format import escape, person
from bot import telemetry
from bot.errors import ChatDestinationError
from bot.models import CardMessage, FollowUp, InboundLead
from bot.services.common import load
from bot.services.deps import Deps
from bot.snapshot import FollowUpView, snapshot
from bot.states import State
from bot.work.queue import Job

log = logging.getLogger(__name__)
UNSHOWN = frozenset({State.SCHEDULED, State.QUEUED, State.RESOLVED, State.DISMISSED})


def resolve_owner(deps: Deps, owner_email: str | None) -> str | None:
    """The owner's Slack id: from the config map first, then Slack's directory by email."""
    if not owner_email:
        return None
    mapped = deps.config.slack.users.get(owner_email.lower())
    if mapped:
        return mapped
    if deps.chat is None:
        return None
    return deps.chat.find_user_by_email(owner_email)


REFRESH_PASSES = 5


def view(deps: Deps, followup_id: int) -> FollowUpView:
    with deps.db.session() as s:
        fu = snapshot(load(s, followup_id))
        hot_since = s.scalar(
            select(InboundLead.received_at).where(
                InboundLead.followup_id == followup_id, InboundLead.route == "hot"
            )
        )
    fu = replace(fu, viewer_tz=deps.calendar.zone.key)
    if hot_since is None:
        return fu
    sla = timedelta(hours=deps.config.inbound.sla_business_hours)
    return replace(fu, answer_by=deps.calendar.after(hot_since, sla))


def owner_destination(deps: Deps, fu: FollowUpView) -> str | None:
    return fu.owner_slack_id or deps.config.slack.review_channel


def post_job(deps: Deps, job: Job) -> None:
    """Post the card a state change asked for; its place is remembered so every later change updates it."""
    if deps.chat is None:
        raise RuntimeError("no Slack connection (SLACK_BOT_TOKEN is not set)")
    assert job.followup_id is not None
    fu = view(deps, job.followup_id)
    if fu.state in UNSHOWN:
        return  # ended (or not due) before it was ever shown
    kind = job.payload.get("kind", "card")
    if fu.owner_slack_id is None and kind == "card" and not job.payload.get("channel"):
        fu = _look_up_owner(deps, fu)  # raises while Slack is down: the queue retries
    channel = job.payload.get("channel") or owner_destination(deps, fu)
    if channel is None:
        log.warning("no Slack user for the owner and no review channel", extra={"followup_id": fu.id})
        return
    try:
        posted = deps.chat.show(fu, channel, kind=kind)
        telemetry.CARDS.labels(kind).inc()
    except ChatDestinationError as exc:  # retrying can't help until someone invites the app
        log.warning("cannot post to %s: %s", channel, exc, extra={"followup_id": fu.id})
        who = job.payload.get("by") or fu.owner_slack_id
        if who:
            deps.chat.notify(
                who,
                f"Escalated, but the card could not be posted to {person(channel)} ({escape(str(exc))}). "
                "If that is a channel, invite the app to it; the follow-up stays in your /followup status.",
            )
        return
    with deps.db.session() as s:
        s.add(
            CardMessage(
                followup_id=fu.id,
                kind=kind,
                channel=posted.channel,
                ts=posted.ts,
                permalink=posted.permalink,
                created_at=deps.clock.now(),
            )
        )
    log.info("card posted (%s)", kind, extra={"followup_id": fu.id})
    # the state may have moved while Slack was answering: show the newest
    if view(deps, fu.id).version != fu.version:
        refresh_job(deps, job)


def _look_up_owner(deps: Deps, fu: FollowUpView) -> FollowUpView:
    with deps.db.session() as s:
        owner_email = load(s, fu.id).owner_email
    found = resolve_owner(deps, owner_email)
    if not found:
        return fu
    with deps.db.session() as s:
        s.execute(
            update(FollowUp)
            .where(FollowUp.id == fu.id, FollowUp.owner_slack_id.is_(None))
            .values(owner_slack_id=found)
            .execution_options(synchronize_session=False)
        )
    return view(deps, fu.id)


def notify_job(deps: Deps, job: Job) -> None:
    """A DM queued with the change that called for it (the text is escaped where it is written)."""
    if deps.chat is None:
        raise RuntimeError("no Slack connection (SLACK_BOT_TOKEN is not set)")
    deps.chat.notify(job.payload["user"], job.payload["text"])


def refresh_job(deps: Deps, job: Job) -> None:
    """Re-render every Slack message showing this follow-up until Slack shows the newest version.

    An update Slack made wait (a 429's Retry-After, a retried 5xx) can land after a newer one written by
    another worker; so after each pass the version it rendered is checked against the database, and a
    stale pass is done again. Raising makes the queue try again later."""
    if deps.chat is None:
        return
    assert job.followup_id is not None
    for _ in range(REFRESH_PASSES):
        fu = view(deps, job.followup_id)
        for card in fu.cards:
            deps.chat.refresh(fu, card)
        if view(deps, job.followup_id).version == fu.version:
            return
    raise RuntimeError("the follow-up kept changing while its cards were updated")


def posted_since(deps: Deps, at: datetime) -> int:
    with deps.db.session() as s:
        return s.scalar(select(func.count()).where(CardMessage.created_at >= at)) or 0
