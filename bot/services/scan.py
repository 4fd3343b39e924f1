"""The trigger scan: detect, assemble context, draft, store, then post a card for each new follow-up."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select

from bot.drafting import draft_with_fallback
from bot.errors import FollowupError
from bot.models import AuditEvent, Draft, FollowUp
from bot.records import LeadContext
from bot.services import cards
from bot.services.deps import Deps
from bot.states import Action, State
from bot.triggers import Trigger, run_rules

log = logging.getLogger(__name__)


@dataclass
class ScanResult:
    created: list[int] = field(default_factory=list)
    already_known: int = 0
    posted: int = 0
    post_failures: list[str] = field(default_factory=list)
    draft_failures: list[str] = field(default_factory=list)  # left for the next scan to try again


def assemble_context(deps: Deps, trigger: Trigger) -> LeadContext:
    crm = deps.crm
    contact = crm.get_contact(trigger.contact_id)
    if contact is None:
        raise FollowupError(f"CRM contact {trigger.contact_id} was not found")
    deal = crm.get_deal(trigger.deal_id) if trigger.deal_id else None
    company_id = contact.company_id or (deal.company_id if deal else None)
    owner_id = (deal.owner_id if deal else None) or contact.owner_id
    return LeadContext(
        rule=trigger.rule,
        reason=trigger.reason,
        as_of=trigger.triggered_at,
        contact=contact,
        company=crm.get_company(company_id) if company_id else None,
        deal=deal,
        owner=crm.get_owner(owner_id) if owner_id else None,
        engagements=crm.engagements_for(contact_id=contact.id, deal_id=trigger.deal_id, limit=10),
    )


def _store(deps: Deps, trigger: Trigger, ctx: LeadContext) -> int | None:
    """Draft and store one follow-up; None if another scan stored it first."""
    output, used = draft_with_fallback(deps.drafter, deps.fallback_drafter, ctx)
    owner_email = ctx.owner.email if ctx.owner else None
    owner_slack = cards.resolve_owner(deps, owner_email)
    now = deps.clock.now()
    with deps.db.session() as s:
        if s.scalar(select(FollowUp.id).where(FollowUp.dedupe_key == trigger.dedupe_key)):
            return None
        fu = FollowUp(
            dedupe_key=trigger.dedupe_key,
            rule=trigger.rule,
            reason=trigger.reason,
            contact_id=ctx.contact.id,
            contact_email=ctx.contact.email,
            contact_name=ctx.contact.name,
            company_name=ctx.company.name if ctx.company else None,
            deal_id=ctx.deal.id if ctx.deal else None,
            owner_crm_id=ctx.owner.id if ctx.owner else None,
            owner_email=owner_email,
            owner_name=ctx.owner.name if ctx.owner else None,
            owner_slack_id=owner_slack,
            state=State.PENDING.value,
            version=0,
            triggered_at=trigger.triggered_at,
            created_at=now,
            updated_at=now,
        )
        s.add(fu)
        s.flush()
        s.add(
            Draft(
                followup_id=fu.id,
                origin="ai",
                author=used.name,
                model=used.model,
                prompt_version=used.prompt_version,
                created_at=now,
                **output.model_dump(mode="json"),
            )
        )
        s.add(
            AuditEvent(
                followup_id=fu.id,
                at=now,
                actor=f"drafter:{used.name}",
                action=Action.CREATE.value,
                from_state=None,
                to_state=State.PENDING.value,
                detail={"trigger": trigger.dedupe_key, "owner_slack_id": owner_slack},
            )
        )
        return fu.id


def scan(deps: Deps, *, post: bool = True) -> ScanResult:
    """Run every enabled rule once. Stores first, then posts; a failed post is retried next scan."""
    result = ScanResult()
    triggers = run_rules(deps.crm, deps.config, deps.calendar, deps.clock.now())
    with deps.db.session() as s:
        known = set(
            s.scalars(
                select(FollowUp.dedupe_key).where(FollowUp.dedupe_key.in_([t.dedupe_key for t in triggers]))
            )
        )
    for trigger in triggers:
        if trigger.dedupe_key in known:
            result.already_known += 1
            continue
        try:
            fid = _store(deps, trigger, assemble_context(deps, trigger))
        except Exception as exc:  # one bad record must not stop the rest of the scan
            log.exception("could not prepare %s", trigger.dedupe_key)
            result.draft_failures.append(f"{trigger.dedupe_key}: {exc}")
            continue
        if fid is None:
            result.already_known += 1
        else:
            result.created.append(fid)
    if post:
        post_unposted(deps, result)
    return result


def post_unposted(deps: Deps, result: ScanResult | None = None) -> None:
    result = result or ScanResult()
    with deps.db.session() as s:
        ids = cards.unposted(s)
    for fid in ids:
        fu = cards.view(deps, fid)
        channel = cards.owner_destination(deps, fu)
        if channel is None:
            result.post_failures.append(
                f"#{fid}: no Slack user for {fu.owner_name or 'the owner'} and no review channel configured"
            )
            continue
        try:
            cards.post(deps, fid, channel=channel)
            result.posted += 1
        except Exception as exc:  # Slack down or a bad channel: stored, retried next scan
            log.exception("posting follow-up %s failed", fid)
            result.post_failures.append(f"#{fid}: {exc}")
