"""The deterministic checker for commitments a person must own, and for instructions aimed at the AI.

It does not ask a model: the same text always gives the same spans, so a reviewer can trust that what is
highlighted is everything of these kinds the checker knows."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.drafting.injection import find as find_injection

_DAY = r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|today|tonight)"
_MONTH = (
    r"(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(tember)?|oct(ober)?"
    r"|nov(ember)?|dec(ember)?)"
)


def _any(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(alternatives), re.I)


# kind -> (pattern, what a person decides)
CHECKS: dict[str, tuple[re.Pattern[str], str]] = {
    "price": (
        _any(
            r"(\$|€|£)\s?\d[\d,.]*\s?(k\b)?",
            r"\b\d+\s?(%|percent)(\s+(off|discount))?",
            r"\b(discount(ed)?|no charge|waive[ds]?|price match|special (price|rate|offer))\b",
            r"\bfree\s+(trial|month|months|setup|onboarding|upgrade|seats?)\b",
        ),
        "price or discount",
    ),
    "date": (
        _any(
            rf"\b(by|before|no later than|until)\s+(next\s+)?({_DAY}|q[1-4]"
            rf"|end of (the\s+)?(day|week|month|quarter|year)"
            rf"|{_MONTH}\s+\d{{1,2}}|\d{{1,2}}(st|nd|rd|th)?(\s+of\s+{_MONTH})?)\b",
            r"\bwithin\s+\d+\s+(business\s+)?(hours|days|weeks)\b",
            r"\b(go[- ]live|launch|deliver(y|ed)?)\s+(on|by|in)\b",
        ),
        "date, deadline or delivery time",
    ),
    "scope": (
        _any(
            r"\bwe('ll| will| can)\s+(build|add|develop|customi[sz]e|integrate|support|migrate)\b",
            r"\bcustom\s+(feature|integration|development|build)\b",
            r"\bon (our|the) roadmap\b",
        ),
        "scope commitment",
    ),
    "guarantee": (
        _any(
            r"\bguarantee[ds]?\b|\bpromise[ds]?\b|\brisk[- ]free\b",
            r"\b100\s?%\s+(uptime|success|satisfaction)\b",
            r"\bwill\s+(definitely|certainly|surely)\b|\b(double|triple)\s+your\b",
        ),
        "guarantee or outcome",
    ),
    "access": (
        _any(
            r"\bpasswords?\b|\bcredentials?\b|\blog-?in details\b|\bapi keys?\b",
            r"\b(admin|sandbox|trial|production)\s+access\b",
        ),
        "access, credentials or passwords",
    ),
    "legal": (
        _any(
            r"\b(contract terms?|liability|indemnif\w*|refunds?|invoices?|billing|payment terms)\b",
            r"\b(sla|nda|dpa)\b",
        ),
        "legal or billing decision",
    ),
}


@dataclass(frozen=True)
class Hit:
    kind: str
    text: str
    start: int
    end: int

    @property
    def what(self) -> str:
        return CHECKS[self.kind][1]


def commitments(text: str) -> list[Hit]:
    """Every span of `text` that commits to a price, date, scope, outcome, access or legal/billing term."""
    hits = [
        Hit(kind, m.group(0), m.start(), m.end())
        for kind, (pattern, _) in CHECKS.items()
        for m in pattern.finditer(text or "")
        if m.group(0).strip()
    ]
    hits.sort(key=lambda h: (h.start, -h.end))
    kept: list[Hit] = []
    for hit in hits:  # overlapping spans: the first (longest) one stands
        if not kept or hit.start >= kept[-1].end:
            kept.append(hit)
    return kept


def injection(text: str) -> str | None:
    """The first phrase that addresses the AI rather than the rep, if any (see bot.drafting.injection)."""
    return find_injection(text)


def commitment_flag(hits: list[Hit]) -> str:
    shown = "; ".join(f"{h.what}: “{h.text.strip()}”" for h in hits[:6])
    more = f" and {len(hits) - 6} more" if len(hits) > 6 else ""
    return f"The draft commits to what a person decides — {shown}{more}."
