"""Email addresses from the CRM, which anyone can type into: exactly one address, or a clear refusal."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from bot.errors import DeliveryError


class BadAddress(DeliveryError):
    """The address can't be sent to as it is; the message says what to fix (surely nothing was sent)."""


def single_address(raw: str | None, *, whose: str = "The contact's") -> str:
    """The one address in a CRM email field, normalised (domain lower-cased, IDN as ASCII).

    A list (`a@x.com, b@y.com`), a display name, line breaks or anything email-validator refuses is an
    error naming the problem, never a best guess: one approved email goes to one person."""
    text = (raw or "").strip()
    if not text:
        raise BadAddress(f"{whose} email address is empty in the CRM.")
    if any(sep in text for sep in (",", ";")) or len(text.split()) > 1:
        raise BadAddress(f"{whose} email field holds more than one address; keep exactly one in the CRM.")
    if any(ch in text for ch in '<>"\r\n\t\x00'):
        raise BadAddress(f"{whose} email field holds more than a bare address; keep only the address.")
    try:
        valid = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise BadAddress(f"{whose} email address is not valid: {exc}") from None
    return valid.ascii_email or valid.normalized


# mailbox providers anyone can sign up with: a shared domain there says nothing about a shared company
FREE_MAIL_PROVIDERS = (
    "gmail",
    "yahoo",
    "hotmail",
    "outlook",
    "aol",
    "icloud",
    "gmx",
    "web",
    "mail",
    "proton",
)


def company_domain(address: str) -> str | None:
    """The domain of an address when it can stand for a company (not a free-mail provider's), else None."""
    domain = address.strip().rpartition("@")[2].lower()
    if not domain or "." not in domain or domain.split(".")[0] in FREE_MAIL_PROVIDERS:
        return None
    return domain
