"""`followup demo`: the whole pipeline offline, printed as the Slack cards would read."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

from rich.console import Console, Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.text import Text

from blocks.card import card_blocks, to_dicts
from bot.services import cards, scan
from bot.services.deps import Deps

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


def run(deps: Deps, console: Console, *, show_json: bool = True) -> int:
    result = scan.scan(deps, post=False)
    console.print(
        f"[bold]{len(result.created)} follow-ups triggered[/bold] "
        f"(rules: {', '.join(_rules(deps))}; drafter: {deps.drafter.name})\n"
    )
    for fid in result.created:
        blocks = to_dicts(card_blocks(cards.view(deps, fid)))
        console.print(render(blocks))
        if show_json:
            console.print(
                Syntax(json.dumps({"blocks": blocks}, indent=2, ensure_ascii=False), "json", word_wrap=True)
            )
        console.print(f"Block Kit Builder: {builder_link(blocks)}", soft_wrap=True)
        console.print()
    return len(result.created)


def _rules(deps: Deps) -> list[str]:
    t = deps.config.triggers
    return [
        name
        for name, on in (
            ("inbound_no_response", t.inbound_no_response.enabled),
            ("stale_deal", t.stale_deal.enabled),
        )
        if on
    ]
