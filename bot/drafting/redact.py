"""Sensitive data in lead-written text: taken out before context reaches a model, flagged if a draft has it.

Card numbers (checked with Luhn), US social security numbers, IBANs, passwords given inline, numbers spelled
out in words ("four one one one …"), and the email addresses and phone numbers of people other than the lead
and the rep become placeholders; a secret described in words ("my card number is …") is flagged."""

from __future__ import annotations

import re
from collections.abc import Iterable

CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
PASSWORD = re.compile(r"\b(password|passcode|passwd|pwd|pin)\b(\s*(is|:|=)\s*)(\S+)", re.I)
EMAIL = re.compile(r"(?<![\w.+'-])[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<![\w.])\+?\d[\d ().-]{7,}\d\b")


# digits written as words, in the drafts' languages: "four one one …", "vier eins", "cuatro uno"
_DIGIT_WORDS = (
    r"zero|oh|one|two|three|four|five|six|seven|eight|nine|null|eins|zwei|drei|vier|fünf|sechs|sieben|acht|"
    r"neun|zéro|un|deux|trois|quatre|cinq|six|sept|huit|neuf|cero|uno|dos|tres|cuatro|cinco|seis|siete|ocho|"
    r"nueve|um|dois|três|quatro|sete|oito|nove|nul|een|twee|drie|vijf|zes|zeven|negen|zero|due|tre|quattro|"
    r"sei|sette|otto"
)
SPELLED = re.compile(rf"\b(?:(?:{_DIGIT_WORDS})[\s,.-]+){{7,}}(?:{_DIGIT_WORDS})\b", re.I)
# a secret described rather than written: "my password is the name of my dog followed by 1987"
DESCRIBED = re.compile(
    # someone's own: "my card number is …", "meine Kartennummer ist …" ("payment by credit card is possible"
    # is not a secret)
    r"\b(my|our|mein\w*|unser\w*|mon|ma|notre|mi|nuestr[oa]|meu|minha|nosso|nossa|mijn|onze|il mio|la mia)\s+"
    r"(password|passcode|pin|social security number|ssn|card number|credit card|account number|iban|"
    r"passwort|kennwort|kartennummer|kontonummer|mot de passe|numéro de carte|contraseña|número de tarjeta|"
    r"senha|número do cartão|wachtwoord|kaartnummer|numero della carta)\b[^.\n]{0,12}?"
    r"(\b(is|are|ist|est|es|é|è)\b|:)",
    re.I,
)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def redact(text: str, *, allowed: Iterable[str] = ()) -> str:
    """`text` with sensitive values replaced; `allowed` are the lead's and the rep's own addresses and
    numbers, which stay."""
    keep = {a.lower() for a in allowed if a}
    keep_digits = {_digits(a) for a in allowed if a and _digits(a)}
    out = PASSWORD.sub(lambda m: f"{m.group(1)}{m.group(2)}[password]", text or "")
    out = SPELLED.sub("[number in words]", out)
    out = CARD.sub(lambda m: "[card number]" if _luhn(_digits(m.group(0))) else m.group(0), out)
    out = SSN.sub("[national id]", out)
    out = IBAN.sub("[bank account]", out)
    out = EMAIL.sub(lambda m: m.group(0) if m.group(0).lower() in keep else "[email]", out)
    return PHONE.sub(lambda m: "[phone]" if _is_phone(m.group(0), keep_digits) else m.group(0), out)


def _is_phone(text: str, keep_digits: set[str]) -> bool:
    """Written like a phone number (a leading + or separators between groups), not an order number, and
    not the lead's or the rep's own."""
    digits = _digits(text)
    looks_like = text.startswith("+") or bool(re.search(r"\d[ ().-]+\d", text))
    return looks_like and 9 <= len(digits) <= 15 and digits not in keep_digits  # E.164: at most 15


def sensitive_in(text: str) -> list[str]:
    """What kinds of sensitive data a draft contains (checked before a person approves it)."""
    found = []
    if any(_luhn(_digits(m.group(0))) for m in CARD.finditer(text or "")):
        found.append("a card number")
    if SSN.search(text or ""):
        found.append("a national id")
    if IBAN.search(text or ""):
        found.append("a bank account number")
    if PASSWORD.search(text or ""):
        found.append("a password")
    if SPELLED.search(text or ""):
        found.append("a number written out in words")
    if DESCRIBED.search(text or "") and "a password" not in found:
        found.append("a password or account number described in words")
    return found
