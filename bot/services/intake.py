"""New leads: stored the moment they arrive, then worked by the queue — deduplicated, matched to the CRM (or
added to it), given an owner, classified and scored by the pipeline, and routed:

- hot (the mean of fit, intent and urgency reaches `[inbound] hot_score`, or an enterprise-size company or
  team) → the
  owner's card, plus an alert in `[inbound] hot_channel` that @-mentions the owner and carries the clock;
- an existing customer's support request → `[inbound] support_channel`;
- `not_enough_information` → the review channel, with what is missing listed (never guessed);
- spam, vendor pitches, recruiting → recorded with the reason, no card, no alert;
- anything else → the owner's card, like any follow-up.

A hot lead nobody acts on within `[inbound] sla_business_hours` reminds the owner; at twice that it escalates
to `[routing] team_lead` (or the hot channel)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from blocks.format import line, person
from bot.addresses import company_domain
from bot.drafting import draft_with_fallback
from bot.models import FollowUp, InboundLead, Watermark
from bot.records import (
    SYNTHETIC_SUBJECT,
    Company,
    Contact,
    Deal,
    Engagement,
    EngagementType,
    LeadContext,
    Owner,
    one_line,
)
from bot.services import budget, cards, lifecycle, scan
from bot.services.deps import Deps
from bot.states import State
from bot.triggers.base import Trigger
from bot.work.queue import Job, Kind, enqueue

log = logging.getLogger(__name__)

RULE = "inbound_no_response"  # an intake lead is an inbound inquiry: that rule's sequence and checks apply
FILTERED = {"spam", "vendor_pitch", "recruiting"}
MAX_TEXT = 50_000  # characters kept of an inbound's text (the card shows a clipped part)


@dataclass(frozen=True)
class Arrival:
    """One inbound as received, before anything is decided about it."""

    source: str
    external_id: str | None
    email: str
    text: str
    name: str = ""
    company: str = ""
    subject: str = ""
    origin: str = ""  # what the sender calls it ("pricing form", "partner intro")


def accept(deps: Deps, arrival: Arrival) -> tuple[int, bool]:
    """Store the inbound and queue its processing in one transaction: (its id, whether it is new). A
    redelivery with the same source and id is the same lead (not stored or processed twice)."""
    now = deps.clock.now()
    try:
        with deps.db.session() as s:
            if arrival.external_id:
                known = _known(s, arrival)
                if known is not None:
                    return known, False
            lead = InboundLead(
                source=arrival.source[:40],
                origin=one_line(arrival.origin, 100),
                external_id=arrival.external_id[:200] if arrival.external_id else None,
                email=arrival.email.strip().lower()[:320],
                name=one_line(arrival.name, 200),
                company=one_line(arrival.company, 200),
                subject=one_line(arrival.subject, 300),
                text=arrival.text[:MAX_TEXT],
                received_at=now,
                state="received",
                created_at=now,
                updated_at=now,
            )
            s.add(lead)
            s.flush()
            enqueue(s, Kind.INBOUND, followup_id=None, now=now, payload={"lead": lead.id})
            return lead.id, True
    except IntegrityError:  # the same delivery stored a moment ago by another request
        with deps.db.session() as s:
            known = _known(s, arrival)
            if known is None:
                raise
            return known, False


def accept_events(deps: Deps, events: list[tuple[str, str]]) -> int:
    """A HubSpot delivery's lead events, as (event id, contact id), stored with their work in one
    transaction; an event id seen before is skipped. Returns how many are new."""
    if not events:
        return 0
    for attempt in range(2):
        try:
            with deps.db.session() as s:
                return _store_events(s, [(e, c, None) for e, c in events], "webhook", deps.clock.now())
        except IntegrityError:  # the same delivery being stored by another request: read again
            if attempt:
                raise
    return 0


def _store_events(s: Session, events: list[tuple[str, str, str | None]], origin: str, now: datetime) -> int:
    """Leads HubSpot told us about, as (event id, contact id, the form fill's moment when known), each with
    its work item; skipped when its event id was stored before or another lead holds its moment."""
    ids = [event_id[:200] for event_id, _, _ in events]
    seen = set(
        s.scalars(
            select(InboundLead.external_id).where(
                InboundLead.source == "hubspot", InboundLead.external_id.in_(ids)
            )
        )
    )
    wanted = [m for _, _, m in events if m]
    held = set(
        s.scalars(
            select(InboundLead.moment).where(InboundLead.source == "hubspot", InboundLead.moment.in_(wanted))
        )
        if wanted
        else []
    )
    new = 0
    for event_id, contact_id, moment in events:
        if event_id[:200] in seen or (moment and moment in held) or not contact_id:
            continue
        seen.add(event_id[:200])
        lead = InboundLead(
            source="hubspot", origin=origin, external_id=event_id[:200], email="", name="", company="",
            subject="", text="", contact_id=contact_id[:64], received_at=now, state="received",
            created_at=now, updated_at=now,
        )  # fmt: skip
        s.add(lead)
        s.flush()
        enqueue(s, Kind.INBOUND, followup_id=None, now=now, payload={"lead": lead.id})
        new += 1
    return new


def _known(s: Session, arrival: Arrival) -> int | None:
    return s.scalar(
        select(InboundLead.id).where(
            InboundLead.source == arrival.source[:40],
            InboundLead.external_id == (arrival.external_id or "")[:200],
        )
    )


# --- processing (a work item) ------------------------------------------------------------------------
def process_job(deps: Deps, job: Job) -> None:
    lead_id = int(job.payload["lead"])
    with deps.db.session() as s:
        lead = s.get(InboundLead, lead_id)
        if lead is None or lead.state != "received":
            return  # done by an earlier attempt
        pending_hubspot = lead.contact_id if lead.source == "hubspot" and not lead.email else None
    if pending_hubspot is not None and not _fill_from_hubspot(deps, lead_id, pending_hubspot):
        return
    with deps.db.session() as s:
        lead = s.get(InboundLead, lead_id)
        assert lead is not None
        earlier = _same_person_recently(s, deps, lead)
        if earlier is not None:
            minutes = max(1, int((lead.received_at - earlier.received_at).total_seconds() // 60))
            _finish(lead, deps, state="duplicate", duplicate_of=earlier.id,
                    reason=f"The same address sent lead #{earlier.id} {minutes} min earlier")  # fmt: skip
            return
        arrival = Arrival(
            lead.source,
            lead.external_id,
            lead.email,
            lead.text,
            lead.name,
            lead.company,
            lead.subject,
            lead.origin,
        )
        received_at, moment = lead.received_at, lead.moment
    known, company = _look_up(deps, arrival)
    deal = _open_deal(deps, known, company)
    # classified before anything is written: spam and pitches never become CRM contacts
    provisional = known or Contact(
        id="", email=arrival.email, first_name=_names(arrival)[0], last_name=_names(arrival)[1]
    )
    owner = deps.crm.get_owner(known.owner_id) if known and known.owner_id else None
    ctx = _context(deps, lead_id, arrival, received_at, provisional, company, owner, deal, moment)
    drafted = draft_with_fallback(deps.drafter, deps.fallback_drafter, ctx)
    output = drafted[0]
    analysis = output.analysis or {}
    label = str(analysis.get("label") or output.classification)
    score = _score(analysis)
    route, reason = _route(deps, label, score, analysis, company)
    fu = None
    contact = known
    if route in ("hot", "normal", "review"):
        contact = known or _create(deps, arrival, company)
        owner = owner or _route_owner(deps, contact, company, arrival, deal)
        ctx = ctx.model_copy(update={"contact": contact, "owner": owner})
        trigger = Trigger(
            rule=RULE,
            dedupe_key=_key(lead_id, moment),
            contact_id=contact.id,
            deal_id=deal.id if deal else None,  # its emails are logged on the deal too
            reason=one_line(f"New lead from {_via(arrival)}: {reason}{_on(deps, deal)}", 1000),
            triggered_at=deps.clock.now(),
            since=received_at,
        )
        left = budget.room(deps, owner.id if owner else None)
        show = route == "hot" or left is None or left > 0
        fu = scan._store(deps, trigger, ctx, drafted, show_now=show)
    now = deps.clock.now()
    with deps.db.session() as s:
        lead = s.get(InboundLead, lead_id)
        assert lead is not None
        if fu is None and route in ("hot", "normal", "review"):
            fu = s.scalar(select(FollowUp).where(FollowUp.dedupe_key == _key(lead_id, moment)))
        lead.contact_id, lead.owner_crm_id = (contact.id if contact else None), (owner.id if owner else None)
        lead.owner_slack_id = (
            fu.owner_slack_id if fu else cards.resolve_owner(deps, owner.email if owner else None)
        )
        lead.classification, lead.score, lead.route = label, score, route
        lead.followup_id = fu.id if fu else None
        _announce(s, deps, lead, route, now)
        _finish(lead, deps, state="done", reason=reason)
    log.info("inbound lead routed", extra={"followup_id": fu.id if fu else None, "route": route})


def _key(lead_id: int, moment: str | None) -> str:
    """The follow-up's dedupe key: for a HubSpot form fill the very key the inbound rule would give it (so a
    later scan knows it), else the lead's own."""
    return f"{RULE}:{moment}" if moment and moment.startswith("form-") else f"inbound:{lead_id}"


def _fill_from_hubspot(deps: Deps, lead_id: int, contact_id: str) -> bool:
    """A lead HubSpot told us about (webhook or poll) by contact id: read the contact and its latest form
    fill. False when there is nothing more to do with it (gone, no address, or the same moment already
    being handled)."""
    contact = deps.crm.get_contact(contact_id)
    forms = (
        [
            e
            for e in deps.crm.engagements_for(contact_id=contact_id, limit=10)
            if e.type is EngagementType.FORM and e.is_inbound
        ]
        if contact is not None
        else []
    )
    form = max(forms, key=lambda e: e.occurred_at, default=None)
    with deps.db.session() as s:
        lead = s.get(InboundLead, lead_id)
        assert lead is not None
        if contact is None or not contact.email:
            _finish(lead, deps, state="done", reason=f"HubSpot contact {contact_id} is gone or has no email")
            lead.route = "filtered"
            return False
        lead.email, lead.name = contact.email.strip().lower()[:320], one_line(contact.name, 200)
        lead.subject = one_line(form.subject if form else "New contact in HubSpot", 300)
        source = f" (source: {contact.lead_source})" if contact.lead_source else ""
        lead.text = (form.body if form and form.body else f"A new contact was created in HubSpot{source}.")[
            :MAX_TEXT
        ]
        moment = form.id if form else f"contact-{contact_id}"
        held = s.scalar(
            select(InboundLead.id).where(
                InboundLead.source == "hubspot", InboundLead.moment == moment, InboundLead.id != lead_id
            )
        )
        if held is None:
            try:
                with s.begin_nested():
                    lead.moment = moment
                    s.flush()
                return True
            except IntegrityError:  # another worker took the same moment this instant
                held = s.scalar(
                    select(InboundLead.id).where(
                        InboundLead.source == "hubspot", InboundLead.moment == moment
                    )
                )
        _finish(lead, deps, state="duplicate", duplicate_of=held, reason=f"HubSpot reported {moment} twice")
        return False


def poll_hubspot(deps: Deps) -> int:
    """For installs HubSpot's webhook can't reach: store every form fill since the watermark (a minute of
    overlap; the shared moment makes a second sighting a duplicate), and move the watermark in the same
    transaction as the leads, so nothing is missed between polls or across restarts. Returns how many new."""
    now = deps.clock.now()
    with deps.db.session() as s:
        mark = s.get(Watermark, "hubspot-intake")
        # a first poll looks back an hour (older form fills are the scan's inbound rule's business)
        since = (mark.at - timedelta(minutes=1)) if mark else now - timedelta(hours=1)
    fills = deps.crm.form_fills_since(since)
    with deps.db.session() as s:
        new = _store_events(s, [(f"form:{e.id}", e.contact_id or "", e.id) for e in fills], "poll", now)
        latest = max((e.occurred_at for e in fills), default=None)
        if mark := s.get(Watermark, "hubspot-intake"):
            mark.at, mark.updated_at = max(mark.at, latest or mark.at), now
        else:
            s.add(Watermark(name="hubspot-intake", at=latest or since, updated_at=now))
    return new


def _finish(
    lead: InboundLead, deps: Deps, *, state: str, reason: str, duplicate_of: int | None = None
) -> None:
    lead.state, lead.reason, lead.updated_at = state, reason[:2000], deps.clock.now()
    if duplicate_of is not None:
        lead.duplicate_of = duplicate_of


def _same_person_recently(s: Session, deps: Deps, lead: InboundLead) -> InboundLead | None:
    window = deps.config.inbound.dedupe_minutes
    if not window:
        return None
    return s.scalar(
        select(InboundLead)
        .where(
            InboundLead.email == lead.email,
            InboundLead.id < lead.id,
            InboundLead.state != "duplicate",
            InboundLead.received_at >= lead.received_at - timedelta(minutes=window),
        )
        .order_by(InboundLead.id)
    )


def _via(arrival: Arrival) -> str:
    where = {"inbound": "the website", "hubspot": "HubSpot", "slack": "Slack"}.get(
        arrival.source, arrival.source
    )
    return f"{where} ({arrival.origin})" if arrival.origin else where


def _names(arrival: Arrival) -> tuple[str, str]:
    parts = arrival.name.split()
    if not parts:
        return arrival.email.split("@")[0][:100], ""
    return parts[0], " ".join(parts[1:])


def _look_up(deps: Deps, arrival: Arrival) -> tuple[Contact | None, Company | None]:
    """The CRM contact with this address (else one of the same name at the company of the address's web
    domain), and their company: theirs, else the one with that domain (a free-mail domain is not a
    company). Reads only."""
    crm = deps.crm
    contact = crm.find_contact(arrival.email)
    company = crm.get_company(contact.company_id) if contact is not None and contact.company_id else None
    domain = company_domain(arrival.email)
    if company is None and domain:
        company = crm.find_company(domain)
    first, last = _names(arrival)
    if contact is None and company is not None and first and last:
        # the same person at the same company, writing from another address of theirs
        contact = crm.find_contact_by_name(first, last, company.id)
    return contact, company


def _on(deps: Deps, deal: Deal | None) -> str:
    if deal is None:
        return ""
    stage = next((st.label for st in deps.crm.stages() or [] if st.id == deal.stage), deal.stage)
    amount = f", {deal.amount:,.0f}" if deal.amount else ""
    return f" · part of open deal “{deal.name}” ({stage}{amount})"


def _open_deal(deps: Deps, contact: Contact | None, company: Company | None) -> Deal | None:
    """The open deal the lead belongs to: the contact's own, else their company's; the one that moved last."""
    if contact is None and company is None:
        return None
    closed = set(lifecycle.pipeline(deps).closed)
    deals = [
        d
        for d in deps.crm.deals_for(
            contact_id=contact.id if contact else None, company_id=company.id if company else None
        )
        if d.stage not in closed
    ]
    mine = [d for d in deals if contact is not None and d.contact_id == contact.id]
    return max(mine or deals, key=lambda d: d.stage_changed_at, default=None)


def _create(deps: Deps, arrival: Arrival, company: Company | None) -> Contact:
    """A new CRM contact for a lead worth a card (with its company when one was found)."""
    first, last = _names(arrival)
    new_id = deps.crm.create_contact(
        email=arrival.email,
        first_name=first,
        last_name=last,
        company_id=company.id if company else None,
        source=_via(arrival),
    )
    return deps.crm.get_contact(new_id) or Contact(
        id=new_id,
        email=arrival.email,
        first_name=first,
        last_name=last,
        company_id=company.id if company else None,
    )


def _route_owner(
    deps: Deps, contact: Contact, company: Company | None, arrival: Arrival, deal: Deal | None
) -> Owner | None:
    """For a contact with no owner: the owner of the open deal they belong to, else the first routing rule
    that matches (territory by email domain, segment by company size), round-robin among its owners who are
    not away; else the default owners. The owner chosen is written to the CRM."""
    crm = deps.crm
    if contact.owner_id:
        return crm.get_owner(contact.owner_id)
    if deal is not None and deal.owner_id and (dealer := crm.get_owner(deal.owner_id)):
        crm.set_owner(contact.id, dealer.id)
        return dealer
    routing = deps.config.routing
    domain = arrival.email.rpartition("@")[2].lower()
    size = company.employees if company else None
    pool = routing.default_owners
    for rule in routing.rules:
        if rule.domain_suffixes and not any(domain.endswith(sfx) for sfx in rule.domain_suffixes):
            continue
        if rule.min_employees is not None and (size is None or size < rule.min_employees):
            continue
        if rule.max_employees is not None and (size is None or size > rule.max_employees):
            continue
        pool = rule.owners
        break
    by_email = {o.email.lower(): o for o in crm.owners().values()}
    present = [e for e in pool if e in by_email and not _away(deps, e)]
    if not present:
        return None
    turn = _given(deps, [by_email[e].id for e in pool if e in by_email])
    chosen = by_email[present[turn % len(present)]]
    crm.set_owner(contact.id, chosen.id)
    return chosen


def _given(deps: Deps, owner_ids: list[str]) -> int:
    """Round-robin turn: how many leads the pool's owners were given before (counted in the database, so
    every replica and every restart continues the same rotation)."""
    with deps.db.session() as s:
        given = s.scalar(
            select(func.count()).where(InboundLead.owner_crm_id.in_(owner_ids), InboundLead.state == "done")
        )
    return int(given or 0)


def _away(deps: Deps, email: str) -> bool:
    if email in deps.config.routing.away:
        return True
    if deps.chat is None:
        return False
    user = deps.chat.find_user_by_email(email)
    return bool(user and deps.chat.is_away(user))


def _context(
    deps: Deps,
    lead_id: int,
    arrival: Arrival,
    received_at: datetime,
    contact: Contact,
    company: Company | None,
    owner: Owner | None,
    deal: Deal | None,
    moment: str | None = None,
) -> LeadContext:
    """The lead's context: its own message first (as the inquiry it is), then the CRM's history."""
    inquiry = Engagement(
        id=f"inbound-{lead_id}",
        type=EngagementType.FORM,
        occurred_at=received_at,
        direction="inbound",
        subject=arrival.subject or f"{SYNTHETIC_SUBJECT}{_via(arrival)}",
        body=arrival.text,
        contact_id=contact.id,
    )
    history = (
        deps.crm.engagements_for(contact_id=contact.id, deal_id=deal.id if deal else None, limit=10)
        if contact.id
        else []
    )
    held = bool(moment) and any(e.id == moment for e in history)  # the CRM holds the form fill itself
    return LeadContext(
        rule=RULE,
        reason=f"New lead from {_via(arrival)}",
        as_of=deps.clock.now(),
        contact=contact,
        company=company,
        owner=owner,
        deal=deal,
        engagements=history if held else [inquiry, *history],
        workdays_ahead=deps.calendar.workdays_after(deps.clock.now()),
        zone=deps.calendar.zone.key,
    )


def _score(analysis: dict[str, Any]) -> int | None:
    """The lead's heat: the mean of the score step's fit, intent and urgency (0–100)."""
    scores = analysis.get("scores") or {}
    try:
        return round(sum(int(scores[k]["score"]) for k in ("fit", "intent", "urgency")) / 3)
    except (KeyError, TypeError, ValueError):
        return None


def _team_size(analysis: dict[str, Any]) -> int | None:
    found = re.search(r"\d[\d,.]*", str((analysis.get("extraction") or {}).get("team_size") or ""))
    if not found:
        return None
    try:
        return int(float(found.group().replace(",", "")))
    except ValueError:
        return None


def _route(
    deps: Deps, label: str, score: int | None, analysis: dict[str, Any], company: Company | None
) -> tuple[str, str]:
    cfg = deps.config.inbound
    why = line(str(analysis.get("reason") or ""), 300)
    if label in FILTERED:
        return "filtered", f"{label.replace('_', ' ')}: {why}"
    if label == "existing_customer":
        return "support", f"an existing customer's request: {why}"
    if label == "not_enough_information":
        return "review", "not enough information to act on: a person checks it"
    size = company.employees if company and company.employees else None
    team = _team_size(analysis)
    if score is not None and score >= cfg.hot_score:
        return "hot", f"hot lead (score {score} ≥ {cfg.hot_score})"
    if size is not None and size >= cfg.enterprise_employees:
        return "hot", f"hot lead (a company of {size:,} people)"
    if team is not None and team >= cfg.enterprise_employees:
        return "hot", f"hot lead (a team of {team:,})"
    return "normal", f"score {score}" if score is not None else "new lead"


def _announce(s: Session, deps: Deps, lead: InboundLead, route: str, now: datetime) -> None:
    cfg = deps.config.inbound
    if route == "hot" and lead.followup_id and cfg.hot_channel:
        enqueue(
            s,
            Kind.POST_CARD,
            followup_id=lead.followup_id,
            now=now,
            payload={"channel": cfg.hot_channel, "kind": "alert"},
        )
        lead.alerted_at = now
    elif route == "review" and lead.followup_id and deps.config.slack.review_channel:
        # the owner's card is queued with it; the review channel gets its own copy to check
        enqueue(
            s,
            Kind.POST_CARD,
            followup_id=lead.followup_id,
            now=now,
            payload={"channel": deps.config.slack.review_channel, "kind": "review"},
        )
    elif route == "support" and cfg.support_channel:
        who = f"{line(lead.name or lead.email, 100)} ({line(lead.email, 200)})"
        text = (
            f":sos: Support request from an existing customer, {who}:\n"
            f"*{line(lead.subject or 'No subject', 200)}*\n>{line(lead.text, 1500)}"
        )
        enqueue(
            s, Kind.NOTIFY, followup_id=None, now=now, payload={"user": cfg.support_channel, "text": text}
        )


# --- speed to lead: the clock on hot leads -----------------------------------------------------------
def check_sla(deps: Deps) -> list[int]:
    """Remind the owner of a hot lead nobody has acted on for `sla_business_hours`; at twice that, escalate
    to the team lead (or the hot channel). The clock stops at a person's first action on the card (recorded
    by the state machine as `first_action_at`) or when the follow-up closes by itself (a reply, a meeting)."""
    cfg, cal, now = deps.config.inbound, deps.calendar, deps.clock.now()
    sla = timedelta(hours=cfg.sla_business_hours)
    moved: list[int] = []
    with deps.db.session() as s:
        waiting = s.execute(
            select(InboundLead, FollowUp)
            .join(FollowUp, FollowUp.id == InboundLead.followup_id)
            .where(
                InboundLead.route == "hot",
                InboundLead.state == "done",
                InboundLead.first_action_at.is_(None),
                InboundLead.escalated_at.is_(None),
                FollowUp.state.in_([State.PENDING.value, State.QUEUED.value]),
            )
        ).all()
        for lead, fu in waiting:
            waited = cal.elapsed(lead.received_at, now)
            name = line(fu.contact_name, 80)
            if waited >= 2 * sla:
                target = deps.config.routing.team_lead or cfg.hot_channel
                owner = person(lead.owner_slack_id, "its owner")
                late = f"Hot lead *{name}* has waited {_hours(waited)} business hours"
                text = f":rotating_light: {late} and nobody has acted; {owner} has it. Can you make sure "
                _tell(s, fu.id, target, now, text + "someone answers now?")
                lead.escalated_at = now
                moved.append(lead.id)
            elif waited >= sla and lead.reminded_at is None:
                text = f":alarm_clock: Hot lead *{name}* has waited {_hours(waited)} business hour(s) "
                _tell(s, fu.id, lead.owner_slack_id, now, text + "for an answer. Its card is in your DMs.")
                lead.reminded_at = now
                moved.append(lead.id)
    return moved


def _tell(s: Session, followup_id: int, whom: str | None, now: datetime, text: str) -> None:
    if whom:
        enqueue(s, Kind.NOTIFY, followup_id=followup_id, now=now, payload={"user": whom, "text": text})


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f}".rstrip("0").rstrip(".")
