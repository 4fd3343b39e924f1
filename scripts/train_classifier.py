"""Train the offline lead classifier on the shipped labelled set and write bot/drafting/classifier.json.

    .venv/bin/python scripts/train_classifier.py [--data bot/drafting/leads_train.jsonl]

(with the project installed, as the README's commands do).

Prints the cross-validated accuracy and calibration error first (each message scored by a model trained
without it), then trains on everything and writes the model. The result is deterministic: run it twice, get
the same file. The held-out sets in tests/data/heldout/ are never read here: score them with
`followup eval --data tests/data/heldout/<file>`.
"""

from __future__ import annotations

import argparse
import hashlib
from collections import Counter
from pathlib import Path

from bot.drafting import classifier
from bot.evaluation import read_labelled

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "bot" / "drafting" / classifier.TRAINING_FILE)
    parser.add_argument("--no-cv", action="store_true", help="Skip the cross-validation (it takes a while).")
    args = parser.parse_args()
    items = read_labelled(args.data)
    texts = [i.text for i in items]
    sources = [i.source for i in items]
    labels = [i.label.value for i in items]
    print(f"{len(items)} messages; languages: {dict(Counter(i.lang or '?' for i in items).most_common())}")
    if not args.no_cv:
        predicted = classifier.cross_validate(texts, sources, labels)
        right = sum(p.label.value == y for p, y in zip(predicted, labels, strict=True))
        print(f"cross-validated accuracy: {right / len(items):.1%} on {len(items)} messages (5 folds)")
    weights = classifier.train(texts, sources, labels)
    digest = hashlib.sha256(args.data.read_bytes()).hexdigest()[:16]
    weights.trained_on.update({"data": args.data.name, "sha256": digest})
    out = ROOT / "bot" / "drafting" / classifier.MODEL_FILE
    out.write_text(weights.to_json() + "\n", encoding="utf-8")
    print(f"abstain below (per class, calibrated): {weights.abstain_below}")
    print(
        f"wrote {out.relative_to(ROOT)} ({out.stat().st_size // 1024} KB, {len(weights.vocabulary)} features)"
    )


if __name__ == "__main__":
    main()
