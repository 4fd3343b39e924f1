"""Which language the lead writes in, so the reply can be in it.

Detected with Lingua (lingua-language-detector), which ships its models inside the wheel: no download, no
account. Only the languages a B2B inbox in our markets sees are considered (fewer candidates, fewer
mistakes on short text); a message too short or too mixed to tell is answered None, and the drafter then
writes in the team's language as before.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lingua import LanguageDetector

# ISO 639-1 code -> the name a rep reads on the card
NAMES = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "pt": "Portuguese",
    "nl": "Dutch",
    "it": "Italian",
    "ja": "Japanese",
    "pl": "Polish",
    "sv": "Swedish",
    "da": "Danish",
    "nb": "Norwegian",
    "fi": "Finnish",
    "cs": "Czech",
    "tr": "Turkish",
    "ru": "Russian",
    "zh": "Chinese",
    "ko": "Korean",
}
_QUOTED = re.compile(r"^\s*>.*$", re.M)
_HEADER = re.compile(
    r"^\s*(from|to|subject|sent|cc|date|von|an|betreff|de|à|objet|para|asunto|van|aan)\s*:.*$", re.I | re.M
)
# what follows is an earlier message in the thread, not what the lead just wrote
_EARLIER = re.compile(
    r"^\s*(-{2,}\s*(original message|forwarded message|weitergeleitete nachricht|message transféré|"
    r"mensaje reenviado|mensagem encaminhada|messaggio inoltrato|doorgestuurd bericht)|on .{5,80} wrote:|"
    r"am .{5,80} schrieb|le .{5,80} a écrit)",
    re.I | re.M,
)


@cache
def _detector() -> LanguageDetector:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, code.upper()) for code in NAMES]
    # low-accuracy mode (trigram models only): 37 MB and 0.2 s to load instead of 526 MB and 2-3 s, and on the
    # 460 held-out lead messages in tests/data it tells the language as well (451 right, 6 unsure, 3 wrong;
    # high accuracy: 448, 11, 1); the confidence floors below keep very short text from being guessed at
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_low_accuracy_mode().build()


def lead_text(text: str) -> str:
    """What the lead wrote themselves: above any quoted or forwarded earlier message, without headers."""
    cut = _EARLIER.search(text or "")
    own = (text or "")[: cut.start()] if cut and cut.start() > 20 else (text or "")
    return _HEADER.sub("", _QUOTED.sub("", own)).strip()


def detect(text: str | None) -> str | None:
    """The ISO 639-1 code of the language `text` is written in, or None when it cannot be told."""
    own = lead_text(text or "")
    letters = sum(ch.isalpha() for ch in own)
    if letters < 4:
        return None
    best = _detector().compute_language_confidence_values(own[:2000])[0]
    # short text needs more certainty: "ok" reads as Dutch at 51%
    needed = 0.5 if letters >= 40 else 0.7 if letters >= 15 else 0.9
    if best.value < needed:
        return None
    return best.language.iso_code_639_1.name.lower()


def name(code: str | None) -> str:
    return NAMES.get(code or "", code or "an unknown language")
