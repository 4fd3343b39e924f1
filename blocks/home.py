"""App Home (the queue with each card's buttons, the team's week and its chart) and the weekly digest."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    Block,
    DividerBlock,
    HeaderBlock,
    ImageBlock,
    MarkdownTextObject,
    SectionBlock,
)

from blocks.stats import duration, stats_blocks
from blocks.status import status_blocks
from bot.services.metrics import Report
from bot.snapshot import QueueView

HOME_MAX = 100  # Slack's limit for a Home tab
WEEK_BLOCKS = 4  # divider, header, numbers, chart


def _chart(file_id: str, title: str) -> ImageBlock:
    return ImageBlock(
        slack_file={"id": file_id},
        alt_text=f"{title}: reply rate by touch, and the median first response to inbound leads by week",
        title=title,
    )


def home_blocks(queue: QueueView, report: Report, title: str, chart_file: str | None) -> list[Block]:
    r = report
    numbers = [
        ("Sent", str(r.sent)),
        ("Reply rate", str(r.reply_rate)),
        ("Meetings booked", str(r.meeting_rate)),
        ("Hot leads within a business hour", str(r.hot_within_hour)),
        ("Inbound first response (median)", duration(r.inbound_first_response)),
        ("Card to decision (median)", duration(r.card_to_decision)),
    ]
    week: list[Block] = [
        DividerBlock(),
        HeaderBlock(text=title),
        SectionBlock(fields=[MarkdownTextObject(text=f"*{k}*\n{v}") for k, v in numbers]),
    ]
    if chart_file:
        week.append(_chart(chart_file, title))
    return [*status_blocks(queue, with_actions=True, max_blocks=HOME_MAX - WEEK_BLOCKS), *week]


def digest_blocks(report: Report, title: str, chart_file: str | None) -> list[Block]:
    blocks = stats_blocks(report, title)
    if chart_file:
        blocks.insert(2, _chart(chart_file, title))
    return blocks
