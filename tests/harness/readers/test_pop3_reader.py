"""POP3 reply framing: RFC 1939 §3/§10 sessions, byte-stuffing, RFC 2449 codes and pipelining,
RFC 5034 SASL continuations, defects."""

from __future__ import annotations

import pytest

from harness.readers.errors import ReplyFramingError
from harness.readers.pop3 import (
    MAX_RESPONSE_LINE_OCTETS,
    MAX_UNTERMINATED_LINE_OCTETS,
    Pop3Reader,
    Pop3Reply,
    pop3_command_is_multiline,
)
from tests.harness.readers.feeding import read_in_every_chunking, read_replies

# The message bodies as the client must see them after unstuffing (RFC 1939 §3)...
MESSAGE_1 = (b"Subject: dots", b"", b".hello", b".", b"..", b"end")
MESSAGE_2 = (b"Subject: plain", b"", b"x")
# ...and as the server sends them: every line starting with "." gets one more.
MESSAGE_1_WIRE = b"Subject: dots\r\n\r\n..hello\r\n..\r\n...\r\nend\r\n"
MESSAGE_2_WIRE = b"Subject: plain\r\n\r\nx\r\n"

# RFC 1939 §10 example session, with concrete message contents.
SESSION = (
    (None, b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"),
    ("APOP mrose c4c9334bac560ecc979e58001b3e22fb", b"+OK mrose's maildrop has 2 messages (320 octets)\r\n"),
    ("STAT", b"+OK 2 320\r\n"),
    ("LIST", b"+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n"),
    ("RETR 1", b"+OK 120 octets\r\n" + MESSAGE_1_WIRE + b".\r\n"),
    ("DELE 1", b"+OK message 1 deleted\r\n"),
    ("RETR 2", b"+OK 200 octets\r\n" + MESSAGE_2_WIRE + b".\r\n"),
    ("DELE 2", b"+OK message 2 deleted\r\n"),
    ("QUIT", b"+OK dewey POP3 server signing off (maildrop empty)\r\n"),
)
SESSION_STREAM = b"".join(reply for _, reply in SESSION)
SESSION_EXPECTED = (
    ("OK", "POP3 server ready <1896.697170952@dbc.mtview.ca.us>", None),
    ("OK", "mrose's maildrop has 2 messages (320 octets)", None),
    ("OK", "2 320", None),
    ("OK", "2 messages (320 octets)", (b"1 120", b"2 200")),
    ("OK", "120 octets", MESSAGE_1),
    ("OK", "message 1 deleted", None),
    ("OK", "200 octets", MESSAGE_2),
    ("OK", "message 2 deleted", None),
    ("OK", "dewey POP3 server signing off (maildrop empty)", None),
)

# RFC 2449 §5 CAPA example.
CAPA_STREAM = (
    b"+OK Capability list follows\r\nTOP\r\nUSER\r\nSASL CRAM-MD5 KERBEROS_V4\r\nRESP-CODES\r\n"
    b"LOGIN-DELAY 900\r\nPIPELINING\r\nEXPIRE 60\r\nUIDL\r\nIMPLEMENTATION Shlemazle-Plotz-v302\r\n.\r\n"
)


def read_all(chunks: list[bytes], expectations: list[bool]) -> list[Pop3Reply]:
    reader = Pop3Reader()
    for multiline in expectations:
        reader.expect(multiline)
    return read_replies(reader, chunks)


def queued(reader: Pop3Reader) -> list[bool]:
    return list(reader.expectations)


def read_one(data: bytes, multiline: bool = False) -> Pop3Reply:
    replies = read_all([data], [multiline])
    assert len(replies) == 1
    return replies[0]


def session_expectations() -> list[bool]:
    """One expectation per reply, queued up front: the greeting's, then one per command."""
    return [command is not None and pop3_command_is_multiline(command) for command, _ in SESSION]


def test_rfc1939_example_session() -> None:
    replies = read_all([SESSION_STREAM], session_expectations())
    assert [(reply.status, reply.text, reply.body) for reply in replies] == list(SESSION_EXPECTED)
    assert [reply.raw for reply in replies] == [reply for _, reply in SESSION]
    assert all(reply.defects == () for reply in replies)


@pytest.mark.parametrize(
    ("stream", "expectations"),
    [(SESSION_STREAM, None), (CAPA_STREAM, [True])],
    ids=["rfc1939-10", "rfc2449-5-capa"],
)
def test_fragmentation_never_changes_the_replies(stream: bytes, expectations: list[bool] | None) -> None:
    queued = session_expectations() if expectations is None else expectations
    read_in_every_chunking(lambda chunks: read_all(chunks, queued), stream, step=5)


def test_capa_example_body() -> None:
    reply = read_one(CAPA_STREAM, multiline=True)
    assert reply.text == "Capability list follows"
    assert reply.body is not None and len(reply.body) == 9
    assert reply.body[2] == b"SASL CRAM-MD5 KERBEROS_V4"
    assert reply.body[-1] == b"IMPLEMENTATION Shlemazle-Plotz-v302"


def test_byte_stuffed_lines_are_unstuffed() -> None:
    # RFC 1939 §3: a line beginning with "." is stuffed; the client strips the first octet.
    reply = read_one(b"+OK\r\n..hello\r\n..\r\n....\r\n.x\r\n.\r\n", multiline=True)
    assert reply.body == (b".hello", b".", b"...", b"x")
    assert reply.defects == ()


def test_empty_multiline_body() -> None:
    # RFC 1939 §5 LIST: no messages -> positive response then the termination line.
    reply = read_one(b"+OK 0 messages\r\n.\r\n", multiline=True)
    assert reply.body == ()


def test_err_has_no_body_even_when_one_was_expected() -> None:
    # RFC 1939 §7 TOP example: "TOP 100 3" -> "-ERR no such message".
    stream = b"-ERR no such message\r\n+OK 2 200\r\n"
    replies = read_all([stream], [True, False])
    assert [(reply.status, reply.text, reply.body) for reply in replies] == [
        ("ERR", "no such message", None),
        ("OK", "2 200", None),
    ]


def test_pipelined_expectations_are_consumed_in_order() -> None:
    # RFC 2449 §6.6: responses match outstanding commands in order.
    reader = Pop3Reader()
    for command in ("UIDL", "DELE 1", "RETR 9", "LIST 2"):
        reader.expect(pop3_command_is_multiline(command))
    assert queued(reader) == [True, False, True, False]
    reader.feed(
        b"+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n"
        b"+OK message 1 deleted\r\n-ERR no such message\r\n+OK 2 200\r\n"
    )
    uidl = reader.next_reply()
    assert uidl is not None and uidl.body == (b"1 whqtswO00WBw418f9t5JxYwZ", b"2 QhdPYR:00WBw1Ph7x7")
    assert queued(reader) == [False, True, False]
    dele = reader.next_reply()
    assert dele is not None and (dele.status, dele.body) == ("OK", None)
    retr = reader.next_reply()
    assert retr is not None and (retr.status, retr.body) == ("ERR", None)
    listing = reader.next_reply()
    assert listing is not None and (listing.text, listing.body) == ("2 200", None)
    assert queued(reader) == []
    assert reader.next_reply() is None


def test_reply_with_nothing_queued_is_single_line() -> None:
    # The greeting is answered before any command: no expectation, one line.
    reader = Pop3Reader()
    reader.feed(b"+OK ready\r\n1 120\r\n")
    greeting = reader.next_reply()
    assert greeting is not None and greeting.body is None
    assert reader.buffered == b"1 120\r\n"


def test_partial_body_waits_for_the_termination_line() -> None:
    reader = Pop3Reader()
    reader.expect(True)
    reader.feed(b"+OK\r\nline\r\n.")
    assert reader.next_reply() is None
    reader.feed(b"\r")
    assert reader.next_reply() is None
    reader.feed(b"\n")
    reply = reader.next_reply()
    assert reply is not None and reply.body == (b"line",)


@pytest.mark.parametrize(
    ("line", "code", "levels", "text"),
    [
        (
            b"-ERR [IN-USE] Do you have another POP session running?",
            "IN-USE",
            ("IN-USE",),
            "Do you have another POP session running?",
        ),  # RFC 2449 §8 example
        (b"-ERR [LOGIN-DELAY] wait", "LOGIN-DELAY", ("LOGIN-DELAY",), "wait"),
        (b"-ERR [sys/temp] later", "sys/temp", ("SYS", "TEMP"), "later"),
        (b"+OK [X-CODE]", "X-CODE", ("X-CODE",), ""),
        (b"-ERR no code here [really]", None, (), "no code here [really]"),
    ],
)
def test_response_codes(line: bytes, code: str | None, levels: tuple[str, ...], text: str) -> None:
    reply = read_one(line + b"\r\n")
    assert (reply.resp_code, reply.resp_code_levels, reply.text) == (code, levels, text)
    assert reply.defects == ()


@pytest.mark.parametrize("line", [b"-ERR [IN-USE busy", b"-ERR [IN-USE//X] busy", b"-ERR [] busy", b"-ERR [A B] x"])
def test_malformed_response_codes_are_defects(line: bytes) -> None:
    reply = read_one(line + b"\r\n")
    assert reply.status == "ERR"
    assert any("RFC 2449 §3" in defect for defect in reply.defects)


def test_sasl_exchange_from_rfc5034() -> None:
    # RFC 5034 §6, third example: challenges then the final +OK, all for one AUTH command.
    challenge1 = (
        b"cmVhbG09ImVsd29vZC5pbm5vc29mdC5jb20iLG5vbmNlPSJPQTZNRzl0RVFHbTJoaCIscW9wPSJhdXRoIixhbGdvcml0aG09"
        b"bWQ1LXNlc3MsY2hhcnNldD11dGYtOA=="
    )
    challenge2 = b"cnNwYXV0aD0wYjk3MTQ2MmNlZjVlOGY5MzBkYjlhMzNiMDJmYzlhMA=="
    reader = Pop3Reader()
    reader.expect(pop3_command_is_multiline("AUTH DIGEST-MD5"))
    reader.feed(b"+ " + challenge1 + b"\r\n")
    first = reader.next_reply()
    assert first is not None and (first.status, first.text) == ("CONT", challenge1.decode())
    assert queued(reader) == [False]  # the AUTH command is still waiting for its result
    reader.feed(b"+ " + challenge2 + b"\r\n+OK Maildrop locked and ready\r\n")
    second = reader.next_reply()
    assert second is not None and (second.status, second.text) == ("CONT", challenge2.decode())
    done = reader.next_reply()
    assert done is not None and (done.status, done.text) == ("OK", "Maildrop locked and ready")
    assert queued(reader) == []
    assert first.defects == second.defects == done.defects == ()


def test_empty_challenge() -> None:
    # RFC 5034 §4: an empty challenge is "+" followed by a single space.
    reply = read_one(b"+ \r\n")
    assert (reply.status, reply.text, reply.body) == ("CONT", "", None)
    assert reply.defects == ()


def test_continuation_while_a_body_is_expected_does_not_swallow_the_expectation() -> None:
    reader = Pop3Reader()
    reader.expect(True)
    reader.feed(b"+ \r\n+OK\r\nbody\r\n.\r\n")
    cont = reader.next_reply()
    result = reader.next_reply()
    assert cont is not None and cont.status == "CONT"
    assert result is not None and result.body == (b"body",)


# --- defects -------------------------------------------------------------------------------


def test_lower_case_status_is_a_defect() -> None:
    # RFC 1939 §3: Servers MUST send the "+OK" and "-ERR" in upper case.
    ok = read_one(b"+ok fine\r\n")
    err = read_one(b"-Err nope\r\n")
    assert (ok.status, ok.text, err.status, err.text) == ("OK", "fine", "ERR", "nope")
    assert any("upper case" in defect and "RFC 1939 §3" in defect for defect in ok.defects)
    assert any("upper case" in defect for defect in err.defects)


def test_status_glued_to_text_is_a_defect() -> None:
    reply = read_one(b"+OKdone\r\n")
    assert reply.status == "OK"
    assert any("SP" in defect for defect in reply.defects)


def test_bare_lf_in_status_line() -> None:
    reply = read_one(b"+OK hi\n")
    assert reply.text == "hi"
    assert any("bare LF" in defect and "RFC 1939 §3" in defect for defect in reply.defects)


def test_bare_lf_in_body_lines_and_terminator() -> None:
    reply = read_one(b"+OK\r\na\nb\n.\n", multiline=True)
    assert reply.body == (b"a", b"b")
    joined = " | ".join(reply.defects)
    assert "2 body line(s)" in joined
    assert "termination line" in joined


def test_first_line_over_512_octets() -> None:
    at_limit = b"+OK " + b"x" * (MAX_RESPONSE_LINE_OCTETS - 4 - 2) + b"\r\n"
    over = b"+OK " + b"x" * (MAX_RESPONSE_LINE_OCTETS - 4 - 1) + b"\r\n"
    assert len(at_limit) == 512
    assert read_one(at_limit).defects == ()
    assert any("512" in defect for defect in read_one(over).defects)


def test_long_challenge_is_not_limited_to_512() -> None:
    # RFC 5034 §4: challenges may be of arbitrary length.
    challenge = b"QUJD" * 300
    assert read_one(b"+ " + challenge + b"\r\n").defects == ()


@pytest.mark.parametrize("line", [b"+\r\n", b"+ not base64!\r\n", b"+ =AAA\r\n"])
def test_malformed_continuations(line: bytes) -> None:
    reply = read_one(line)
    assert reply.status == "CONT"
    assert any("RFC 5034" in defect for defect in reply.defects)


# --- framing errors ------------------------------------------------------------------------


@pytest.mark.parametrize("line", [b"hello\r\n", b"OK no sign\r\n", b"\r\n", b"+YES\r\n", b"-NO\r\n"])
def test_unrecognisable_status_line_cannot_be_framed(line: bytes) -> None:
    reader = Pop3Reader()
    reader.feed(line)
    with pytest.raises(ReplyFramingError):
        reader.next_reply()


def test_unterminated_line_over_the_cap() -> None:
    reader = Pop3Reader()
    reader.expect(True)
    reader.feed(b"+OK\r\n" + b"x" * MAX_UNTERMINATED_LINE_OCTETS)
    assert reader.next_reply() is None
    reader.feed(b"x")
    with pytest.raises(ReplyFramingError):
        reader.next_reply()


def test_reset_forgets_octets_and_expectations() -> None:
    reader = Pop3Reader()
    reader.expect(True)
    reader.feed(b"+OK\r\npartial")
    assert reader.next_reply() is None
    reader.reset()
    assert (reader.buffered, queued(reader)) == (b"", [])
    reader.feed(b"+OK fresh\r\n")
    reply = reader.next_reply()
    assert reply is not None and reply.raw == b"+OK fresh\r\n"


# --- which commands have multi-line replies -------------------------------------------------


@pytest.mark.parametrize(
    ("command", "multiline"),
    [
        ("LIST", True),  # RFC 1939 §5: no argument -> multi-line
        ("LIST 2", False),  # RFC 1939 §5: with argument -> one scan listing
        ("list", True),  # keywords are case-insensitive (RFC 1939 §3)
        ("UIDL", True),  # RFC 1939 §7
        ("UIDL 2", False),
        ("RETR 1", True),  # RFC 1939 §5
        ("TOP 1 10", True),  # RFC 1939 §7
        ("CAPA", True),  # RFC 2449 §5
        ("CAPA\r\n", True),
        ("AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=", False),  # RFC 5034 §4
        ("AUTH DIGEST-MD5", False),
        ("STAT", False),
        ("DELE 1", False),
        ("NOOP", False),
        ("RSET", False),
        ("QUIT", False),
        ("USER mrose", False),
        ("PASS secret", False),
        ("APOP mrose c4c9334bac560ecc979e58001b3e22fb", False),
        ("STLS", False),
        ("", False),
    ],
)
def test_pop3_command_is_multiline(command: str, multiline: bool) -> None:
    assert pop3_command_is_multiline(command) is multiline
