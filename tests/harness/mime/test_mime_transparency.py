"""compare_stored: a stored copy is intact only as trace fields plus the octets sent."""

from __future__ import annotations

import pytest

from harness.mime.transparency import compare_stored, stuff_dots

SENT = (
    b"From: <alice@example.test>\r\nTo: <bob@example.test>\r\nSubject: folded\r\n over two lines\r\n\r\n"
    b"-- \r\nGr\xc3\xbc\xc3\x9fe\r\n" + b"x" * 998 + b"\r\n.dot\r\n"
)
TRACE = (
    b"Return-Path: <alice@example.test>\r\nDelivered-To: bob@example.test\r\n"
    b"Received: from client.example (client.example [127.0.0.1])\r\n\tby mx.example.test with ESMTP;\r\n"
    b" Thu, 26 Nov 2026 12:00:00 +0000\r\nreceived: by relay.example; Thu, 26 Nov 2026 11:59:59 +0000\r\n"
)


def test_trace_fields_above_the_message_are_allowed() -> None:
    verdict = compare_stored(TRACE + SENT, SENT)
    assert verdict.intact
    assert verdict.trace == ("Return-Path", "Delivered-To", "Received", "received")


def test_a_copy_without_trace_is_intact_too() -> None:
    assert compare_stored(SENT, SENT).intact


@pytest.mark.parametrize(
    ("stored", "difference", "expected", "received"),
    [
        (SENT.replace(b"-- \r\n", b"--\r\n"), "line 6 of the message lost its trailing white space", "-- ", "--"),
        (
            SENT.replace(b"\xc3\xbc\xc3\x9f", b"C<C\x1f"),
            "line 7 of the message lost its 8-bit octets (converted to 7 bits)",
            "Gr\\xc3\\xbc\\xc3\\x9fe",
            "GrC<C\\x1fe",
        ),
        (
            SENT.replace(b"x" * 998, b"x" * 78 + b"\r\n" + b"x" * 920),
            "line 8 of the message is cut after 78 of its 998 octets (re-wrapped or truncated)",
            "x" * 100 + "... (998 octets)",
            "x" * 78,
        ),
        (
            SENT.replace(b"folded\r\n over", b"folded over"),
            "line 3 of the message has octets appended",
            "Subject: folded",
            "Subject: folded over two lines",
        ),
        (SENT[:-2], "line 9 of the message lost its CRLF", ".dot\\r\\n", ".dot"),
        (
            SENT[: -len(b".dot\r\n")],
            "the stored copy ends early: 1 line(s) are missing after line 8",
            ".dot",
            "<end of message>",
        ),
        (
            SENT + b"\r\n",
            "the stored copy has 1 line(s) more than were sent, after line 9",
            "<end of message>",
            "<empty line>",
        ),
    ],
)
def test_each_change_is_named_at_its_first_line(stored: bytes, difference: str, expected: str, received: str) -> None:
    verdict = compare_stored(TRACE + stored, SENT)
    assert not verdict.intact
    assert (verdict.difference, verdict.expected, verdict.received) == (difference, expected, received)


def test_a_field_that_is_not_trace_is_a_change_even_at_the_top() -> None:
    verdict = compare_stored(b"Received: by mx; Thu, 26 Nov 2026 12:00:00 +0000\r\nX-Scanned: yes\r\n" + SENT, SENT)
    assert verdict.trace == ("Received",)
    assert verdict.difference == "line 1 of the message differs"
    assert (verdict.expected, verdict.received) == ("From: <alice@example.test>", "X-Scanned: yes")


def test_a_field_added_below_the_original_header_is_a_change() -> None:
    stored = SENT.replace(b"\r\n\r\n", b"\r\nX-Spam-Status: No\r\n\r\n", 1)
    verdict = compare_stored(TRACE + stored, SENT)
    assert verdict.difference == "line 5 of the message differs"
    assert verdict.received == "X-Spam-Status: No"


def test_trace_fields_are_removed_only_above_the_message() -> None:
    sent = b"From: <a@example.test>\r\nReceived: by x; Thu, 26 Nov 2026 12:00:00 +0000\r\n\r\nbody\r\n"
    assert compare_stored(sent, sent).intact
    assert not compare_stored(sent.replace(b"Received: by x; Thu, 26 Nov 2026 12:00:00 +0000\r\n", b""), sent).intact


def test_stuff_dots_doubles_only_leading_periods() -> None:
    assert stuff_dots(b"a\r\n.\r\n..b\r\nc.d\r\n") == b"a\r\n..\r\n...b\r\nc.d\r\n"
    assert stuff_dots(b".first\r\n") == b"..first\r\n"
