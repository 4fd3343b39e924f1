"""The rule registry: every module in bot/triggers/ that defines NAME is a rule. Config sections, card labels,
the demo, `scan --dry-run` and the offline drafter's wording all come from here."""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from bot.records import LeadContext
from bot.triggers.base import RuleConfig, RuleContext, Trigger, Watch

log = logging.getLogger(__name__)
_NOT_RULES = {"base", "registry"}


@dataclass(frozen=True)
class Rule:
    name: str
    label: str
    config: type[RuleConfig]
    detect: Callable[[Any, RuleContext], list[Trigger]]
    still_applies: Callable[[Any, Watch, RuleContext], str | None]  # None: it still applies; else why not
    offline_ask: Callable[[LeadContext], tuple[str, str]]  # (subject, what the one ask is for)
    order: int

    @classmethod
    def from_module(cls, module: ModuleType) -> Rule:
        return cls(
            name=module.NAME,
            label=module.LABEL,
            config=module.Config,
            detect=module.detect,
            still_applies=module.still_applies,
            offline_ask=module.offline_ask,
            order=getattr(module, "ORDER", 100),
        )


def _discover() -> list[Rule]:
    import bot.triggers as package

    rules = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name in _NOT_RULES:
            continue
        module = importlib.import_module(f"bot.triggers.{info.name}")
        if hasattr(module, "NAME"):
            rules.append(Rule.from_module(module))
    return sorted(rules, key=lambda r: (r.order, r.name))


RULES: list[Rule] = _discover()
BY_NAME: dict[str, Rule] = {r.name: r for r in RULES}


def label(name: str) -> str:
    rule = BY_NAME.get(name)
    return rule.label if rule else name


@dataclass
class RuleRun:
    """What one scan's rules found, and which rules failed (the others still ran)."""

    triggers: list[Trigger] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # rule name -> error
    # what was seen and left alone on purpose, by why: "proposal_no_reply: already moot (Deal … closed lost)"
    skipped: dict[str, int] = field(default_factory=dict)


def run_rules(configs: Any, ctx: RuleContext) -> RuleRun:
    """Run every enabled rule in isolation: one raising is reported and the rest still run."""
    run = RuleRun()
    for rule in RULES:
        cfg = getattr(configs, rule.name)
        if not cfg.enabled:
            continue
        try:
            found = rule.detect(cfg, ctx)
            # at detection, everything the send-time check asks: a follow-up already moot (the deal closed,
            # a meeting booked, an answer given another way) never becomes a card
            for trigger in found:
                moot = rule.still_applies(cfg, watch_of(trigger), ctx)
                if moot is None:
                    run.triggers.append(trigger)
                else:
                    ctx.skip(f"{rule.name}: already moot ({_kind_of(moot)})")
        except Exception as exc:
            log.exception("trigger rule %s failed", rule.name)
            run.failures[rule.name] = f"{type(exc).__name__}: {exc}"
    run.skipped = dict(sorted(ctx.skipped.items()))
    return run


def watch_of(trigger: Trigger) -> Watch:
    return Watch(
        rule=trigger.rule,
        contact_id=trigger.contact_id,
        deal_id=trigger.deal_id,
        since=trigger.since,
        dedupe_key=trigger.dedupe_key,
    )


def _kind_of(reason: str) -> str:
    """A still_applies reason without its particulars, so the summary counts kinds ("the deal was closed
    lost"), not one line per deal."""
    low = reason.lower()
    for kind in ("closed won", "closed lost", "no longer exists", "meeting", "replied", "answer", "renewed",
                 "moved", "reopened", "in touch"):  # fmt: skip
        if kind in low:
            return {
                "meeting": "a meeting was booked",
                "replied": "they replied",
                "answer": "answered another way",
                "in touch": "they got in touch",
                "renewed": "the quote was renewed",
                "moved": "the deal moved on",
                "reopened": "the deal was reopened",
                "no longer exists": "the deal is gone",
            }.get(kind, f"the deal was {kind}")
    return reason[:60]


def still_applies(configs: Any, watch: Watch, ctx: RuleContext) -> str | None:
    """None while the follow-up is still needed, else the reason it no longer is."""
    rule = BY_NAME.get(watch.rule)
    if rule is None:
        return None
    return rule.still_applies(getattr(configs, rule.name), watch, ctx)
