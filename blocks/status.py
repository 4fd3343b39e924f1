"""`/followup status` and `/followup help`: ephemeral messages for the caller."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from blocks.format import clip, escape, slack_date
from blocks.ids import COMMAND, ActionId
from bot.snapshot import FollowUpView

PER_GROUP = 8  # keeps the message well under Slack's 50-block limit


def _item(fu: FollowUpView, extra: str = "") -> SectionBlock:
    company = f" · {escape(fu.company_name)}" if fu.company_name else ""
    text = clip(f"*{escape(fu.contact_name)}*{company}\n{escape(fu.reason)}{extra}", 2900)
    card = fu.cards[-1] if fu.cards else None
    accessory = (
        ButtonElement(text="Open card", action_id=ActionId.STATUS_OPEN_CARD, url=card.permalink, value=str(fu.id))
        if card and card.permalink
        else None
    )
    return SectionBlock(text=MarkdownTextObject(text=text), accessory=accessory)


def status_blocks(groups: dict[str, list[FollowUpView]]) -> list[Block]:
    """groups: title -> follow-ups, in display order (pending, overdue, snoozed, escalated, failed, sent today)."""
    total = sum(len(v) for k, v in groups.items() if k != "Sent today")
    blocks: list[Block] = [HeaderBlock(text="Your follow-ups")]
    counts = " · ".join(f"{title}: {len(items)}" for title, items in groups.items())
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=counts)]))
    if total == 0 and not groups.get("Sent today"):
        blocks.append(SectionBlock(text=MarkdownTextObject(text="Nothing waiting for you. :tada:")))
        return blocks
    for title, items in groups.items():
        if not items:
            continue
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*{title}* ({len(items)})")))
        for fu in items[:PER_GROUP]:
            extra = f"\n:zzz: until {slack_date(fu.snoozed_until)}" if fu.snoozed_until and title == "Snoozed" else ""
            blocks.append(_item(fu, extra))
        if len(items) > PER_GROUP:
            blocks.append(
                ContextBlock(elements=[MarkdownTextObject(text=f"…and {len(items) - PER_GROUP} more")])
            )
    return blocks


HELP_TEXT = (
    f"*{COMMAND} status* — your queue: pending, overdue, snoozed, escalated, failed and sent today\n"
    f"*{COMMAND} help* — this list\n\n"
    "Cards arrive in your DM when a lead goes quiet. Approve & send, Edit, Snooze or Escalate right on the card."
)


def help_blocks(unknown: str | None = None) -> list[Block]:
    blocks: list[Block] = []
    if unknown is not None:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text=clip(f"I don't know `{escape(unknown)}`. Here is what I can do:", 2000))
            )
        )
    blocks.append(SectionBlock(text=MarkdownTextObject(text=HELP_TEXT)))
    return blocks
