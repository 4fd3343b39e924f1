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


def run_rules(configs: Any, ctx: RuleContext) -> RuleRun:
    """Run every enabled rule in isolation: one raising is reported and the rest still run."""
    run = RuleRun()
    for rule in RULES:
        cfg = getattr(configs, rule.name)
        if not cfg.enabled:
            continue
        try:
            run.triggers.extend(rule.detect(cfg, ctx))
        except Exception as exc:
            log.exception("trigger rule %s failed", rule.name)
            run.failures[rule.name] = f"{type(exc).__name__}: {exc}"
    return run


def still_applies(configs: Any, watch: Watch, ctx: RuleContext) -> str | None:
    """None while the follow-up is still needed, else the reason it no longer is."""
    rule = BY_NAME.get(watch.rule)
    if rule is None:
        return None
    return rule.still_applies(getattr(configs, rule.name), watch, ctx)
