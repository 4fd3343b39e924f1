"""The Mailer port's SMTP adapter: the embedded default's delivery path."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from email import errors as email_errors
from email.message import EmailMessage
from email.utils import formataddr, formatdate

from bot.addresses import single_address
from bot.errors import DeliveryError, DeliveryUnknown
from bot.ports import OutgoingEmail
from bot.records import one_line


def build_message(email: OutgoingEmail) -> EmailMessage:
    """The MIME message. Header values are single lines by construction (a CR/LF in a subject or a name
    from the CRM can't add a header), and the two addresses are each exactly one address; anything that
    still can't be built is a DeliveryError saying so: surely nothing was sent."""
    try:
        sender = single_address(email.sender, whose="The sender's (the owner's)")
        recipient = single_address(email.recipient)
        msg = EmailMessage()
        msg["From"] = formataddr((one_line(email.sender_name, 100), sender))
        msg["To"] = recipient
        msg["Subject"] = one_line(email.subject, 200)
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = one_line(email.message_id, 250)
        for name, value in email.headers.items():
            msg[one_line(name, 60)] = one_line(value, 250)
        msg.set_content(email.body)
        msg.as_bytes()  # anything the generator would refuse, refused here
    except DeliveryError:
        raise
    except (ValueError, TypeError, LookupError, email_errors.MessageError) as exc:
        raise DeliveryError(
            f"The email could not be built ({type(exc).__name__}); nothing was sent."
        ) from None
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
        timeout: float = 30.0,
    ) -> None:
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.starttls, self.timeout = starttls, timeout

    def send(self, email: OutgoingEmail, *, on_handover: Callable[[], None] | None = None) -> None:
        """Deliver, raising DeliveryError when it surely was not delivered and DeliveryUnknown when it may
        have been. `on_handover` runs just before the message itself (DATA) goes to the server: up to that
        point nothing can have been delivered."""
        where = f"Mail server {self.host}:{self.port}"
        msg = build_message(email)
        sender, recipient = msg["From"].addresses[0].addr_spec, msg["To"].addresses[0].addr_spec
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{where} could not be reached: {exc}") from exc
        try:
            try:
                smtp.ehlo_or_helo_if_needed()
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if self.username:
                    smtp.login(self.username, self.password or "")
                code, resp = smtp.mail(sender)
                if code != 250:
                    raise smtplib.SMTPSenderRefused(code, resp, sender)
                code, resp = smtp.rcpt(recipient)  # the one recipient: the envelope never lists another
                if code not in (250, 251):
                    raise smtplib.SMTPRecipientsRefused({recipient: (code, resp)})
            except (smtplib.SMTPException, OSError) as exc:
                raise DeliveryError(f"{where} did not accept the email: {exc}") from exc
            if on_handover:
                on_handover()
            try:
                code, resp = smtp.data(msg.as_bytes())
            except smtplib.SMTPResponseException as exc:  # the server answered, and said no
                raise DeliveryError(f"{where} refused the email: {exc.smtp_code} {exc.smtp_error!r}") from exc
            except (smtplib.SMTPException, OSError) as exc:
                raise DeliveryUnknown(
                    f"{where} took the message but gave no answer ({type(exc).__name__}: {exc}); "
                    "it may have been delivered"
                ) from exc
            if code != 250:
                raise DeliveryError(f"{where} refused the email: {code} {resp!r}")
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
