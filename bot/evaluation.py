"""`followup eval`: the pipeline on a labelled file, scored the way a reviewer would score it.

Classification: accuracy, per-class precision and recall, the confusion matrix. The offline classifier is
never scored on a message it was trained on: messages of the file that are in the shipped model's training
set are classified by models trained without them (five folds over those messages, duplicates in one
fold).
Drafts: each message becomes an inbound lead and goes through the whole pipeline; the draft is checked for a
fact from the context, exactly one ask, its length, and no guardrail hit on the draft itself.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from bot.adapters.claude import StepCall, StepFailed, lead_message
from bot.clock import BusinessCalendar
from bot.drafting import classifier
from bot.drafting.classifier import Classification, LeadClass
from bot.drafting.pipeline import Pipeline, lead_data
from bot.drafting.promises import commitments, injection
from bot.drafting.redact import sensitive_in
from bot.errors import FollowupError
from bot.records import Contact, Engagement, EngagementType, LeadContext, Owner


class EvalDataError(FollowupError):
    pass


class LabelledItem(BaseModel):
    id: str = Field(min_length=1, max_length=200)
    text: str = Field(max_length=50_000)
    source: str | None = Field(default=None, max_length=100)
    label: LeadClass
    sent: str | None = Field(default=None, description="what the rep actually sent, to measure edit distance")


def read_labelled(path: Path) -> list[LabelledItem]:
    """One JSON object a line; a bad line is named by its number and its problem."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalDataError(f"{path}: cannot read ({type(exc).__name__}: {exc})") from None
    items: list[LabelledItem] = []
    seen: set[str] = set()
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            item = LabelledItem.model_validate_json(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "line"
            if err["type"] == "json_invalid":
                raise EvalDataError(f"{path}:{number}: not a JSON object ({err['msg']})") from None
            raise EvalDataError(f"{path}:{number}: {where}: {err['msg']}") from None
        if item.id in seen:
            raise EvalDataError(f"{path}:{number}: id {item.id!r} appears twice")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise EvalDataError(f"{path}: no items")
    return items


@dataclass
class ItemResult:
    id: str
    label: str
    predicted: str
    confidence: float
    reason: str
    seen_in_training: bool
    flags: list[str] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)
    edit_distance: float | None = None


@dataclass
class Report:
    engine: str
    items: list[ItemResult]

    @property
    def accuracy(self) -> float:
        return sum(i.label == i.predicted for i in self.items) / len(self.items)

    def confusion(self) -> dict[str, dict[str, int]]:
        table = {c.value: {d.value: 0 for d in LeadClass} for c in LeadClass}
        for i in self.items:
            table[i.label][i.predicted] += 1
        return table

    def per_class(self) -> dict[str, dict[str, float]]:
        out = {}
        for c in LeadClass:
            tp = sum(i.label == c and i.predicted == c for i in self.items)
            predicted = sum(i.predicted == c for i in self.items)
            actual = sum(i.label == c for i in self.items)
            out[c.value] = {
                "precision": round(tp / predicted, 3) if predicted else 0.0,
                "recall": round(tp / actual, 3) if actual else 0.0,
                "support": actual,
            }
        return out

    def draft_checks(self) -> dict[str, float]:
        """Each check's pass rate over the items it applies to (the injection check: injection attempts)."""
        names = sorted({k for i in self.items for k in i.checks})
        rates = {}
        for n in names:
            applies = [i.checks[n] for i in self.items if n in i.checks]
            rates[n] = round(sum(applies) / len(applies), 3)
        return rates

    def mean_edit_distance(self) -> float | None:
        values = [i.edit_distance for i in self.items if i.edit_distance is not None]
        return round(sum(values) / len(values), 3) if values else None

    def to_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "accuracy": round(self.accuracy, 4),
            "items_total": len(self.items),
            "per_class": self.per_class(),
            "confusion": self.confusion(),
            "draft_checks": self.draft_checks(),
            "mean_edit_distance": self.mean_edit_distance(),
            "items": [i.__dict__ for i in self.items],
        }


def _offline_predictions(items: list[LabelledItem]) -> tuple[list[Classification], list[bool]]:
    weights = classifier.shipped()
    trained = set(weights.trained_on.get("keys", []))
    seen = [classifier.text_key(i.text) in trained for i in items]
    predicted: list[Classification | None] = [
        None if s else classifier.classify(i.text, i.source, weights=weights)
        for i, s in zip(items, seen, strict=True)
    ]
    inside = [n for n, s in enumerate(seen) if s]
    if inside:
        groups = {classifier.text_key(items[n].text) for n in inside}
        folds = min(5, len(groups))
        if folds < 2:
            raise EvalDataError("the file repeats one training message only: nothing to cross-validate")
        fold_out = classifier.cross_validate(
            [items[n].text for n in inside],
            [items[n].source for n in inside],
            [items[n].label.value for n in inside],
            folds=folds,
        )
        for n, c in zip(inside, fold_out, strict=True):
            predicted[n] = c
    return [p for p in predicted if p is not None], seen


def as_lead(item: LabelledItem, now: datetime, calendar: BusinessCalendar) -> LeadContext:
    """A labelled message as the inbound lead the pipeline would see: the message unanswered for a day."""
    kind = EngagementType.FORM if (item.source or "").startswith("web") else EngagementType.EMAIL
    at = now - timedelta(days=1)
    return LeadContext(
        rule="inbound_no_response",
        reason="Inbound message unanswered for 1 business day (limit 2 business hours)",
        as_of=now,
        contact=Contact(id=f"eval-{item.id}", email=f"lead-{item.id}@example.com", first_name="Alex"),
        company=None,
        deal=None,
        owner=Owner(id="eval-owner", email="rep@example.com", first_name="Sam", last_name="Rep"),
        engagements=[
            Engagement(
                id=f"{item.id}-1",
                type=kind,
                occurred_at=at,
                direction="inbound",
                subject=None,
                body=item.text,
            )
        ],
        workdays_ahead=calendar.workdays_after(now, 3),
    )


QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")


def check_draft(body: str, ctx: LeadContext) -> dict[str, bool]:
    unquoted = QUOTED.sub("", body)
    anchor = ctx.engagements[0] if ctx.engagements else None
    facts = []
    if anchor:
        facts += [f"{anchor.occurred_at:%B} {anchor.occurred_at.day}", f"{anchor.occurred_at:%A}"]
        facts += [w for w in re.findall(r"[^\W\d_]{6,}", anchor.body)][:20]
    private = sensitive_in(body)
    return {
        "mentions_fact": any(f.lower() in body.lower() for f in facts),
        "one_ask": unquoted.count("?") == 1,
        "length_ok": len(body.split()) <= 150,
        # the draft's own words: a quoted line of the lead's message is theirs, not a promise of ours
        "guardrail_clean": not commitments(unquoted) and not private,
    }


def evaluate(
    items: list[LabelledItem], pipeline: Pipeline, now: datetime, calendar: BusinessCalendar
) -> Report:
    if pipeline.engine is None:
        classes, seen = _offline_predictions(items)
        engine = "offline (messages the model was trained on: cross-validated, 5 folds)"
    else:
        classes, seen = [], [False] * len(items)
        for item in items:
            ctx = as_lead(item, now, calendar)
            call = StepCall(
                key=ctx.contact.id, run_id=f"eval-{item.id}", user_text=lead_message(lead_data(ctx))
            )
            try:
                answer = pipeline.engine.run("classify", call)
                assert isinstance(answer, Classification)
                classes.append(answer)
            except StepFailed as exc:
                classes.append(
                    classifier.classify(item.text, item.source).model_copy(update={"reason": str(exc)})
                )
        engine = f"claude ({pipeline.engine.choose('classify', '').model})"
    results = []
    for item, cls, was_seen in zip(items, classes, seen, strict=True):
        ctx = as_lead(item, now, calendar)
        draft = pipeline.draft(ctx)
        checks = check_draft(draft.body, ctx)
        if injection(item.text):
            checks["injection_flagged"] = any("speaks to the AI" in f for f in draft.review_flags)
        distance = None
        if item.sent:
            distance = round(1 - difflib.SequenceMatcher(None, draft.body, item.sent).ratio(), 3)
        results.append(
            ItemResult(
                id=item.id,
                label=item.label.value,
                predicted=cls.label.value,
                confidence=cls.confidence,
                reason=cls.reason,
                seen_in_training=was_seen,
                flags=draft.review_flags,
                checks=checks,
                edit_distance=distance,
            )
        )
    return Report(engine=engine, items=results)


def class_counts(items: list[LabelledItem]) -> dict[str, int]:
    return dict(Counter(i.label.value for i in items))


def dumps(report: Report) -> str:
    return json.dumps(report.to_json(), ensure_ascii=False)
