"""Sorting what came back, on a table of real-shaped messages: replies, out-of-office (with return dates),
bounces hard and soft, and requests to stop."""

from __future__ import annotations

from datetime import date

import pytest

from bot.mail.inbound import AUTO_REPLY, BOUNCE, REPLY, UNSUBSCRIBE, new_text, parse

OURS = "<followup-7.abc@followup.local>"


def mail(headers: str, body: str = "Thanks, that works for us.") -> bytes:
    return (headers.strip() + "\n\n" + body).replace("\n", "\r\n").encode()


DSN = f"""From: Mail Delivery System <MAILER-DAEMON@mx.example>
To: dana@followup-demo.com
Subject: Undelivered Mail Returned to Sender
Date: Wed, 25 Nov 2026 10:00:00 +0000
Message-ID: <dsn-1@mx.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

This is the mail system at host mx.example. I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example

Final-Recipient: rfc822; sarah.chen@northwind.example
Action: failed
Status: {{status}}
Diagnostic-Code: smtp; 550 5.1.1 <sarah.chen@northwind.example>: Recipient address rejected

--b1
Content-Type: text/rfc822-headers

From: Dana Whitfield <dana@followup-demo.com>
To: sarah.chen@northwind.example
Subject: Your demo request
Message-ID: {OURS}

--b1--
"""


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (mail(f"From: Sarah <sarah@n.example>\nSubject: Re: demo\nIn-Reply-To: {OURS}"), REPLY),
        (mail("From: Sarah <sarah@n.example>\nSubject: Re: demo\nAuto-Submitted: auto-replied"), AUTO_REPLY),
        (
            mail("From: s@n.example\nSubject: Out of Office: Re: demo", "I am away until 4 December."),
            AUTO_REPLY,
        ),
        (mail("From: s@n.example\nSubject: Automatische Antwort: demo", "Ich bin abwesend."), AUTO_REPLY),
        (mail("From: s@n.example\nSubject: Re: demo\nX-Autoreply: yes", "Away."), AUTO_REPLY),
        (mail("From: s@n.example\nSubject: Re: demo\nPrecedence: auto_reply", "Away."), AUTO_REPLY),
        (mail("From: s@n.example\nSubject: Re: demo", "Unsubscribe"), UNSUBSCRIBE),
        (mail("From: s@n.example\nSubject: Re: demo", "Please remove me from your list."), UNSUBSCRIBE),
        (mail("From: s@n.example\nSubject: unsubscribe", ""), UNSUBSCRIBE),
        (mail("From: s@n.example\nSubject: Re: demo", "Not now, but don't stop: ask me in March."), REPLY),
        (mail("From: s@n.example\nSubject: Re: out of office policy", "Our office policy is fine."), REPLY),
        (DSN.replace("{status}", "5.1.1").encode(), BOUNCE),
    ],
)
def test_what_came_back_is_sorted(raw, kind):
    assert parse(raw).kind == kind


def test_a_hard_bounce_names_the_recipient_and_the_original():
    item = parse(DSN.replace("{status}", "5.1.1").encode())
    assert (item.bounce, item.bounce_detail, item.bounced_recipient) == (
        "hard",
        "5.1.1",
        "sarah.chen@northwind.example",
    )
    assert OURS in item.refers_to


def test_a_soft_bounce_is_soft_and_an_unreadable_one_is_never_permanent():
    assert parse(DSN.replace("{status}", "4.2.2").encode()).bounce == "soft"
    bare = mail("From: MAILER-DAEMON@mx.example\nSubject: Delivery Status Notification (Failure)", "Sorry.")
    item = parse(bare)
    assert item.kind == BOUNCE and item.bounce == "soft"


@pytest.mark.parametrize(
    ("text", "back"),
    [
        ("I am out of the office and will be back on Monday, 7 December.", date(2026, 12, 7)),
        ("Returning on December 7th with limited access to email.", date(2026, 12, 7)),
        ("Back in the office on 2026-12-07.", date(2026, 12, 7)),
        ("I will return 07.12.2026.", date(2026, 12, 7)),
        ("Back January 4.", date(2027, 1, 4)),  # written in November: next year's January
        ("I am away with no access to email.", None),
    ],
)
def test_the_return_date_of_an_out_of_office(text, back):
    raw = mail("From: s@n.example\nSubject: Out of office\nDate: Wed, 25 Nov 2026 10:00:00 +0000", text)
    assert parse(raw).return_date == back


def test_the_new_text_leaves_out_the_quoted_thread():
    body = "Sounds good, Thursday works.\n\nOn Tue, 24 Nov 2026 at 10:00, Dana wrote:\n> Would Thursday work?"
    assert new_text(body) == "Sounds good, Thursday works."
    outlook = "Yes please.\n\nFrom: Dana Whitfield\nSent: Tuesday\nSubject: demo\n\nWould Thursday work?"
    assert new_text(outlook) == "Yes please."
