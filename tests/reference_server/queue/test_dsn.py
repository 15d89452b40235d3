"""Delivery status notifications, read back with Python's email parser (RFC 3464)."""

from __future__ import annotations

import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from reference_server.queue.dsn import FailedRecipient, build_notification, dsn_status

ORIGINAL_HEADER = (
    b"Received: from client.example ([127.0.0.1])\r\n\tby crepes.fr with ESMTPSA id X1;\r\n"
    b"\tTue, 02 Jan 2024 03:04:05 +0000\r\n"
    b"From: Alice <alice@crepes.fr>\r\n"
    b"To: Bob <bob@hamburger.edu>\r\n"
    b"Subject: Lunch on Friday?\r\n"
    b"Message-ID: <lunch-42@crepes.fr>\r\n"
    b"\r\n"
)
ARRIVAL = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
NOW = datetime(2024, 1, 2, 4, 0, 0, tzinfo=UTC)


def build(*failed: FailedRecipient) -> EmailMessage:
    data = build_notification(
        hostname="crepes.fr",
        to="alice@crepes.fr",
        original_header=ORIGINAL_HEADER,
        arrival=ARRIVAL,
        failed=failed,
        now=NOW,
        message_id="<dsn-1@crepes.fr>",
    )
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")  # CRLF only, as on the wire
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))  # RFC 5322 §2.1.1
    message = BytesParser(policy=email.policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    return message


def status_groups(message: EmailMessage) -> list[dict[str, str]]:
    part = next(p for p in message.walk() if p.get_content_type() == "message/delivery-status")
    return [{k: str(v) for k, v in group.items()} for group in part.get_payload()]  # type: ignore[union-attr]


def test_report_structure_and_top_level_headers() -> None:
    message = build(FailedRecipient("bob@hamburger.edu", 550, "5.1.1", "No such user", "127.0.0.1:3525", NOW))
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "delivery-status"
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts == ["text/plain", "message/delivery-status", "text/rfc822-headers"]
    assert message["From"] == "Mail Delivery System <MAILER-DAEMON@crepes.fr>"
    assert message["To"] == "alice@crepes.fr"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["Message-ID"] == "<dsn-1@crepes.fr>"
    assert message["Subject"] and message["Date"]


def test_original_headers_are_returned() -> None:
    message = build(FailedRecipient("bob@hamburger.edu", 550, "5.1.1", "No such user"))
    headers_part = list(message.iter_parts())[2]
    original = BytesParser(policy=email.policy.default).parsebytes(headers_part.get_content().encode())
    assert original["Subject"] == "Lunch on Friday?"
    assert original["Message-ID"] == "<lunch-42@crepes.fr>"


def test_delivery_status_fields_per_message_and_per_recipient() -> None:
    message = build(
        FailedRecipient("bob@hamburger.edu", 550, "5.1.1", "No such user here", "127.0.0.1:3525", NOW),
        FailedRecipient("carol@hamburger.edu", None, "4.4.1", "connection refused", None, None),
    )
    per_message, bob, carol = status_groups(message)
    assert per_message == {"Reporting-MTA": "dns; crepes.fr", "Arrival-Date": "Tue, 02 Jan 2024 03:04:05 +0000"}
    assert bob == {
        "Final-Recipient": "rfc822; bob@hamburger.edu",
        "Action": "failed",
        "Status": "5.1.1",
        "Remote-MTA": "dns; 127.0.0.1",
        "Diagnostic-Code": "smtp; 550 5.1.1 No such user here",
        "Last-Attempt-Date": "Tue, 02 Jan 2024 04:00:00 +0000",
    }
    assert carol == {"Final-Recipient": "rfc822; carol@hamburger.edu", "Action": "failed", "Status": "4.4.1"}
    text = next(iter(message.iter_parts())).get_content()
    assert "bob@hamburger.edu" in text and "550 5.1.1 No such user here" in text
    assert "carol@hamburger.edu" in text and "connection refused" in text


def test_long_diagnostic_stays_verbatim() -> None:
    reply = "Mailbox unavailable " + "x" * 300
    message = build(FailedRecipient("bob@hamburger.edu", 550, "5.2.1", reply))
    assert status_groups(message)[1]["Diagnostic-Code"] == f"smtp; 550 5.2.1 {reply}"


@pytest.mark.parametrize(
    ("code", "enhanced", "status"),
    [
        (550, "5.1.1", "5.1.1"),
        (550, None, "5.0.0"),  # no enhanced code: the class of the reply (RFC 3463 §3.1 "X.0.0")
        (554, "5.007.01", "5.7.1"),  # leading zeros are not allowed (RFC 3464 §2.3.4)
        (550, "4.2.2", "5.0.0"),  # an enhanced code that disagrees with the reply is not trusted
        (451, "4.3.0", "4.3.0"),  # given up after temporary failures (RFC 3464 §2.3.3 note)
        (None, None, "4.4.1"),  # never got a reply: "No answer from host" (RFC 3463 §3.5)
        (None, "4.7.5", "4.7.5"),
    ],
)
def test_status_from_enhanced_code_or_derived(code: int | None, enhanced: str | None, status: str) -> None:
    assert dsn_status(code, enhanced) == status


def test_needs_a_failed_recipient() -> None:
    with pytest.raises(ValueError):
        build_notification(hostname="crepes.fr", to="a@b.example", original_header=b"", arrival=NOW, failed=[], now=NOW)
