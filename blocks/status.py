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

from blocks.card import card_actions
from blocks.format import clip, escape, line, slack_date
from blocks.ids import COMMAND, ActionId, BlockId
from bot.snapshot import FollowUpView, QueueView

PER_GROUP = 8
MAX_BLOCKS = 50  # Slack's limit for one message


def _item(fu: FollowUpView, extra: str = "") -> SectionBlock:
    company = f" · {line(fu.company_name, 100)}" if fu.company_name else ""
    text = clip(f"*{line(fu.contact_name, 150)}*{company}\n{line(fu.reason, 500)}{extra}", 2900)
    card = fu.cards[-1] if fu.cards else None
    accessory = (
        ButtonElement(
            text="Open card", action_id=ActionId.STATUS_OPEN_CARD, url=card.permalink, value=str(fu.id)
        )
        if card and card.permalink
        else None
    )
    return SectionBlock(text=MarkdownTextObject(text=text), accessory=accessory)


def status_blocks(
    queue: QueueView, *, with_actions: bool = False, max_blocks: int = MAX_BLOCKS
) -> list[Block]:
    """The groups in the order they are shown, each with its full count and its first few follow-ups; with
    `with_actions` (App Home), each follow-up also carries its card's buttons."""
    groups, totals = queue.groups, queue.counts
    blocks: list[Block] = [HeaderBlock(text="Your follow-ups")]
    counts = " · ".join(f"{title}: {totals.get(title, len(items))}" for title, items in groups.items())
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=counts)]))
    if queue.filtered:
        kinds = ", ".join(f"{line(k.replace('_', ' '), 40)} {n}" for k, n in sorted(queue.filtered.items()))
        total = sum(queue.filtered.values())
        note = f"Filtered today: {total} ({kinds}): no cards, each recorded with the reason"
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    if not any(groups.values()):
        blocks.append(SectionBlock(text=MarkdownTextObject(text="Nothing waiting for you. :tada:")))
        return blocks
    per_item = 2 if with_actions else 1
    shown = groups_fitting(groups, budget=max_blocks - len(blocks), per_item=per_item)
    for title, items in groups.items():
        if not items:
            continue
        total = totals.get(title, len(items))
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*{title}* ({total})")))
        for fu in items[: shown[title]]:
            extra = (
                f"\n:zzz: until {slack_date(fu.snoozed_until)}"
                if fu.snoozed_until and title == "Snoozed"
                else "\n:hourglass: waits for room in your daily card budget"
                if title == "Up next"
                else ""
            )
            blocks.append(_item(fu, extra))
            if with_actions:
                for row in card_actions(fu):
                    row.block_id = f"{BlockId.CARD_ACTIONS}-{fu.id}"  # unique within the view
                    blocks.append(row)
        if total > shown[title]:
            more = f"…and {total - shown[title]} more"
            blocks.append(ContextBlock(elements=[MarkdownTextObject(text=more)]))
    return blocks


def groups_fitting(groups: dict[str, list[FollowUpView]], budget: int, per_item: int = 1) -> dict[str, int]:
    """How many items of each group fit in `budget` blocks: a title and a "more" line per group first,
    then up to PER_GROUP items each (of `per_item` blocks), in display order."""
    present = [title for title, items in groups.items() if items]
    left = budget - 2 * len(present)
    shown = {title: 0 for title in groups}
    for title in present:
        shown[title] = max(0, min(len(groups[title]), PER_GROUP, left // per_item))
        left -= shown[title] * per_item
    return shown


HELP_TEXT = (
    f"*{COMMAND} status* — your queue: pending, overdue, escalated, up next, snoozed, failed and sent today\n"
    f"*{COMMAND} stats [week|month]* — how your follow-ups did: replies, meetings, speed, your decisions\n"
    f"*{COMMAND} stats month @person* / *team NAME* / *all* — a colleague's, a team's or everyone's "
    "(managers and admins); add *rule NAME* or *version V* to narrow them\n"
    f"*{COMMAND} help* — this list\n\n"
    "Cards arrive in your DM when a lead goes quiet. "
    "Approve & send, Edit, Snooze or Escalate right on the card."
)


def help_blocks(unknown: str | None = None) -> list[Block]:
    blocks: list[Block] = []
    if unknown is not None:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=clip(f"I don't know `{escape(unknown)}`. Here is what I can do:", 2000)
                )
            )
        )
    blocks.append(SectionBlock(text=MarkdownTextObject(text=HELP_TEXT)))
    return blocks
