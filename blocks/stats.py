"""`/followup stats`: the metrics of a period as an ephemeral message (the weekly digest and App Home reuse
the sections)."""

from __future__ import annotations

from datetime import timedelta

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from blocks.format import clip, escape, line, slack_date
from bot.services.metrics import Report


def duration(value: timedelta | None) -> str:
    """'–' for no data, else the two largest units: "45 min", "3 h 20 min", "2 d 4 h"."""
    if value is None:
        return "–"
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def _fields(pairs: list[tuple[str, str]]) -> SectionBlock:
    return SectionBlock(fields=[MarkdownTextObject(text=clip(f"*{k}*\n{v}", 2000)) for k, v in pairs[:10]])


def _section(title: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=f"*{title}*"))


def stats_blocks(report: Report, title: str) -> list[Block]:
    r, scope = report, report.scope
    by_touch = ", ".join(f"touch {t}: {rate}" for t, rate in sorted(r.reply_by_touch.items())) or "–"
    won = f"{r.won_deals} deal(s), {r.won_revenue:,.0f}" if r.won_deals else "–"
    if r.won_deals:
        won += f" ({r.won_without_other_touch} with no other touch in the 14 days before)"
    decisions = " · ".join(f"{name} {rate}" for name, rate in r.decisions.items())
    reasons = ", ".join(f"{escape(k.replace('_', ' '))}: {n}" for k, n in r.dismiss_reasons.items()) or "–"
    overrides = ", ".join(f"{escape(k)} ×{n}" for k, n in list(r.overrides.items())[:5])
    flags = ", ".join(f"{escape(k)}: {n}" for k, n in r.flags_resolved.items()) or "none raised"
    cost_days = len(r.cost_by_day)
    cost = f"${r.cost:,.2f}" + (
        f" (${r.cost / cost_days:,.2f} a day on {cost_days} day(s))" if cost_days else ""
    )
    blocks: list[Block] = [
        HeaderBlock(text=clip(title, 150)),
        ContextBlock(
            elements=[MarkdownTextObject(text=f"{slack_date(scope.start)} to {slack_date(scope.end)}")]
        ),
        _section("Outcome"),
        _fields(
            [
                ("Sent", str(r.sent)),
                ("Reply rate", str(r.reply_rate)),
                ("Reply rate by touch", by_touch),
                ("Meetings booked (of contacts triggered)", str(r.meeting_rate)),
                ("Won after a follow-up", won),
                ("Unsubscribed · bounced", f"{r.unsubscribe_rate} · {r.bounce_rate}"),
            ]
        ),
        _section("Speed"),
        _fields(
            [
                (
                    "Inbound first response (median)",
                    f"{duration(r.inbound_first_response)} ({r.inbound_answered})",
                ),
                ("Hot leads touched within a business hour", str(r.hot_within_hour)),
                ("Card to decision (median)", duration(r.card_to_decision)),
            ]
        ),
        _section("The human step"),
        _fields(
            [
                ("Decisions", decisions),
                ("Dismiss reasons", reasons),
                ("Reply rate: as written · edited", f"{r.reply_as_written} · {r.reply_edited}"),
                (
                    "Draft changed by reps (median)",
                    "–" if r.edit_distance is None else f"{r.edit_distance:.0%}",
                ),
                (
                    "Model's class kept by reviewers",
                    f"{r.classification_reviewed}" + (f"; changed: {overrides}" if overrides else ""),
                ),
                (f"Guardrail flags: {r.flags_raised}", flags),
            ]
        ),
        _section("Health"),
        _fields(
            [
                ("CRM write failures", str(r.crm_write_failures)),
                ("Send failures", str(r.send_failures)),
                ("AI steps answered offline", str(r.ai_fallbacks)),
                ("AI cost", cost),
            ]
        ),
        DividerBlock(),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="A rate shows hits/total; – is no data. Replies and meetings are credited to the "
                    "follow-up they came after (30 days; won deals 90)."
                )
            ]
        ),
    ]
    return blocks


def stats_text(report: Report, title: str) -> str:
    """The notification text: the headline numbers."""
    return line(f"{title}: {report.sent} sent, reply rate {report.reply_rate}", 300)
