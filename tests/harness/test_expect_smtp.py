"""SMTP `S:` patterns: codes with alternatives and x wildcards, enhanced codes, EHLO keywords, wellformed.

Replies are framed by the real SmtpReader from wire bytes, as in a run.
"""

from __future__ import annotations

import pytest

from harness.expect.smtp import SmtpExpectation, parse_smtp_expectation, smtp_mismatch
from harness.readers.smtp import SmtpReader, SmtpReply

# RFC 5321 §4.1.1.1 / Appendix D style EHLO reply, keywords in mixed case (§2.4: not case sensitive)
EHLO = b"250-mx.example.test greets client\r\n250-Pipelining\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250 HELP\r\n"


def reply(wire: bytes) -> SmtpReply:
    """Exactly one reply framed from `wire`."""
    reader = SmtpReader()
    reader.feed(wire)
    framed = reader.next_reply()
    assert framed is not None and reader.buffered == b""
    return framed


def mismatch(pattern: str, wire: bytes) -> str | None:
    return smtp_mismatch(parse_smtp_expectation(pattern), reply(wire))


def test_parse_every_part() -> None:
    assert parse_smtp_expectation("500|5x2 5.x.1 has=pipelining lacks=STARTTLS has=SIZE wellformed") == (
        SmtpExpectation(("500", "5x2"), "5.x.1", ("PIPELINING", "SIZE"), ("STARTTLS",), True)
    )
    assert parse_smtp_expectation("250") == SmtpExpectation(("250",), None, (), (), False)


def test_describe_gives_back_the_pattern() -> None:
    text = "550|553 5.1.x has=SIZE lacks=CHUNKING wellformed"
    assert parse_smtp_expectation(text).describe() == text


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("", ["start with a code such as 250, 5xx or 500|502"]),
        ("OK", ["SMTP reply pattern 'OK'", "start with a code"]),
        ("25", ["start with a code"]),
        ("2500", ["start with a code"]),
        ("150", ["start with a code"]),  # RFC 5321 §4.2: the first digit of a reply is 2 to 5
        ("650", ["start with a code"]),
        ("250|", ["start with a code"]),
        ("250 OK", ["unexpected 'OK'", "reply text is never matched"]),
        ("250 has=", ["unexpected 'has='"]),
        ("250 lacks=", ["unexpected 'lacks='"]),
        ("550 5.1.1 5.1.2", ["unexpected '5.1.2'"]),
        ("550 6.1.1", ["unexpected '6.1.1'"]),
        ("250 *", ["unexpected '*'"]),
    ],
)
def test_malformed_patterns(pattern: str, words: list[str]) -> None:
    with pytest.raises(ValueError) as raised:
        parse_smtp_expectation(pattern)
    for word in words:
        assert word in str(raised.value)


@pytest.mark.parametrize(
    ("pattern", "wire"),
    [
        ("250", b"250 OK\r\n"),
        ("2xx", b"221 2.0.0 Bye\r\n"),
        ("2xx", b"251 User not local; will forward\r\n"),
        ("25x", b"252 Cannot VRFY user\r\n"),
        ("5x0", b"550 No such user\r\n"),
        ("xxx", b"421 Service not available\r\n"),
        ("500|502", b"502 Command not implemented\r\n"),
        ("550|553", b"553 Mailbox name not allowed\r\n"),
        ("354", b"354 Start mail input; end with <CRLF>.<CRLF>\r\n"),
        ("250", EHLO),  # a multi-line reply is one S:
    ],
)
def test_codes_that_match(pattern: str, wire: bytes) -> None:
    assert mismatch(pattern, wire) is None


@pytest.mark.parametrize(
    ("pattern", "wire", "received"),
    [
        ("250", b"251 forwarding\r\n", "251"),
        ("2xx", b"354 go ahead\r\n", "354"),
        ("500|502", b"501 Syntax error\r\n", "501"),
        ("55x", b"450 Mailbox busy\r\n", "450"),
    ],
)
def test_codes_that_do_not_match_say_what_came(pattern: str, wire: bytes, received: str) -> None:
    assert mismatch(pattern, wire) == f"reply code {received}, expected {pattern}"


def test_enhanced_code_is_checked_when_the_reply_has_one() -> None:
    assert mismatch("550 5.1.1", b"550 5.1.1 User unknown\r\n") is None
    assert mismatch("550 5.x.x", b"550 5.7.1 Relaying denied\r\n") is None
    assert mismatch("5xx 5.1.x", b"553 5.1.3 Bad address syntax\r\n") is None
    assert mismatch("550 5.1.1", b"550 User unknown\r\n") is None  # none sent: not this check's business
    assert mismatch("550 5.1.1", b"550 5.7.1 Relaying denied\r\n") == "enhanced status code 5.7.1, expected 5.1.1"
    assert mismatch("550 5.1.x", b"550 5.2.1 Mailbox disabled\r\n") == "enhanced status code 5.2.1, expected 5.1.x"


def test_ehlo_keywords_present_and_absent() -> None:
    assert mismatch("250 has=PIPELINING has=size has=8BITMIME lacks=STARTTLS lacks=CHUNKING", EHLO) is None
    assert mismatch("250 has=CHUNKING", EHLO) == (
        "EHLO reply does not advertise CHUNKING (advertised: PIPELINING, SIZE, 8BITMIME, HELP)"
    )
    assert mismatch("250 lacks=SIZE", EHLO) == "EHLO reply advertises SIZE, which it must not here"
    assert mismatch("250 has=SIZE", b"250 mx.example.test\r\n") == (
        "EHLO reply does not advertise SIZE (advertised: nothing)"
    )


def test_keywords_are_not_taken_from_the_greeting_line() -> None:
    # RFC 5321 §4.1.1.1: the first line holds the domain and greeting, keywords follow
    assert mismatch("250 lacks=PIPELINING", b"250-PIPELINING.example.test\r\n250 SIZE\r\n") is None


@pytest.mark.parametrize(
    ("wire", "defect"),
    [
        (b"250 OK\n", "bare LF"),
        (b"250-first\r\n251 second\r\n", "line 2 has code 251"),
        (b"250-first\r\n250-second\r\n250_third\r\n", "neither '-' nor SP"),
    ],
)
def test_wellformed_rejects_format_defects(wire: bytes, defect: str) -> None:
    assert mismatch("2xx", wire) is None  # the code alone still matches
    found = mismatch("2xx wellformed", wire)
    assert found is not None
    assert found.startswith("malformed reply: ")
    assert defect in found


def test_wellformed_accepts_a_clean_multi_line_reply() -> None:
    assert mismatch("250 wellformed has=HELP", EHLO) is None


def test_code_is_checked_before_anything_else() -> None:
    assert mismatch("250 5.1.1 has=SIZE wellformed", b"550 5.7.1 no\n") == "reply code 550, expected 250"
