"""What came back: a message from the replies mailbox read and sorted into a real reply, an out-of-office
auto-reply (RFC 3834, with the return date when it gives one), a bounce (RFC 3464 delivery status: hard or
soft) or a request to stop. Pure functions over the raw bytes; nothing here touches the network."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from bot.records import storable

REPLY, AUTO_REPLY, BOUNCE, UNSUBSCRIBE = "reply", "auto_reply", "bounce", "unsubscribe"

MESSAGE_ID = re.compile(r"<[^<>\s]+>")
AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic|matische)?[ -]?(reply|response|antwort)|out of (the )?office|abwesenheit|absence|"
    r"r[ée]ponse automatique|respuesta autom[aá]tica|vacation|away from (the )?office|on leave)",
    re.I,
)
AUTO_BODY = re.compile(
    r"\b(out of (the )?office|i am (currently )?away|i'm (currently )?away|on (annual |parental )?leave|"
    r"limited access to (my )?e-?mail|will (be back|return)|returning on|back in the office)\b",
    re.I,
)
STOP = re.compile(
    r"^\W*(unsubscribe|remove me|stop( emailing| sending| contacting)?( me)?|take me off|"
    r"please (remove|unsubscribe|stop)|do not (contact|email) me|not interested,? (please )?stop)\b",
    re.I,
)
BOUNCE_FROM = re.compile(r"^(mailer-daemon|postmaster|mail delivery (sub)?system)", re.I)
BOUNCE_SUBJECT = re.compile(
    r"(undeliver|delivery status notification|returned mail|delivery (has )?failed|failure notice|"
    r"mail delivery failed)",
    re.I,
)
STATUS = re.compile(r"^\s*Status:\s*([245])\.(\d{1,3})\.(\d{1,3})", re.I | re.M)
SMTP_CODE = re.compile(r"\b([45])\d\d[ -]([245]\.\d{1,3}\.\d{1,3})?")
MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
RETURN = re.compile(
    r"(?:back|return(?:ing)?|in the office|available|until|till)\s+(?:on|from|by)?\s*(?:\w+day,?\s+)?"
    r"(?:(?P<d1>\d{1,2})(?:st|nd|rd|th)?\s+(?P<m1>[A-Za-z]{3,9})|(?P<m2>[A-Za-z]{3,9})\s+(?P<d2>\d{1,2})"
    r"(?:st|nd|rd|th)?|(?P<iso>\d{4}-\d{2}-\d{2})|(?P<dd>\d{1,2})[./](?P<mm>\d{1,2})(?:[./](?P<yy>\d{2,4}))?)",
    re.I,
)


@dataclass
class Inbound:
    message_id: str | None
    sender: str  # the bare address, lower case
    sender_name: str
    subject: str
    received_at: datetime | None
    refers_to: list[str] = field(default_factory=list)  # Message-IDs it answers (In-Reply-To, References)
    kind: str = REPLY
    bounce: str | None = None  # "hard" | "soft"
    bounce_detail: str | None = None  # the status line, e.g. "5.1.1"
    bounced_recipient: str | None = None
    return_date: date | None = None
    text: str = ""  # the new text, without the quoted thread

    def first_lines(self, count: int = 3, limit: int = 300) -> str:
        lines = [ln.strip() for ln in self.text.splitlines() if ln.strip()]
        return " ".join(lines[:count])[:limit]


def _ids(value: str | None) -> list[str]:
    return MESSAGE_ID.findall(value or "")


def _plain(msg: Message) -> str:
    """The first text/plain part (or HTML stripped of tags), decoded."""
    part: Message | None = None
    if isinstance(msg, EmailMessage):
        part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        part = msg
    try:
        content = part.get_content() if isinstance(part, EmailMessage) else part.get_payload(decode=True)
    except (LookupError, ValueError, AssertionError):
        content = part.get_payload(decode=True)
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    if not isinstance(content, str):
        return ""
    if part.get_content_type() == "text/html":
        content = re.sub(r"<[^>]+>", " ", content)
    return storable(content)


def new_text(body: str) -> str:
    """What the sender wrote above the quoted thread."""
    out: list[str] = []
    for line in body.replace("\r\n", "\n").splitlines():
        if (
            line.startswith(">")
            or re.match(r"^On .{5,200} wrote:\s*$", line)
            or line.strip()
            in (
                "-----Original Message-----",
                "________________________________",
            )
        ):
            break
        if re.match(r"^(From|Von|De):\s", line) and out:
            break
        out.append(line)
    return "\n".join(out).strip()


def _return_date(text: str, received: datetime | None) -> date | None:
    match = RETURN.search(text)
    if not match:
        return None
    year = (received or datetime.now()).year
    try:
        if match["iso"]:
            return date.fromisoformat(match["iso"])
        if match["dd"]:
            y = int(match["yy"]) if match["yy"] else year
            y = y + 2000 if y < 100 else y
            return date(y, int(match["mm"]), int(match["dd"]))  # day first, as most of the world writes it
        day = int(match["d1"] or match["d2"])
        month = MONTHS.get((match["m1"] or match["m2"])[:3].lower())
        if month is None:
            return None
        found = date(year, month, day)
        if received and found < received.date():
            found = date(year + 1, month, day)  # "back January 4", written in December
        return found
    except ValueError:
        return None


def _delivery_status(msg: Message) -> tuple[str | None, str | None, str | None, list[str]]:
    """From a DSN: (hard|soft, the status, the failed recipient, the original's Message-IDs)."""
    status = recipient = None
    original: list[str] = []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            raw = (
                part.as_string() if not part.is_multipart() else "\n".join(p.as_string() for p in part.walk())
            )
            found = STATUS.search(raw)
            if found:
                status = f"{found[1]}.{found[2]}.{found[3]}"
            rcpt = re.search(r"^\s*(?:Final|Original)-Recipient:\s*rfc822;\s*(\S+)", raw, re.I | re.M)
            if rcpt:
                recipient = rcpt[1].strip("<>").lower()
        elif ctype in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            text = inner.as_string() if isinstance(inner, Message) else str(payload)
            mid = re.search(r"^Message-ID:\s*(<[^>]+>)", text, re.I | re.M)
            if mid:
                original.append(mid[1])
    if status is None:  # a bounce without a machine-readable report: the SMTP reply in its text
        code = SMTP_CODE.search(_plain(msg))
        if code:
            status = code[2] or f"{code[1]}.0.0"
    if status is None:
        return None, None, recipient, original
    return ("hard" if status.startswith("5") else "soft"), status, recipient, original


def parse(raw: bytes) -> Inbound:
    msg = message_from_bytes(raw, policy=policy.default)
    name, addr = parseaddr(storable(str(msg.get("From", ""))))
    subject = " ".join(storable(str(msg.get("Subject", ""))).split())
    try:
        received = parsedate_to_datetime(str(msg["Date"])) if msg.get("Date") else None
    except (TypeError, ValueError):
        received = None
    item = Inbound(
        message_id=next(iter(_ids(str(msg.get("Message-ID", "")))), None),
        sender=addr.strip().lower(),
        sender_name=name.strip(),
        subject=subject,
        received_at=received,
        refers_to=_ids(str(msg.get("In-Reply-To", ""))) + _ids(str(msg.get("References", ""))),
    )
    is_report = msg.get_content_type() == "multipart/report" and "delivery-status" in str(
        msg.get_param("report-type", "")
    )
    from_daemon = bool(BOUNCE_FROM.match(addr) or BOUNCE_FROM.match(name))
    if is_report or (from_daemon and BOUNCE_SUBJECT.search(subject)):
        item.kind = BOUNCE
        item.bounce, item.bounce_detail, item.bounced_recipient, original = _delivery_status(msg)
        item.refers_to += original
        item.bounce = item.bounce or "soft"  # unreadable: never treat as permanent
        item.text = new_text(_plain(msg))
        return item
    item.text = new_text(_plain(msg))
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    if (
        auto.startswith("auto-replied")
        or msg.get("X-Autoreply")
        or msg.get("X-Autorespond")
        or str(msg.get("Precedence", "")).lower() in ("auto_reply", "bulk", "junk")
        or AUTO_SUBJECT.search(subject)
        or (auto != "no" and AUTO_BODY.search(item.text))
    ):
        item.kind = AUTO_REPLY
        item.return_date = _return_date(item.text, received)
        return item
    if STOP.search(item.text) or re.match(r"^\s*(re:\s*)?unsubscribe\s*$", subject, re.I):
        item.kind = UNSUBSCRIBE
    return item


def addresses(value: str) -> list[str]:
    return [a.lower() for _, a in getaddresses([value]) if a]
