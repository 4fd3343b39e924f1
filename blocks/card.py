"""The follow-up card: who, why, the AI summary, what the draft is based on, the draft, and the buttons."""

from __future__ import annotations

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

from blocks.format import clip, escape, person, quote, slack_date
from blocks.ids import SNOOZE_LABELS, ActionId, BlockId
from bot.snapshot import FollowUpView
from bot.states import State

URGENCY_ICON = {
    "high": ":red_circle: High",
    "medium": ":large_orange_circle: Medium",
    "low": ":white_circle: Low",
}
RULE_LABEL = {"inbound_no_response": "Inbound inquiry unanswered", "stale_deal": "Deal gone quiet"}


def _title(fu: FollowUpView) -> str:
    company = f" · {fu.company_name}" if fu.company_name else ""
    return clip(f"{fu.contact_name}{company}", 150)


def card_text(fu: FollowUpView) -> str:
    """Notification fallback text: what a phone shows when the blocks cannot."""
    return f"Follow-up for {fu.contact_name}: {fu.reason} ({fu.state.value})"


def status_line(fu: FollowUpView) -> str | None:
    edited = " · edited before sending" if fu.edited else ""
    if fu.state is State.SENT and fu.sent_at:
        logged = f":warning: {clip(escape(fu.last_error), 300)}" if fu.last_error else "logged to CRM"
        return f":white_check_mark: Sent by {person(fu.sent_by)} {slack_date(fu.sent_at)} · {logged}{edited}"
    if fu.state is State.SENDING:
        return ":hourglass_flowing_sand: Sending…"
    if fu.state is State.SNOOZED and fu.snoozed_until:
        return f":zzz: Snoozed until {slack_date(fu.snoozed_until)}"
    if fu.state is State.FAILED:
        return f":x: Sending failed: {clip(escape(fu.last_error or 'unknown error'), 400)}"
    if fu.state is State.ESCALATED:
        why = f": “{clip(escape(fu.escalation_reason), 300)}”" if fu.escalation_reason else ""
        return f":rotating_light: Escalated to {person(fu.escalated_to)} by {person(fu.escalated_by)}{why}"
    return None


def _details(fu: FollowUpView) -> list[Block]:
    d = fu.draft
    blocks: list[Block] = [
        SectionBlock(
            fields=[
                MarkdownTextObject(text=f"*Why*\n{clip(escape(fu.reason), 500)}"),
                MarkdownTextObject(text=f"*Urgency*\n{URGENCY_ICON.get(d.urgency, d.urgency)}"),
                MarkdownTextObject(text=f"*Type*\n{escape(RULE_LABEL.get(fu.rule, fu.rule))}"),
                MarkdownTextObject(text=f"*Classified as*\n{escape(d.classification)}"),
                MarkdownTextObject(text=f"*Owner*\n{person(fu.owner_slack_id, fu.owner_name)}"),
                MarkdownTextObject(text=f"*Contact*\n{escape(fu.contact_email)}"),
            ]
        ),
        SectionBlock(text=MarkdownTextObject(text=f"*AI summary*\n{clip(escape(d.summary), 2800)}")),
    ]
    if d.sources:
        used = " · ".join(clip(escape(s.get("label") or s.get("kind", "")), 80) for s in d.sources[:5])
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(f"*Based on:* {used}", 2900))]))
    if d.missing_information:
        missing = ", ".join(escape(m) for m in d.missing_information)
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(f"*Missing:* {missing}", 2900))]))
    if d.review_flags:
        flags = "\n".join(f"• {escape(f)}" for f in d.review_flags)
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text=clip(f":warning: *A person decides:*\n{flags}", 2900)))
        )
    label = "Draft (edited)" if fu.edited else "Draft"
    body = quote(escape(d.body))
    blocks += [
        DividerBlock(),
        SectionBlock(
            text=MarkdownTextObject(
                text=clip(
                    f"*{label}* — to {escape(fu.contact_email)}\n*Subject:* {escape(d.subject)}\n{body}", 3000
                )
            )
        ),
    ]
    return blocks


def _actions(fu: FollowUpView) -> list[Block]:
    value = str(fu.id)
    if fu.state is State.FAILED:
        return [
            ActionsBlock(
                block_id=BlockId.CARD_ACTIONS,
                elements=[
                    ButtonElement(text="Retry", action_id=ActionId.CARD_RETRY, value=value, style="primary")
                ],
            )
        ]
    if fu.state not in (State.PENDING, State.ESCALATED):
        return []
    approve = ButtonElement(
        text="Approve & send",
        action_id=ActionId.CARD_APPROVE,
        value=value,
        style="primary",
        confirm=ConfirmObject(
            title="Send this email?",
            text=clip(
                f"It goes to {escape(fu.contact_email)} from {escape(fu.owner_name or 'the owner')} now.", 300
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
    elements = [approve, ButtonElement(text="Edit", action_id=ActionId.CARD_EDIT, value=value), snooze]
    if fu.state is State.PENDING:
        elements.append(ButtonElement(text="Escalate", action_id=ActionId.CARD_ESCALATE, value=value))
    return [ActionsBlock(block_id=BlockId.CARD_ACTIONS, elements=elements)]


def card_blocks(fu: FollowUpView, *, escalation: bool = False) -> list[Block]:
    """The card as posted to the owner (or, with escalation=True, to whom it was escalated)."""
    title = f"Escalated: {_title(fu)}" if escalation else f"Follow up: {_title(fu)}"
    blocks: list[Block] = [HeaderBlock(text=clip(title, 150))]
    line = status_line(fu)
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
    if fu.state is State.SNOOZED:
        # collapsed: the card comes back as a fresh message when the snooze ends
        return [*blocks, ContextBlock(elements=[MarkdownTextObject(text=line or "Snoozed")])]
    blocks += _details(fu)
    if line:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=line)]))
    blocks += _actions(fu)
    return blocks


def to_dicts(blocks: list[Block]) -> list[dict]:
    return [b.to_dict() for b in blocks]
