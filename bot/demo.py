"""`followup demo`: the whole pipeline offline, printed as the Slack cards would read."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

from rich.console import Console, Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from blocks.card import card_blocks, to_dicts
from bot.services import cards, scan
from bot.services.deps import Deps
from bot.states import State
from bot.triggers.registry import RULES

BUILDER = "https://app.slack.com/block-kit-builder/#"


def builder_link(blocks: list[dict]) -> str:
    return BUILDER + quote(json.dumps({"blocks": blocks}, separators=(",", ":")), safe="")


def _plain(mrkdwn: str) -> str:
    text = re.sub(r"<!date\^\d+\^[^|]*\|([^>]*)>", r"\1", mrkdwn)
    text = re.sub(r"<@([A-Z0-9]+)>", r"@\1", text)
    text = re.sub(r"<#([A-Z0-9]+)>", r"#\1", text)
    text = re.sub(r"\*([^*\n]+)\*", r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def render(blocks: list[dict]) -> Panel:
    """Blocks as a person would read them in Slack, for a terminal."""
    parts: list[Text] = []
    title = "Follow-up"
    for b in blocks:
        kind = b["type"]
        if kind == "header":
            title = b["text"]["text"]
        elif kind == "section":
            if "fields" in b:
                parts.extend(Text(_plain(f["text"]).replace("\n", ": ", 1)) for f in b["fields"])
            if "text" in b:
                parts.append(Text(_plain(b["text"]["text"])))
        elif kind == "context":
            parts.append(Text(" ".join(_plain(e.get("text", "")) for e in b["elements"]), style="dim"))
        elif kind == "divider":
            parts.append(Text("─" * 40, style="dim"))
        elif kind == "actions":
            labels = [
                e.get("text", {}).get("text") or e.get("placeholder", {}).get("text", "")
                for e in b["elements"]
            ]
            parts.append(Text("  ".join(f"[ {label} ]" for label in labels), style="bold cyan"))
    return Panel(Group(*parts), title=title, title_align="left", border_style="green")


def run(deps: Deps, console: Console, *, show_json: bool = False) -> int:
    """Scan, print every card as Slack shows it, then a summary table (JSON and Builder links on request)."""
    result = scan.scan(deps)
    views = [cards.view(deps, fid) for fid in result.created + result.queued + result.scheduled]
    for fu in views:
        blocks = to_dicts(card_blocks(fu))
        console.print(render(blocks))
        if show_json:
            console.print(
                Syntax(json.dumps({"blocks": blocks}, indent=2, ensure_ascii=False), "json", word_wrap=True)
            )
            console.print(f"Block Kit Builder: {builder_link(blocks)}", soft_wrap=True)
        console.print()
    table = Table(
        title=f"{len(result.created)} cards, {len(result.queued)} up next (daily budget), "
        f"{len(result.scheduled)} scheduled (drafter: {deps.drafter.name})"
    )
    table.add_column("rule")
    table.add_column("what it watches")
    table.add_column("cards now", justify="right")
    table.add_column("up next", justify="right")
    table.add_column("scheduled", justify="right")
    for rule in RULES:
        if not getattr(deps.config.triggers, rule.name).enabled:
            continue
        counts = [
            sum(1 for v in views if v.rule == rule.name and v.state is state)
            for state in (State.PENDING, State.QUEUED, State.SCHEDULED)
        ]
        table.add_row(rule.name, rule.label, *map(str, counts))
    console.print(table)
    for why, count in result.skipped.items():
        console.print(f"[dim]{count} left alone — {why}[/dim]")
    for name, error in result.rule_failures.items():
        console.print(f"[red]rule {name} failed:[/red] {error}")
    return len(result.created)
