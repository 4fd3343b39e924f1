"""The Mailer port's SMTP adapter: the embedded default's delivery path."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate

from bot.errors import DeliveryError
from bot.ports import OutgoingEmail


def build_message(email: OutgoingEmail) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = formataddr((email.sender_name, email.sender))
    msg["To"] = email.recipient
    msg["Subject"] = email.subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = email.message_id
    for name, value in email.headers.items():
        msg[name] = value
    msg.set_content(email.body)
    return msg


class SMTPMailer:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 20.0,
    ) -> None:
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.starttls, self.timeout = starttls, timeout

    def send(self, email: OutgoingEmail) -> None:
        # No automatic retry: a resend after an unclear failure could deliver twice. The follow-up
        # goes to `failed` and a person presses Retry.
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(build_message(email))
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                f"Mail server {self.host}:{self.port} did not accept the email: {exc}"
            ) from exc
