"""The follow-up card: who, why, the AI summary, what the draft is based on, the draft, and the buttons."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
    StaticSelectElement,
)

from blocks.format import clip, escape, line, person, plain, quote, slack_date
from blocks.ids import SNOOZE_LABELS, ActionId, BlockId
from bot.drafting.promises import commitments
from bot.drafting.signals import has_signal
from bot.snapshot import DraftView, FollowUpView
from bot.states import State
from bot.triggers.registry import label as rule_label

URGENCY_ICON = {
    "high": ":red_circle: High",
    "medium": ":large_orange_circle: Medium",
    "low": ":white_circle: Low",
}


def _title(fu: FollowUpView) -> str:
    """Plain text (a header), so nothing in it is markup; only clipped."""
    name = " ".join(plain(fu.contact_name).split())[:80]
    company = f" · {' '.join(plain(fu.company_name).split())[:60]}" if fu.company_name else ""
    return clip(f"{name}{company}", 130)


def card_text(fu: FollowUpView) -> str:
    """Notification fallback text: what a phone shows when the blocks cannot. It is mrkdwn too."""
    return f"Follow-up for {line(fu.contact_name, 100)}: {line(fu.reason, 300)} ({fu.state.value})"


def _who(actor: str | None) -> str:
    if actor in (None, "scan", "scheduler", "worker"):
        return "followup"
    return person(actor)


def status_line(fu: FollowUpView) -> str | None:
    edited = " · edited before sending" if fu.edited else ""
    if fu.state is State.SENT and fu.sent_at:
        if fu.last_error:
            logged = f":warning: {clip(escape(fu.last_error), 300)}"
        else:
            logged = "logged to CRM" if fu.crm_logged else "logging to CRM…"
        via = "on the HubSpot inbox thread" if fu.sent_via == "inbox" else "by email"
        when = slack_date(fu.sent_at, fu.viewer_tz)
        who = (
            f"Sent automatically ({fu.auto_confidence:.0%} sure, no flags)"
            if fu.auto_confidence is not None
            else f"Sent by {person(fu.sent_by)}"
        )
        return f":white_check_mark: {who} {when} {via} · {logged}{edited}"
    if fu.state is State.UNKNOWN:
        return f":grey_question: *Maybe sent.* {clip(escape(fu.last_error or ''), 700)}"
    if fu.state is State.RESOLVED:
        why = clip(escape(fu.outcome_reason or "no longer needed"), 500)
        return f":heavy_check_mark: No longer needed — {why} (seen by {_who(fu.outcome_by)})"
    if fu.state is State.DISMISSED:
        why = clip(escape(fu.outcome_reason or "dismissed"), 500)
        return f":wastebasket: Dismissed by {_who(fu.outcome_by)}: {why}"
    if fu.state is State.QUEUED:
        return ":hourglass: Up next: waits for room in the owner's daily card budget"
    if fu.state is State.SCHEDULED and fu.due_at:
        return f":calendar: Comes due {slack_date(fu.due_at, fu.viewer_tz)}"
    if fu.state is State.SENDING and fu.send_at:
        when = f"{their_time(fu.send_at, fu.recipient_tz)} ({slack_date(fu.send_at, fu.viewer_tz)} yours)"
        return f":clock3: Scheduled: {when} · {_approved(fu)}"
    if fu.state is State.SENDING:
        return f":hourglass_flowing_sand: Sending… · {_approved(fu)}"
    if fu.state is State.SNOOZED and fu.snoozed_until:
        return f":zzz: Snoozed until {slack_date(fu.snoozed_until, fu.viewer_tz)}"
    if fu.state is State.FAILED:
        return f":x: Sending failed: {clip(escape(fu.last_error or 'unknown error'), 400)}"
    if fu.state is State.ESCALATED:
        why = f": “{clip(escape(fu.escalation_reason), 300)}”" if fu.escalation_reason else ""
        return f":rotating_light: Escalated to {person(fu.escalated_to)} by {person(fu.escalated_by)}{why}"
    return None


def _approved(fu: FollowUpView) -> str:
    if fu.auto_confidence is not None:
        return f"sent automatically ({fu.auto_confidence:.0%} sure, no flags)"
    return f"approved by {_who(fu.approved_by)}"


def their_time(at: datetime, zone_name: str | None) -> str:
    """'Mon 30 Nov 09:12 their time': the recipient's clock (the zone the send window was chosen in)."""
    try:
        zone = ZoneInfo(zone_name) if zone_name else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    local = at.astimezone(zone) if zone else at
    return f"{local:%a} {local.day} {local:%b %H:%M} their time"


def sequence_line(fu: FollowUpView) -> str | None:
    """Where the sequence of a sent touch stands."""
    seq = fu.sequence
    if seq is None:
        return None
    if seq.state == "completed":
        return f":checkered_flag: Sequence completed: no reply after {seq.touches} touches"
    if seq.state == "stopped":
        return f":octagonal_sign: Sequence stopped: {clip(escape(seq.outcome or 'ended'), 400)}"
    if seq.touch != fu.touch:
        return None
    away = f" (away until {slack_date(seq.hold_until, fu.viewer_tz)})" if seq.hold_until else ""
    if seq.next_touch_at is not None:
        due = slack_date(seq.next_touch_at, fu.viewer_tz)
        return f":repeat: Touch {seq.touch + 1} of {seq.touches} comes due {due}{away}"
    if seq.completes_at is not None:
        done = slack_date(seq.completes_at, fu.viewer_tz)
        return f":repeat: Break-up sent: the sequence completes {done} unless they reply{away}"
    return None


def _classified(d: DraftView) -> str:
    label = line(d.classification.replace("_", " "), 80)
    if isinstance(d.confidence, int | float) and 0 <= d.confidence <= 1:
        return f"{label} ({d.confidence:.0%} sure)"
    return label


def _source(s: dict) -> str:
    """ "Call: Pricing call, 12 Mar": what the draft rests on and when, for the rep to check."""
    what = line(s.get("label") or s.get("kind", ""), 70)
    try:
        when = datetime.fromisoformat(str(s.get("occurred_at")))
    except ValueError:
        return what
    return f"{what}, {when.day} {when:%b}"


def _type(fu: FollowUpView) -> str:
    kind = line(rule_label(fu.rule), 100)
    return f"{kind} · *{fu.touch_label}*" if fu.touch_label else kind


def _details(fu: FollowUpView) -> list[Block]:
    d = fu.draft
    blocks: list[Block] = [
        SectionBlock(
            fields=[
                MarkdownTextObject(text=f"*Why*\n{clip(escape(fu.reason), 500)}"),
                MarkdownTextObject(text=f"*Urgency*\n{URGENCY_ICON.get(d.urgency, line(d.urgency, 20))}"),
                MarkdownTextObject(text=f"*Type*\n{_type(fu)}"),
                MarkdownTextObject(text=f"*Classified as*\n{_classified(d)}"),
                MarkdownTextObject(text=f"*Owner*\n{person(fu.owner_slack_id, fu.owner_name)}"),
                MarkdownTextObject(text=f"*Contact*\n{line(fu.contact_email, 320)}"),
            ]
        ),
        SectionBlock(text=MarkdownTextObject(text=f"*AI summary*\n{clip(escape(d.summary), 2800)}")),
    ]
    if d.sources:
        used = " · ".join(_source(s) for s in d.sources[:5])
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(f"*Based on:* {used}", 2900))]))
    if d.missing_information:
        missing = ", ".join(line(m, 100) for m in d.missing_information[:10])
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(f"*Missing:* {missing}", 2900))]))
    if d.review_flags:
        flags = "\n".join(f"• {line(f, 300)}" for f in d.review_flags[:8])
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text=clip(f":warning: *A person decides:*\n{flags}", 2900)))
        )
    label = "Draft (edited)" if fu.edited else "Draft"
    body = quote(highlighted(d.body))
    blocks += [
        DividerBlock(),
        SectionBlock(
            text=MarkdownTextObject(
                text=clip(
                    f"*{label}* — to {line(fu.contact_email, 320)}\n"
                    f"*Subject:* {line(d.subject, 250)}\n{body}",
                    3000,
                )
            )
        ),
    ]
    return blocks


def highlighted(text: str) -> str:
    """The draft, escaped, with each commitment a person must own in bold (spans from the checker)."""
    out, at = [], 0
    for hit in commitments(text):
        if "\n" in hit.text or "*" in hit.text:
            continue
        out += [escape(text[at : hit.start]), f"*{escape(hit.text.strip())}*"]
        if hit.text != hit.text.rstrip():
            out.append(" ")
        at = hit.end
    out.append(escape(text[at:]))
    return "".join(out)


def _dismiss(value: str) -> ButtonElement:
    return ButtonElement(text="Dismiss", action_id=ActionId.CARD_DISMISS, value=value)


def _row(value: str, *elements: ButtonElement | StaticSelectElement) -> list[Block]:
    """The card's buttons, History last: every card, open or ended, shows how it got where it is."""
    history = ButtonElement(text="History", action_id=ActionId.CARD_HISTORY, value=value)
    return [ActionsBlock(block_id=BlockId.CARD_ACTIONS, elements=[*elements, history])]


def card_actions(fu: FollowUpView) -> list[ActionsBlock]:
    """The card's button row as the card shows it (App Home gives each follow-up's row a block id of its
    own)."""
    return [b for b in _actions(fu) if isinstance(b, ActionsBlock)]


def _actions(fu: FollowUpView) -> list[Block]:
    value = str(fu.id)
    if fu.state is State.FAILED:
        return _row(
            value,
            ButtonElement(text="Retry", action_id=ActionId.CARD_RETRY, value=value, style="primary"),
            _dismiss(value),
        )
    if fu.state is State.UNKNOWN:
        resend = ButtonElement(
            text="Send again",
            action_id=ActionId.CARD_RESEND,
            value=value,
            style="danger",
            confirm=ConfirmObject(
                title="Send a second copy?",
                text=clip(
                    f"The first one may already be in {line(fu.contact_email, 100)}'s inbox. "
                    "Send again only if you checked that it did not go out.",
                    300,
                ),
                confirm="Send again",
                deny="Cancel",
            ),
        )
        mark = ButtonElement(text="It was sent", action_id=ActionId.CARD_MARK_SENT, value=value)
        return _row(value, mark, resend, _dismiss(value))
    if fu.state is State.SENDING and fu.send_at:
        return _row(
            value, ButtonElement(text="Cancel send", action_id=ActionId.CARD_CANCEL_SEND, value=value)
        )
    if fu.state is State.SENT and fu.last_error and not fu.crm_logged:
        return _row(
            value, ButtonElement(text="Retry CRM log", action_id=ActionId.CARD_RETRY_LOG, value=value)
        )
    if fu.state not in (State.PENDING, State.ESCALATED):
        return _row(value)
    hits = commitments(f"{fu.draft.subject}\n{fu.draft.body}")
    owns = ""
    if hits:  # approving a flagged draft says what the rep is committing to
        listed = "; ".join(f"{h.what} “{line(h.text, 40)}”" for h in hits[:4])
        owns = f" You are committing to: {listed}."
    approve = ButtonElement(
        text="Approve & send",
        action_id=ActionId.CARD_APPROVE,
        value=value,
        style="primary",
        confirm=ConfirmObject(
            title="Send with commitments?" if hits else "Send this email?",
            text=clip(
                f"It goes to {line(fu.contact_email, 100)} from {line(fu.owner_name or 'the owner', 80)} "
                f"now, or when their working hours begin.{owns}",
                300,
            ),
            confirm="Send",
            deny="Cancel",
        ),
    )
    snooze = StaticSelectElement(
        placeholder="Snooze…",
        action_id=ActionId.CARD_SNOOZE,
        options=[
            Option(text=label, value=f"{value}:{choice.value}") for choice, label in SNOOZE_LABELS.items()
        ],
    )
    elements: list[ButtonElement | StaticSelectElement] = [
        approve,
        ButtonElement(text="Edit", action_id=ActionId.CARD_EDIT, value=value),
        snooze,
    ]
    if fu.state is State.PENDING:
        if has_signal(fu.draft.review_flags):  # someone else should see it first: Escalate leads
            approve.style = None
            escalate = ButtonElement(
                text="Escalate", action_id=ActionId.CARD_ESCALATE, value=value, style="primary"
            )
            elements.insert(0, escalate)
        else:
            elements.append(ButtonElement(text="Escalate", action_id=ActionId.CARD_ESCALATE, value=value))
    elements.append(_dismiss(value))
    return _row(value, *elements)


def card_blocks(fu: FollowUpView, *, escalation: bool = False, alert: bool = False) -> list[Block]:
    """The card as posted to the owner (or, with escalation=True, to whom it was escalated; with alert=True,
    as the hot-lead alert in the hot-leads channel, which @-mentions the owner and says when it arrived)."""
    if alert:
        title = f":fire: Hot lead: {_title(fu)}"
    else:
        title = f"Escalated: {_title(fu)}" if escalation else f"Follow up: {_title(fu)}"
    blocks: list[Block] = [HeaderBlock(text=clip(title, 150))]
    status = status_line(fu)
    if alert:
        arrived = f" It arrived {slack_date(fu.arrived_at, fu.viewer_tz)}." if fu.arrived_at else ""
        owner = person(fu.owner_slack_id, fu.owner_name or "Nobody yet")
        due = f"Answer by {slack_date(fu.answer_by, fu.viewer_tz)}: the" if fu.answer_by else "The"
        clock = f"{owner}, this one is yours.{arrived} {due} clock runs until someone acts on the card."
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clock)))
    if escalation and fu.original_card and fu.original_card.permalink:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"{person(fu.owner_slack_id, fu.owner_name)}'s follow-up needs you."
                ),
                accessory=ButtonElement(
                    text="Open original",
                    action_id=ActionId.CARD_OPEN_ORIGINAL,
                    url=fu.original_card.permalink,
                ),
            )
        )
    if fu.state in (State.SNOOZED, State.RESOLVED, State.DISMISSED):
        # collapsed: a snoozed card comes back as a fresh message; an ended one says why and who
        return [
            *blocks,
            ContextBlock(elements=[MarkdownTextObject(text=clip(status or fu.state.value, 2900))]),
            *_row(str(fu.id)),
        ]
    blocks += _details(fu)
    if status:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=status)]))
    if fu.heard_back:
        back = f":leftwards_arrow_with_hook: {line(fu.heard_back, 400)}"
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=back)]))
    where = sequence_line(fu)
    if where:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=where)]))
    blocks += _actions(fu)
    return blocks


def to_dicts(blocks: list[Block]) -> list[dict]:
    return [b.to_dict() for b in blocks]
