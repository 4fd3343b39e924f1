"""The offline lead classifier: rules for what needs no statistics, and a linear model for the rest.

The model is trained by `scripts/train_classifier.py` on the labelled set shipped beside this module
(`leads_train.jsonl`: over a thousand messages in eight languages) and stored as plain JSON
(`classifier.json`: vocabulary, idf weights, coefficients, calibration, abstention thresholds). Predicting
needs no download, no account and no numerical library: dictionary look-ups, one sigmoid per class.

Features carry across languages and spelling: words and word pairs, character n-grams inside words (so
"Angebot"/"Angebote", "pricing"/"priced", "devis"/"devi" share evidence), lexicon families, the message's
shape. The probabilities are calibrated (temperature scaling, fitted on out-of-fold scores: a message's
stated 80% is right about 80% of the time), and abstaining is decided per class from those calibrated
probabilities: a best guess below its class's threshold is `not_enough_information`.
Training and cross-validation use scikit-learn (`train`, `cross_validate`), the same feature function on
both sides.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cache
from importlib import resources
from itertools import pairwise
from typing import Any

from pydantic import BaseModel, Field

from bot.addresses import FREE_MAIL_PROVIDERS


class LeadClass(StrEnum):
    SALES_OPPORTUNITY = "sales_opportunity"
    EXISTING_CUSTOMER = "existing_customer"
    PARTNERSHIP = "partnership"
    VENDOR_PITCH = "vendor_pitch"
    RECRUITING = "recruiting"
    PRESS = "press"
    SPAM = "spam"
    NOT_ENOUGH_INFORMATION = "not_enough_information"


class Classification(BaseModel):
    """The classify step's output, from Claude or from this module."""

    label: LeadClass
    confidence: float = Field(ge=0, le=1, description="how sure, 0 to 1")
    reason: str = Field(min_length=1, max_length=300, description="one line a rep can check")


MODEL_FILE = "classifier.json"
TRAINING_FILE = "leads_train.jsonl"
# below this the model's best guess is not a decision, whatever the class (a model trained without
# calibration uses it alone; a calibrated one has a threshold per class, never below it)
MIN_CONFIDENCE = 0.30
CHAR_NGRAMS = (3, 5)

# Words that mark a class in several languages. They generalise past the few hundred training messages: the
# model learns how much each family counts, not each word.
# fmt: off
LEXICON: dict[str, tuple[str, ...]] = {
    "buy": (
        "demo", "pricing", "price", "prices", "quote", "proposal", "seats", "seat", "users", "trial",
        "pilot", "evaluate", "evaluating", "shortlist", "budget", "plan", "reps", "team", "cost", "precios",
        "preços", "angebot", "démonstration", "demostración", "compare", "switching", "replace", "looking",
        "suchen", "buscamos", "aimerions", "gostaríamos", "interested", "enterprise", "case study",
        "onboarding", "vendedores", "equipo comercial", "mitarbeitern", "agents", "we're a", "we are a",
        "our sales", "our team", "our reps", "how much", "next steps", "move forward", "sales team",
        "inside sales",
    ),
    "customer": (
        "account", "invoice", "renewal", "subscription", "login", "log", "outage", "ticket", "refund",
        "charged", "support", "customer", "customers", "clients", "kunde", "cancel", "broken", "stopped",
        "fix", "export", "locked", "rechnung", "sync", "synchronisation", "qbr", "credit", "our account",
        "existing customer", "clients depuis", "since yesterday", "since this morning", "our workspace",
        "our subscription", "our contract", "dpa", "sub-processor", "access", "usage", "our admin",
    ),
    "partner": (
        "partner", "partners", "partnership", "partnerships", "reseller", "referral", "refer", "affiliate",
        "co-marketing", "alliances", "integration", "integrator", "white-label", "oem", "channel",
        "commission", "revenue", "sponsor", "sponsors", "partenaire", "revendeur", "webinar", "ecosystem",
    ),
    "vendor": (
        "seo", "agency", "we help", "we offer", "we provide", "our services", "free audit", "book a demo",
        "offshore", "outsourcing", "leads", "guaranteed", "brochure", "portfolio", "consultation",
        "ofrecemos", "bieten", "package", "packages", "cut your", "boost", "alternative", "generate",
        "reaching out", "our agency", "we build", "reply yes", "free for", "services", "dienste",
        "servicios", "save", "saves", "can get your", "your website", "your team", "companies like yours",
        "like yours", "following up on my", "sent over a proposal for our", "our platform", "our tool",
        "our software",
    ),
    "recruiting": (
        "cv", "resume", "hiring", "hire", "candidate", "candidates", "role", "position", "job",
        "application", "apply", "applied", "internship", "recruiter", "recruiting", "talent", "interview",
        "bewerbe", "stelle", "postuler", "poste", "visa", "openings", "opening", "compensation", "staffing",
        "placing", "positions", "roles", "jobs", "devs", "engineer", "join your team", "are you hiring",
        "job post",
    ),
    "press": (
        "journalist", "reporter", "article", "story", "comment", "podcast", "interview", "editor",
        "newsletter", "media", "press", "quote you", "on the record", "publication", "analyst", "briefing",
        "feature", "episode", "writer", "periodista", "journaliste", "deadline", "listeners",
    ),
    "spam": (
        "congratulations", "prize", "winner", "won", "claim", "viagra", "casino", "bitcoin", "crypto",
        "lottery", "inheritance", "beneficiary", "prince", "bank details", "click here", "click the link",
        "verify your", "free spins", "backlinks", "airdrop", "singles", "reveal", "system prompt",
        "api key", "dan", "whatsapp", "zip", "ignore", "instructions", "previous instructions",
        "admin access", "the assistant must", "password", "urgent", "limited spots", "free crypto",
        "reward", "survey",
    ),
}
# fmt: on
FREE_MAIL = re.compile(rf"@({'|'.join(FREE_MAIL_PROVIDERS)})\.", re.I)
WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*|\d+")
QUOTED = re.compile(r"^\s*>.*$", re.M)
# greetings, sign-offs and filler: what is left when these are taken out is what the lead actually said
FILLER = {
    "hi",
    "hello",
    "hey",
    "hallo",
    "hola",
    "bonjour",
    "olá",
    "dear",
    "thanks",
    "thank",
    "you",
    "regards",
    "best",
    "cheers",
    "sent",
    "from",
    "my",
    "iphone",
    "please",
    "pls",
    "me",
    "re",
    "fwd",
    "the",
    "a",
    "to",
    "is",
    "are",
    "there",
    "anyone",
    "this",
    "on",
    "i",
    "we",
    "can",
    "us",
    "get",
    "back",
    "your",
    "with",
    "subject",
    "com",
    "and",
    "in",
    "of",
    "for",
    "it",
    "be",
    "will",
    "n",
    "test",
    "bitte",
    "um",
}


# common words that say nothing about the class, left out of the reason's cue words
CUE_STOP = FILLER | {
    "about", "after", "again", "before", "could", "their", "there", "these", "think", "those", "which",
    "would", "should", "where", "while", "other", "still", "thanks", "hello", "really",
}  # fmt: skip


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def content_words(text: str) -> list[str]:
    """The words that carry meaning: no e-mail headers, quoted lines, greetings or filler."""
    lines = [ln for ln in _fold(text).splitlines() if not re.match(r"\s*(from|to|subject|sent):", ln)]
    words = WORD.findall("\n".join(lines))
    return [w for w in words if w not in FILLER and not w.isdigit()]


def features(text: str, source: str | None = None) -> list[str]:
    """The tokens the model sees: words, word pairs, lexicon families and the message's shape."""
    folded = _fold(text)
    words = WORD.findall(_addresses_out(folded))
    out = [f"w:{w}" for w in words]
    out += [f"b:{a}_{b}" for a, b in pairwise(words)]
    # a crude stem: pricing/priced, hiring/hired
    out += [f"p:{w[:5]}" for w in words if len(w) > 6 and w not in PLACEHOLDERS]
    joined = " " + " ".join(words) + " "
    for family, terms in LEXICON.items():
        hits = sum(1 for t in terms if f" {t} " in joined)
        out += [f"lex:{family}"] * (3 * hits)  # a family weighs more than any one word
    meaning = len(content_words(text))
    out.append("len:" + ("0" if meaning == 0 else "1-3" if meaning <= 3 else "4-8" if meaning <= 8 else "9+"))
    if re.search(r"https?://|www\.|bit\.ly", folded):
        out.append("has:link")
    if re.search(r"[$€£]\s?\d|\d\s?(usd|eur|million|m\b)", folded):
        out.append("has:money")
    if FREE_MAIL.search(folded):
        out.append("has:freemail")
    if "!!!" in folded or re.search(r"\b[A-Z]{5,}\b.*\b[A-Z]{5,}\b", text):
        out.append("has:shouting")
    if re.search(r"<\s*/?\s*(script|img|iframe|a|div)\b", folded):
        out.append("has:markup")
    if words and sum(1 for w in words if w.isalpha() and not re.search(r"[aeiouyäöüéèàáíóú]", w)) >= 2:
        out.append("has:gibberish")
    if QUOTED.search(text) or "forwarded message" in folded:
        out.append("has:thread")
    if source:
        out.append(f"src:{_fold(source)}")
    out += char_ngrams(text)
    return out


URL = re.compile(
    r"https?://\S+|www\.\S+|\b[\w-]+(\.[\w-]+)*\.(com|net|org|io|co|example|de|fr|es|it|nl|pt|jp)/\S*", re.I
)
ADDRESS = re.compile(r"(?<![\w.+'-])[\w.+'-]+@[\w-]+(\.[\w-]+)+")
PLACEHOLDERS = {"weblink", "mailaddress"}


def _addresses_out(text: str) -> str:
    """Links and email addresses as one token each: which domain a sample used is noise, that there is a
    link is the evidence (`has:link`)."""
    return ADDRESS.sub(" mailaddress ", URL.sub(" weblink ", text))


def char_ngrams(text: str) -> list[str]:
    """Character n-grams inside each word of what the lead wrote (quoted lines and headers out), padded at
    the word's edges: spelling, inflection and compounds share evidence, in any language. A script
    without spaces (Japanese) is read as runs of characters."""
    lines = [
        ln
        for ln in _fold(text).splitlines()
        if not QUOTED.match(ln)
        and not re.match(r"\s*(from|to|subject|sent|cc|date|von|an|de|à|para|van|aan):", ln)
    ]
    low, high = CHAR_NGRAMS
    out: list[str] = []
    for word in WORD.findall(_addresses_out("\n".join(lines)))[:600]:
        if word.isdigit() or word in PLACEHOLDERS:
            continue
        padded = f" {word[:40]} "  # a 50,000-letter "word" is one long run, not evidence
        # each n-gram once per word: "xxxxxxxx" is one pattern, not a hundred pieces of evidence
        grams = {padded[i : i + n] for n in range(low, high + 1) for i in range(max(1, len(padded) - n + 1))}
        out += [f"c:{g}" for g in sorted(grams)]
    return out


@dataclass(frozen=True)
class Weights:
    """A trained model as plain data: what `classifier.json` holds."""

    classes: list[str]
    vocabulary: dict[str, int]
    idf: list[float]
    coef: list[list[float]]  # one row per class
    intercept: list[float]
    trained_on: dict[str, Any]
    # temperature scaling: p = softmax(score / T), T fitted on out-of-fold scores (1 = uncalibrated)
    temperature: float | None = None
    # per class: a best guess with a calibrated probability below this is "not enough information"
    abstain_below: dict[str, float] | None = None
    sublinear_tf: bool = False  # term frequency as 1 + log(n), as TfidfVectorizer(sublinear_tf=True)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, raw: str) -> Weights:
        return cls(**json.loads(raw))

    def probabilities(self, tokens: Iterable[str]) -> dict[str, float]:
        """What scikit-learn's TfidfVectorizer(l2) + LogisticRegression.predict_proba give (then scaled by the
        calibrated temperature)."""
        counts = Counter(t for t in tokens if t in self.vocabulary)
        x = {
            self.vocabulary[t]: (1 + math.log(n) if self.sublinear_tf else n) * self.idf[self.vocabulary[t]]
            for t, n in counts.items()
        }
        norm = math.sqrt(sum(v * v for v in x.values())) or 1.0
        scores = [
            b + sum(row[i] * v / norm for i, v in x.items())
            for row, b in zip(self.coef, self.intercept, strict=True)
        ]
        t = self.temperature or 1.0
        return softmax({c: s / t for c, s in zip(self.classes, scores, strict=True)})

    def threshold(self, label: str) -> float:
        if not self.abstain_below:
            return MIN_CONFIDENCE
        return max(MIN_CONFIDENCE, self.abstain_below.get(label, MIN_CONFIDENCE))


def softmax(scores: dict[str, float]) -> dict[str, float]:
    top = max(scores.values())
    exp = {c: math.exp(s - top) for c, s in scores.items()}
    total = sum(exp.values())
    return {c: e / total for c, e in exp.items()}


@dataclass(frozen=True)
class Labelled:
    text: str
    source: str | None
    label: LeadClass


@cache
def training_set() -> tuple[Labelled, ...]:
    """The labelled messages the shipped model was trained on (shipped beside it)."""
    raw = resources.files(__package__).joinpath(TRAINING_FILE).read_text(encoding="utf-8")
    rows = [json.loads(line) for line in raw.splitlines() if line.strip()]
    return tuple(Labelled(r["text"], r.get("source"), LeadClass(r["label"])) for r in rows)


@cache
def shipped() -> Weights:
    raw = resources.files(__package__).joinpath(MODEL_FILE).read_text(encoding="utf-8")
    return Weights.from_json(raw)


def text_key(text: str) -> str:
    """Messages that differ only in case, spacing and punctuation are the same message (a duplicate)."""
    return hashlib.sha256(" ".join(WORD.findall(_fold(text))).encode()).hexdigest()[:16]


def classify(text: str, source: str | None = None, *, weights: Weights | None = None) -> Classification:
    """Classify one message. Nothing said (a greeting, a signature, "info") and an ambiguous best guess are
    answered `not_enough_information`, never forced into a class."""
    meaning = content_words(text)
    if not meaning:
        return Classification(
            label=LeadClass.NOT_ENOUGH_INFORMATION,
            confidence=0.95,
            reason="The message says nothing beyond a greeting or a signature.",
        )
    model = weights or shipped()
    probs = model.probabilities(features(text, source))
    ranked = sorted(probs.items(), key=lambda kv: kv[1], reverse=True)
    (best, p), (second, q) = ranked[0], ranked[1]
    if best != LeadClass.NOT_ENOUGH_INFORMATION and p < model.threshold(best):
        return Classification(
            label=LeadClass.NOT_ENOUGH_INFORMATION,
            confidence=round(1 - p, 2),
            reason=f"Ambiguous: reads as {best.replace('_', ' ')} ({p:.0%}) or {second.replace('_', ' ')} "
            f"({q:.0%}).",
        )
    cue = _strongest_cue(text, source, best, weights or shipped())
    return Classification(
        label=LeadClass(best),
        confidence=round(p, 2),
        reason=f"Reads as {best.replace('_', ' ')}" + (f" ({cue})." if cue else "."),
    )


def _strongest_cue(text: str, source: str | None, label: str, weights: Weights) -> str:
    """The words that pushed hardest toward `label`, so the reason can be checked against the message."""
    row = weights.coef[weights.classes.index(label)]
    seen = {
        t
        for t in features(text, source)
        if t.startswith("w:") and t in weights.vocabulary and len(t) > 6 and t[2:] not in CUE_STOP
    }
    top = sorted(seen, key=lambda t: row[weights.vocabulary[t]], reverse=True)[:3]
    words = [t[2:] for t in top if row[weights.vocabulary[t]] > 0]
    return "“" + "”, “".join(words) + "”" if words else ""


# ---- training (scikit-learn; run by scripts/train_classifier.py and by `followup eval`) ----


C = 4.0
MIN_DF = 2  # a feature seen in one message only is that message, not evidence
CALIBRATION_FOLDS = 4
ABSTAIN_GRID = [round(0.30 + 0.05 * k, 2) for k in range(11)]  # 0.30 … 0.80


def _fit(texts: Sequence[str], sources: Sequence[str | None], labels: Sequence[str]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer=lambda pair: features(*pair), sublinear_tf=True, min_df=MIN_DF)
    x = vectorizer.fit_transform(list(zip(texts, sources, strict=True)))
    model = LogisticRegression(C=C, max_iter=5000, class_weight="balanced")
    model.fit(x, list(labels))
    return vectorizer, model


def _weights(vectorizer: Any, model: Any, labels: Sequence[str], texts: Sequence[str]) -> Weights:
    by_index = {i: t for t, i in vectorizer.vocabulary_.items()}
    order = range(len(by_index))
    return Weights(
        classes=[str(c) for c in model.classes_],
        vocabulary={by_index[i]: i for i in order},
        idf=[round(float(vectorizer.idf_[i]), 5) for i in order],
        coef=[[round(float(row[i]), 5) for i in order] for row in model.coef_],
        intercept=[round(float(b), 5) for b in model.intercept_],
        sublinear_tf=bool(vectorizer.sublinear_tf),
        trained_on={
            "messages": len(labels),
            "labels": dict(sorted(Counter(labels).items())),
            # which messages it has seen: `followup eval` never scores the model on one of these
            "keys": sorted({text_key(t) for t in texts}),
        },
    )


def train(
    texts: Sequence[str], sources: Sequence[str | None], labels: Sequence[str], *, calibrate: bool = True
) -> Weights:
    """The model on everything given; calibrated on out-of-fold scores (folds grouped by duplicate), with
    each class's abstention threshold chosen from those calibrated out-of-fold probabilities."""
    vectorizer, model = _fit(texts, sources, labels)
    weights = _weights(vectorizer, model, labels, texts)
    if not calibrate or min(Counter(labels).values()) < CALIBRATION_FOLDS:
        return weights
    scores = _out_of_fold_scores(texts, sources, labels)
    temperature = _temperature(scores, labels, weights.classes)
    calibrated = [_calibrated(row, temperature) for row in scores]
    return replace(
        weights, temperature=temperature, abstain_below=_thresholds(calibrated, labels, weights.classes)
    )


def _out_of_fold_scores(
    texts: Sequence[str], sources: Sequence[str | None], labels: Sequence[str]
) -> list[list[float]]:
    """Each message's raw class scores from a model trained without it (nor any duplicate of it)."""
    from sklearn.model_selection import StratifiedGroupKFold

    groups = [text_key(t) for t in texts]
    splitter = StratifiedGroupKFold(n_splits=CALIBRATION_FOLDS, shuffle=True, random_state=11)
    out: list[list[float]] = [[] for _ in texts]
    for train_idx, test_idx in splitter.split(list(texts), list(labels), groups):
        vectorizer, model = _fit(
            [texts[i] for i in train_idx], [sources[i] for i in train_idx], [labels[i] for i in train_idx]
        )
        x = vectorizer.transform([(texts[i], sources[i]) for i in test_idx])
        decision = model.decision_function(x)
        for i, row in zip(test_idx, decision, strict=True):
            out[i] = [float(v) for v in row]
    return out


def _temperature(scores: list[list[float]], labels: Sequence[str], classes: list[str]) -> float:
    """The temperature that makes softmax(score / T) most likely on the out-of-fold scores (Guo et al., "On
    Calibration of Modern Neural Networks", 2017): one number, so the ranking of classes never changes. A
    regularised linear model over thousands of sparse features is far too unsure of itself raw."""
    from scipy.optimize import minimize_scalar

    target = [classes.index(y) for y in labels]

    def nll(log_t: float) -> float:
        t = math.exp(log_t)
        total = 0.0
        for row, k in zip(scores, target, strict=True):
            top = max(row)
            z = sum(math.exp((v - top) / t) for v in row)
            total -= (row[k] - top) / t - math.log(z)
        return total

    found = minimize_scalar(nll, bounds=(math.log(0.02), math.log(5.0)), method="bounded")
    return round(math.exp(float(found.x)), 4)


def _calibrated(row: list[float], temperature: float) -> list[float]:
    top = max(row)
    exp = [math.exp((v - top) / temperature) for v in row]
    total = sum(exp)
    return [e / total for e in exp]


def _thresholds(probs: list[list[float]], labels: Sequence[str], classes: list[str]) -> dict[str, float]:
    """For each class, the lowest calibrated probability at which calling it beats abstaining on the
    out-of-fold predictions: below it, "not enough information" is right more often than the guess."""
    nei = LeadClass.NOT_ENOUGH_INFORMATION.value
    best_of = [classes[max(range(len(row)), key=row.__getitem__)] for row in probs]
    out: dict[str, float] = {}
    for label in classes:
        if label == nei:
            continue
        mine = [(max(row), y) for row, guess, y in zip(probs, best_of, labels, strict=True) if guess == label]

        def gain(t: float, mine: list[tuple[float, str]] = mine, label: str = label) -> int:
            # calls kept that are right, plus abstentions that are right, for this class's guesses
            return sum((y == label) if p >= t else (y == nei) for p, y in mine)

        out[label] = max(ABSTAIN_GRID, key=lambda t: (gain(t), -t))
    return out


def cross_validate(
    texts: Sequence[str],
    sources: Sequence[str | None],
    labels: Sequence[str],
    *,
    folds: int = 5,
    calibrate: bool = True,
) -> list[Classification]:
    """Each message classified by a model trained without it (nor any duplicate of it): stratified folds,
    grouped by normalised text so a duplicate never sits on the other side of the split."""
    from sklearn.model_selection import StratifiedGroupKFold

    groups = [text_key(t) for t in texts]
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=7)
    out: list[Classification | None] = [None] * len(texts)
    for train_idx, test_idx in splitter.split(list(texts), list(labels), groups):
        weights = train(
            [texts[i] for i in train_idx],
            [sources[i] for i in train_idx],
            [labels[i] for i in train_idx],
            calibrate=calibrate,
        )
        for i in test_idx:
            out[i] = classify(texts[i], sources[i], weights=weights)
    return [c for c in out if c is not None]
