"""`followup eval`: the pipeline on a labelled file, scored the way a reviewer would score it.

Classification: accuracy, per-class precision and recall, the confusion matrix, per language, and the
calibration error (how far the model's stated probability is from how often it is right). The offline
classifier is never scored on a message it was trained on: a message of the file that is in the shipped
model's training set is classified by a model trained on the whole training set except it (the overlap is
split in at most five folds; each fold's model is trained on everything outside that fold, duplicates
together), so a file of two training messages is scored as fairly as one of a thousand.
Drafts: each message becomes an inbound lead and goes through the whole pipeline; the draft is checked for a
fact from the context, exactly one ask, its length, and no guardrail hit on the draft itself.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, ValidationError

from bot.adapters.claude import StepCall, StepFailed, lead_message
from bot.clock import BusinessCalendar
from bot.drafting import classifier
from bot.drafting.classifier import Classification, LeadClass
from bot.drafting.pipeline import Pipeline, lead_data
from bot.drafting.promises import commitments, injection
from bot.drafting.redact import sensitive_in
from bot.drafting.wording import MONTHS, WEEKDAYS
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
    lang: str | None = Field(default=None, max_length=20, description="the message's language (ISO 639-1)")


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
    probability: float | None = None  # the model's calibrated probability for its top class
    top: str | None = None  # that top class (before abstaining)
    lang: str | None = None
    flags: list[str] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)
    edit_distance: float | None = None


@dataclass
class Report:
    engine: str
    items: list[ItemResult]
    repetition: Repetition | None = None

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

    def calibration_error(self, bins: int = 10) -> float | None:
        """Expected calibration error of the top-class probability: over equal-width bins, the gap between
        the mean stated probability and the share that was right, weighted by the bin's size."""
        scored = [(i.probability, i.top == i.label) for i in self.items if i.probability is not None]
        if not scored:
            return None
        total = 0.0
        for b in range(bins):
            lo, hi = b / bins, (b + 1) / bins
            inside = [(p, ok) for p, ok in scored if lo <= p < hi or (b == bins - 1 and p == 1.0)]
            if inside:
                confidence = sum(p for p, _ in inside) / len(inside)
                accuracy = sum(ok for _, ok in inside) / len(inside)
                total += abs(confidence - accuracy) * len(inside) / len(scored)
        return round(total, 4)

    def per_language(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for lang in sorted({i.lang for i in self.items if i.lang}):
            mine = [i for i in self.items if i.lang == lang]
            out[lang] = {
                "accuracy": round(sum(i.label == i.predicted for i in mine) / len(mine), 3),
                "support": len(mine),
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
            "calibration_error": self.calibration_error(),
            "per_class": self.per_class(),
            "per_language": self.per_language(),
            "confusion": self.confusion(),
            "draft_checks": self.draft_checks(),
            "repetition": self.repetition.to_json() if self.repetition else None,
            "mean_edit_distance": self.mean_edit_distance(),
            "items": [i.__dict__ for i in self.items],
        }


@dataclass(frozen=True)
class Scored:
    classification: Classification
    top: str
    probability: float


def _score(item: LabelledItem, weights: classifier.Weights) -> Scored:
    probs = weights.probabilities(classifier.features(item.text, item.source))
    top = max(probs, key=probs.__getitem__)
    cls = classifier.classify(item.text, item.source, weights=weights)
    return Scored(cls, top, round(probs[top], 4))


def _offline_predictions(items: list[LabelledItem]) -> tuple[list[Scored], list[bool]]:
    weights = classifier.shipped()
    trained = set(weights.trained_on.get("keys", []))
    keys = [classifier.text_key(i.text) for i in items]
    seen = [k in trained for k in keys]
    predicted: list[Scored | None] = [
        None if s else _score(i, weights) for i, s in zip(items, seen, strict=True)
    ]
    overlap = sorted({k for k, s in zip(keys, seen, strict=True) if s})
    if overlap:
        training = classifier.training_set()
        folds = [overlap[f :: min(5, len(overlap))] for f in range(min(5, len(overlap)))]
        for fold in folds:
            out = set(fold)
            kept = [t for t in training if classifier.text_key(t.text) not in out]
            if len({t.label for t in kept}) < 2:
                raise EvalDataError("too few training messages left to score the file's overlap against")
            # the held-out model reuses the shipped calibration and thresholds: they were fitted on
            # out-of-fold scores, i.e. for a model that had not seen the message
            held_out = replace(
                classifier.train(
                    [t.text for t in kept],
                    [t.source for t in kept],
                    [t.label.value for t in kept],
                    calibrate=False,
                ),
                temperature=weights.temperature,
                abstain_below=weights.abstain_below,
            )
            for n, key in enumerate(keys):
                if key in out:
                    predicted[n] = _score(items[n], held_out)
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
        zone=calendar.zone.key,
    )


QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|«[^»]*»|„[^“]*“")
# a meeting request: what spam, a vendor, a recruiter or the press must never be offered
MEETING = re.compile(
    r"\b(\d+[- ]minutes?|call|meeting|demo|calendar|slot|catch-up|walk-?through|screen-?share|conversation|"
    r"gespräch|termin|vorführung|réunion|rendez-vous|échange|démonstration|reunión|llamada|demostración|"
    r"conversación)\b",
    re.I,
)
NO_MEETING = {LeadClass.SPAM, LeadClass.VENDOR_PITCH, LeadClass.RECRUITING, LeadClass.PRESS}
NO_REPLY_NEEDED = {LeadClass.SPAM}  # the card recommends dismissing: an ask is optional


def sentences(body: str) -> list[str]:
    """A draft's sentences of three words or more (greetings and sign-offs are shorter), normalised."""
    parts = [p.strip() for line in body.splitlines() for p in re.split(r"(?<=[.!?])\s+", line)]
    return [" ".join(p.casefold().split()) for p in parts if len(p.split()) >= 3]


@dataclass(frozen=True)
class Repetition:
    """How much a run's drafts repeat each other."""

    drafts: int
    sentences: int
    unique_share: float  # distinct sentences / all sentences
    top_ask: str | None
    top_ask_share: float  # the most common ask: on this share of drafts

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def repetition(drafts: list[tuple[str, str]]) -> Repetition:
    """(body, ask) of each draft of a run: the share of sentences that are unique, and the share of drafts
    carrying the most common ask."""
    every = [s for body, _ in drafts for s in sentences(body)]
    asks = Counter(" ".join(ask.casefold().split()) for _, ask in drafts if ask)
    top, count = asks.most_common(1)[0] if asks else (None, 0)
    return Repetition(
        drafts=len(drafts),
        sentences=len(every),
        unique_share=round(len(set(every)) / len(every), 3) if every else 1.0,
        top_ask=top,
        top_ask_share=round(count / len(drafts), 3) if drafts else 0.0,
    )


def ask_of(body: str) -> str:
    """The draft's one question (the last sentence with a question mark, outside quotes)."""
    unquoted = QUOTED.sub("", body)
    asks = [s for s in re.split(r"(?<=[.!?])\s+|\n+", unquoted) if "?" in s]
    return asks[-1].strip() if asks else ""


def check_draft(
    body: str,
    ctx: LeadContext,
    *,
    subject: str = "",
    label: LeadClass | None = None,
    flags: list[str] | None = None,
) -> dict[str, bool]:
    """Each check a reviewer would make of one draft; a check that does not apply is left out."""
    from bot.drafting import language

    unquoted = QUOTED.sub("", body)
    anchor = ctx.engagements[0] if ctx.engagements else None
    facts = []
    if anchor:
        zone = ZoneInfo(ctx.zone) if ctx.zone else UTC
        at = anchor.occurred_at.astimezone(zone)
        facts += [f"{at:%B} {at.day}", f"{at:%A}"]
        # the day in the draft's own language too ("Dienstag", "mardi")
        facts += [WEEKDAYS[lang][at.weekday()] for lang in WEEKDAYS] + [
            MONTHS[lang][at.month - 1] for lang in MONTHS
        ]
        facts += [w for w in re.findall(r"[^\W\d_]{6,}", anchor.body)][:20]
    private = sensitive_in(body)
    checks = {
        "mentions_fact": any(f.lower() in body.lower() for f in facts),
        "one_ask": unquoted.count("?") + unquoted.count("？") == 1,
        "length_ok": len(body.split()) <= 150,
        # the draft's own words: a quoted line of the lead's message is theirs, not a promise of ours
        "guardrail_clean": not commitments(unquoted) and not private,
    }
    if label in NO_REPLY_NEEDED:
        checks.pop("one_ask")
    if label is not None:
        ask = ask_of(body)
        checks["ask_fits_class"] = not (label in NO_MEETING and MEETING.search(ask))
    lead = next((e for e in ctx.engagements if e.is_inbound), None)
    wrote = language.detect(f"{lead.subject or ''}\n{lead.body}") if lead else None
    if wrote:
        drafted = language.detect(unquoted)
        flagged = any(f"They wrote in {language.name(wrote)}" in f for f in (flags or []))
        checks["language_matches"] = drafted == wrote or (flagged and drafted == "en")
    if ctx.deal is not None and ctx.deal.name:
        checks["no_deal_name_in_subject"] = ctx.deal.name.casefold() not in subject.casefold()
    notes = [
        e.body
        for e in ctx.engagements
        if e.type in (EngagementType.NOTE, EngagementType.CALL, EngagementType.MEETING) and not e.is_inbound
    ]
    if notes:
        checks["no_internal_note_text"] = not _shares_run(body, notes)
    return checks


def _shares_run(body: str, notes: list[str], words: int = 6) -> bool:
    """True when the draft repeats six or more words in a row from the team's own notes."""

    def grams(text: str) -> set[tuple[str, ...]]:
        toks = re.findall(r"\w+", text.casefold())
        return {tuple(toks[i : i + words]) for i in range(len(toks) - words + 1)}

    mine = grams(body)
    return any(mine & grams(note) for note in notes)


def evaluate(
    items: list[LabelledItem], pipeline: Pipeline, now: datetime, calendar: BusinessCalendar
) -> Report:
    scored: list[Scored | None]
    if pipeline.engine is None:
        offline, seen = _offline_predictions(items)
        classes = [s.classification for s in offline]
        scored = list(offline)
        engine = "offline (messages the model was trained on: scored by a model trained without them)"
    else:
        classes, seen = [], [False] * len(items)
        scored = [None] * len(items)
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
    drafts: list[tuple[str, str]] = []
    for item, cls, was_seen, score in zip(items, classes, seen, scored, strict=True):
        ctx = as_lead(item, now, calendar)
        draft = pipeline.draft(ctx)
        drafts.append((draft.body, ask_of(draft.body)))
        checks = check_draft(
            draft.body, ctx, subject=draft.subject, label=cls.label, flags=draft.review_flags
        )
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
                probability=score.probability if score else cls.confidence,
                top=score.top if score else cls.label.value,
                lang=item.lang,
                flags=draft.review_flags,
                checks=checks,
                edit_distance=distance,
            )
        )
    return Report(engine=engine, items=results, repetition=repetition(drafts))


def class_counts(items: list[LabelledItem]) -> dict[str, int]:
    return dict(Counter(i.label.value for i in items))


def dumps(report: Report) -> str:
    return json.dumps(report.to_json(), ensure_ascii=False)
