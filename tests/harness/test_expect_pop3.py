"""POP3 `S:` and `S|` patterns: status, RFC 2449 response codes, text globs with captures, bodies.

Replies are framed by the real Pop3Reader from wire bytes (RFC 1939 §10 and RFC 2449 examples).
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from harness.expect.pop3 import parse_pop3_expectation, pop3_mismatch
from harness.readers.pop3 import Pop3Reader, Pop3Reply

LIST_REPLY = b"+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n"
UIDL_REPLY = b"+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n"


def reply(wire: bytes, *, multiline: bool = False) -> Pop3Reply:
    """Exactly one reply framed from `wire`, for a command with or without a body."""
    reader = Pop3Reader()
    reader.expect(multiline)
    reader.feed(wire)
    framed = reader.next_reply()
    assert framed is not None and reader.buffered == b""
    return framed


def judge(
    pattern: str,
    wire: bytes,
    body: tuple[str, ...] | None = None,
    bound: Mapping[str, str] | None = None,
) -> tuple[str | None, dict[str, str]]:
    expectation = parse_pop3_expectation(pattern, body)
    return pop3_mismatch(expectation, reply(wire, multiline=body is not None), bound or {})


# -- parsing --------------------------------------------------------------------------------------


def test_parse_status_code_text_and_body() -> None:
    expectation = parse_pop3_expectation("-ERR [SYS/*] $why", ("...", "1 $size"))
    assert expectation.status == "ERR"
    assert expectation.resp_code is not None and expectation.resp_code.source == "SYS/*"
    assert expectation.text is not None and expectation.text.source == "$why"
    assert expectation.body is not None
    assert expectation.body[0] is None  # `...`: any number of lines
    assert expectation.names == {"why", "size"}
    assert parse_pop3_expectation("+").status == "CONT"
    plain = parse_pop3_expectation("+OK")
    assert (plain.status, plain.resp_code, plain.text, plain.body) == ("OK", None, None, None)


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("OK", ["POP3 reply pattern 'OK'", "start with +OK, -ERR or + (continuation)"]),
        ("+ok", ["start with +OK, -ERR or +"]),  # RFC 1939 §3: the indicators are upper case
        ("+OK.", ["start with +OK"]),
        ("", ["start with +OK"]),
        ("-ERR [IN-USE", ["'[' of a response code is not closed"]),
        ("+OK $", ["starts no capture name"]),
        ("+OK [$] x", ["starts no capture name"]),
    ],
)
def test_malformed_patterns(pattern: str, words: list[str]) -> None:
    with pytest.raises(ValueError) as raised:
        parse_pop3_expectation(pattern)
    for word in words:
        assert word in str(raised.value)


# -- status, response codes, text -----------------------------------------------------------------


def test_status_words() -> None:
    assert judge("+OK", b"+OK maildrop has 2 messages (320 octets)\r\n") == (None, {})
    assert judge("-ERR", b"-ERR no such message\r\n") == (None, {})
    assert judge("+OK", b"-ERR no such message\r\n") == ("status -ERR, expected +OK", {})
    assert judge("-ERR", b"+OK\r\n") == ("status +OK, expected -ERR", {})


def test_sasl_continuation() -> None:
    # RFC 5034 §4: "+" SP base64 challenge, which a pattern may capture
    assert judge("+", b"+ \r\n") == (None, {})
    assert judge("+ $challenge", b"+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UuZXhhbXBsZS5uZXQ+\r\n") == (
        None,
        {"challenge": "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UuZXhhbXBsZS5uZXQ+"},
    )
    assert judge("+OK", b"+ \r\n")[0] == "status +, expected +OK"


def test_response_codes() -> None:
    # RFC 2449 §8.1.1 IN-USE, §8.1.2 LOGIN-DELAY; RFC 3206 SYS/TEMP
    assert judge("-ERR [IN-USE]", b"-ERR [IN-USE] Do you have another POP session running?\r\n")[0] is None
    assert judge("-ERR [SYS/*]", b"-ERR [SYS/TEMP] try later\r\n")[0] is None
    assert judge("-ERR [$code]", b"-ERR [LOGIN-DELAY] wait\r\n") == (None, {"code": "LOGIN-DELAY"})
    assert judge("-ERR [IN-USE]", b"-ERR [AUTH] bad password\r\n")[0] == "response code [AUTH], expected [IN-USE]"
    assert judge("-ERR [IN-USE]", b"-ERR maildrop already locked\r\n")[0] == (
        "no response code, expected [IN-USE] (RFC 2449 §8)"
    )


def test_text_globs_match_the_text_after_the_status_and_code() -> None:
    assert judge("+OK $count $size", b"+OK 2 320\r\n") == (None, {"count": "2", "size": "320"})
    assert judge("-ERR [IN-USE] *session*", b"-ERR [IN-USE] another session is active\r\n")[0] is None
    found, captures = judge("+OK $count $size", b"+OK 2 messages (320 octets)\r\n")
    assert found == "text '2 messages (320 octets)' does not match '$count $size'"
    assert captures == {}


def test_bound_captures_must_come_back_equal() -> None:
    assert judge("+OK $count $size", b"+OK 2 320\r\n", bound={"count": "2"}) == (None, {"size": "320"})
    assert judge("+OK $count $size", b"+OK 3 320\r\n", bound={"count": "2"})[0] is not None
    assert judge("+OK 1 $uid", b"+OK 1 whqtswO00WBw418f9t5JxYwZ\r\n", bound={"uid": "whqtswO00WBw418f9t5JxYwZ"}) == (
        None,
        {},
    )


# -- bodies ---------------------------------------------------------------------------------------


def test_body_lines_match_one_by_one() -> None:
    assert judge("+OK", LIST_REPLY, ("1 120", "2 200")) == (None, {})
    assert judge("+OK", LIST_REPLY, ("1 $size1", "$n $size2")) == (None, {"size1": "120", "n": "2", "size2": "200"})


@pytest.mark.parametrize("body", [("1 120",), ("1 120", "2 200", "3 300"), ("2 200", "1 120"), ()])
def test_body_with_other_lines_does_not_match(body: tuple[str, ...]) -> None:
    found, captures = judge("+OK", LIST_REPLY, body)
    assert found is not None and found.startswith("body does not match:")
    assert "  1 120\n  2 200" in found  # the lines that came are shown
    assert captures == {}


@pytest.mark.parametrize(
    "body",
    [
        ("...",),
        ("...", "2 200"),
        ("1 120", "..."),
        ("...", "1 120", "...", "2 200", "..."),
        ("1 120", "...", "2 200"),
    ],
)
def test_ellipsis_takes_any_number_of_lines(body: tuple[str, ...]) -> None:
    assert judge("+OK", LIST_REPLY, body)[0] is None


def test_ellipsis_backtracks_to_let_a_capture_match_later() -> None:
    wire = b"+OK\r\n1 a\r\n2 b\r\n3 a\r\n4 c\r\n.\r\n"
    # `$n a` first fits line 1, but then `$n c` cannot follow: the match must move on to line 3
    assert judge("+OK", wire, ("...", "$n a", "4 c")) == (None, {"n": "3"})
    assert judge("+OK", wire, ("...", "$x b", "...", "$y c")) == (None, {"x": "2", "y": "4"})
    assert judge("+OK", wire, ("...", "9 z", "..."))[0] is not None


def test_capture_from_the_status_line_constrains_the_body() -> None:
    assert judge("+OK $count *", LIST_REPLY, ("...", "$count $size")) == (None, {"count": "2", "size": "200"})
    assert judge("+OK", UIDL_REPLY, ("...", "2 $uid"), bound={"uid": "QhdPYR:00WBw1Ph7x7"}) == (None, {})
    assert judge("+OK", UIDL_REPLY, ("...", "2 $uid"), bound={"uid": "other"})[0] is not None


def test_body_lines_are_compared_after_byte_unstuffing() -> None:
    # RFC 1939 §3: a line beginning with "." is sent with one more "."
    wire = b"+OK 120 octets\r\nSubject: dots\r\n\r\n..hello\r\n...\r\n.\r\n"
    assert judge("+OK", wire, ("Subject: dots", "", ".hello", "..")) == (None, {})
    assert judge("+OK", wire, ("...", "..hello", "..."))[0] is not None


def test_empty_body() -> None:
    assert judge("+OK", b"+OK 0 messages\r\n.\r\n", ()) == (None, {})
    assert judge("+OK", b"+OK 0 messages\r\n.\r\n", ("...",)) == (None, {})


def test_body_expected_but_none_came() -> None:
    expectation = parse_pop3_expectation("+OK", ("1 *",))
    found, _ = pop3_mismatch(expectation, reply(b"+OK 1 120\r\n", multiline=False), {})
    assert found == "a multi-line body was expected, the reply had none"
