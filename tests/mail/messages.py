"""Raw messages as a mail server delivers them to the replies mailbox."""

from __future__ import annotations


def bounce_report(recipient: str, original_message_id: str, subject: str = "", status: str = "5.1.1") -> str:
    """A delivery status notification (RFC 3464): the failed recipient, its status, the original's headers."""
    return f"""From: Mail Delivery System <MAILER-DAEMON@mx.northwind.example>
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-{abs(hash((recipient, original_message_id))) % 10**8}@mx.northwind.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

Your message could not be delivered.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.northwind.example

Final-Recipient: rfc822; {recipient}
Action: failed
Status: {status}

--b1
Content-Type: text/rfc822-headers

Message-ID: {original_message_id}
Subject: {subject}

--b1--
"""
