"""SMTP reply framing: RFC 5321 §4.2 / Appendix D sessions, RFC 2034 §6 enhanced codes, defects."""

from __future__ import annotations

import pytest

from harness.readers.errors import ReplyFramingError
from harness.readers.smtp import (
    MAX_UNTERMINATED_LINE_OCTETS,
    SmtpReader,
    SmtpReply,
    ehlo_keywords,
    parse_enhanced_code,
)
from tests.harness.readers.feeding import read_in_every_chunking, read_replies

# RFC 5321 Appendix D.1: the server's side of a typical transaction, as sent on the wire.
D1_SERVER_LINES = (
    "220 foo.com Simple Mail Transfer Service Ready",
    "250-foo.com greets bar.com",
    "250-8BITMIME",
    "250-SIZE",
    "250-DSN",
    "250 HELP",
    "250 OK",
    "250 OK",
    "550 No such user here",
    "250 OK",
    "354 Start mail input; end with <CRLF>.<CRLF>",
    "250 OK",
    "221 foo.com Service closing transmission channel",
)
D1_STREAM = b"".join(line.encode() + b"\r\n" for line in D1_SERVER_LINES)

# RFC 2034 §6: the server's side of the usage example.
RFC2034_SERVER_LINES = (
    "220 dbc.mtview.ca.us SMTP service ready",
    "250-dbc.mtview.ca.us says hello",
    "250 ENHANCEDSTATUSCODES",
    "250 2.1.0 Originator <ned@ymir.claremont.edu> ok",
    "250 2.1.5 Recipient <mrose@dbc.mtview.ca.us> ok",
    '550 5.1.1 Mailbox "nosuchuser" does not exist',
    "551-5.7.1 Forwarding to remote hosts disabled",
    "551 5.7.1 Select another host to act as your forwarder",
    "354 Send message, ending in CRLF.CRLF.",
    "250 2.6.0 Message accepted",
    "221 2.0.0 Goodbye",
)
RFC2034_STREAM = b"".join(line.encode() + b"\r\n" for line in RFC2034_SERVER_LINES)


def read_all(chunks: list[bytes]) -> list[SmtpReply]:
    return read_replies(SmtpReader(), chunks)


def read_one(data: bytes) -> SmtpReply:
    replies = read_all([data])
    assert len(replies) == 1
    return replies[0]


@pytest.mark.parametrize("stream", [D1_STREAM, RFC2034_STREAM], ids=["rfc5321-D1", "rfc2034-6"])
def test_fragmentation_never_changes_the_replies(stream: bytes) -> None:
    read_in_every_chunking(read_all, stream, step=5)


def test_appendix_d1_scenario_frames_into_one_reply_per_command() -> None:
    replies = read_all([D1_STREAM])
    # Greeting, EHLO, MAIL, 3x RCPT, DATA, end of data, QUIT: nine replies for nine exchanges.
    assert [reply.code for reply in replies] == [220, 250, 250, 250, 550, 250, 354, 250, 221]
    ehlo = replies[1]
    assert ehlo.lines == ("foo.com greets bar.com", "8BITMIME", "SIZE", "DSN", "HELP")
    assert ehlo.raw == b"250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-SIZE\r\n250-DSN\r\n250 HELP\r\n"
    assert replies[4].text == "No such user here"
    assert all(reply.defects == () for reply in replies)
    assert all(reply.enhanced is None for reply in replies)


def test_ehlo_keywords_from_appendix_d1() -> None:
    ehlo = read_all([D1_STREAM])[1]
    assert ehlo_keywords(ehlo) == {"8BITMIME": "", "SIZE": "", "DSN": "", "HELP": ""}


def test_ehlo_keywords_are_case_insensitive_and_keep_parameters() -> None:
    # §4.1.1.1: keywords in any case, ehlo-line = ehlo-keyword *(SP ehlo-param).
    ehlo = read_one(
        b"250-mail.example greets you\r\n250-size 35882577\r\n250-Auth PLAIN LOGIN\r\n"
        b"250-AUTH=LOGIN\r\n250 x-custom-ext a b\r\n"
    )
    assert ehlo_keywords(ehlo) == {"SIZE": "35882577", "AUTH": "PLAIN LOGIN", "X-CUSTOM-EXT": "a b"}


def test_single_line_ehlo_reply_has_no_keywords() -> None:
    # ehlo-ok-rsp's first alternative: "250" SP Domain [ SP ehlo-greet ] CRLF.
    assert ehlo_keywords(read_one(b"250 foo.com\r\n")) == {}


def test_multiline_example_from_4_2_1() -> None:
    reply = read_one(
        b"250-First line\r\n250-Second line\r\n250-234 Text beginning with numbers\r\n250 The last line\r\n"
    )
    assert reply.code == 250
    assert reply.lines == ("First line", "Second line", "234 Text beginning with numbers", "The last line")
    assert reply.text == "First line\nSecond line\n234 Text beginning with numbers\nThe last line"
    assert reply.defects == ()


def test_enhanced_codes_of_rfc2034_example() -> None:
    replies = read_all([RFC2034_STREAM])
    assert [reply.enhanced for reply in replies] == [
        None,  # greeting: exempt (RFC 2034 §3 (4))
        None,  # EHLO: exempt
        "2.1.0",
        "2.1.5",
        "5.1.1",
        "5.7.1",
        None,  # 3xx carry none (RFC 2034 §4)
        "2.6.0",
        "2.0.0",
    ]
    forwarding = replies[5]
    assert forwarding.code == 551
    assert forwarding.enhanced_per_line == ("5.7.1", "5.7.1")
    assert forwarding.lines[1] == "5.7.1 Select another host to act as your forwarder"
    assert all(reply.defects == () for reply in replies)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2.1.23 ok", "2.1.23"),  # RFC 3463 §2 example
        ("5.7.1", "5.7.1"),
        ("4.123.456 busy", "4.123.456"),
        ("3.1.1 no such class", None),  # class = "2"/"4"/"5"
        ("2.1.2345 detail too long", None),  # detail = 1*3digit
        ("2.1.0abc", None),  # followed by one or more spaces (RFC 2034 §3)
        ("2.1 short", None),
        ("OK 2.1.0", None),  # must preface the text
    ],
)
def test_parse_enhanced_code_follows_rfc3463_grammar(text: str, expected: str | None) -> None:
    assert parse_enhanced_code(text) == expected


def test_bytes_after_a_reply_stay_buffered() -> None:
    reader = SmtpReader()
    reader.feed(b"250 OK\r\n354 Go")
    first = reader.next_reply()
    assert first is not None and first.raw == b"250 OK\r\n"
    assert reader.next_reply() is None
    assert reader.buffered == b"354 Go"
    reader.feed(b" ahead\r\n")
    second = reader.next_reply()
    assert second is not None and (second.code, second.lines) == (354, ("Go ahead",))


def test_incomplete_multiline_reply_is_not_returned() -> None:
    reader = SmtpReader()
    reader.feed(b"250-foo.com\r\n250-SIZE\r\n")
    assert reader.next_reply() is None
    reader.feed(b"250 HELP\r\n")
    reply = reader.next_reply()
    assert reply is not None and reply.lines == ("foo.com", "SIZE", "HELP")


def test_reset_forgets_buffered_octets() -> None:
    reader = SmtpReader()
    reader.feed(b"250-half a reply\r\n250-and")
    assert reader.next_reply() is None
    reader.reset()
    assert reader.buffered == b""
    reader.feed(b"220 fresh\r\n")
    reply = reader.next_reply()
    assert reply is not None and reply.raw == b"220 fresh\r\n"


# --- defects -------------------------------------------------------------------------------


def defects_of(data: bytes) -> str:
    return " | ".join(read_one(data).defects)


def test_bare_lf_is_a_defect_but_still_ends_the_line() -> None:
    reply = read_one(b"250-foo.com\n250 HELP\r\n")
    assert reply.lines == ("foo.com", "HELP")
    assert len(reply.defects) == 1
    assert "bare LF" in reply.defects[0] and "RFC 5321 §2.3.8" in reply.defects[0]


def test_codes_differing_between_lines() -> None:
    reply = read_one(b"250-first\r\n251 last\r\n")
    assert reply.code == 250
    assert reply.lines == ("first", "last")
    assert "§4.2.1" in defects_of(b"250-first\r\n251 last\r\n")


def test_fourth_character_neither_hyphen_nor_space_ends_the_reply() -> None:
    replies = read_all([b"250_odd\r\n221 bye\r\n"])
    assert [reply.code for reply in replies] == [250, 221]
    assert replies[0].lines == ("_odd",)
    assert any("§4.2.1" in defect and "'_'" in defect for defect in replies[0].defects)
    assert replies[1].defects == ()


@pytest.mark.parametrize("code", [b"199", b"600", b"000"])
def test_first_digit_outside_2_to_5(code: bytes) -> None:
    assert "first digit" in defects_of(code + b" text\r\n")
    assert "RFC 5321 §4.2" in defects_of(code + b" text\r\n")


def test_second_digit_outside_0_to_5() -> None:
    # Reply-code = %x32-35 %x30-35 %x30-39
    assert "second digit" in defects_of(b"260 text\r\n")
    assert defects_of(b"259 text\r\n") == ""


def test_reply_line_longer_than_512_octets() -> None:
    # §4.5.3.1.5: 512 octets including the code and CRLF is the limit.
    at_limit = b"250 " + b"x" * (512 - 4 - 2) + b"\r\n"
    over = b"250 " + b"x" * (512 - 4 - 1) + b"\r\n"
    assert len(at_limit) == 512 and len(over) == 513
    assert defects_of(at_limit) == ""
    assert "§4.5.3.1.5" in defects_of(over)


def test_bare_code_without_space() -> None:
    reply = read_one(b"250\r\n")
    assert (reply.code, reply.lines) == (250, ("",))
    joined = " | ".join(reply.defects)
    assert "not followed by SP" in joined
    assert "bare codes" in joined


def test_code_and_space_without_text_is_still_a_bare_code() -> None:
    reply = read_one(b"250 \r\n")
    assert reply.lines == ("",)
    assert len(reply.defects) == 1 and "bare codes" in reply.defects[0]


def test_bare_cr_and_control_octets_in_text() -> None:
    assert "bare CR" in defects_of(b"250 a\rb\r\n")
    assert "0x00" in defects_of(b"250 a\x00b\r\n")
    assert defects_of(b"250 tab\tis allowed\r\n") == ""


def test_enhanced_code_disagreeing_with_reply_code() -> None:
    assert "RFC 2034 §4" in defects_of(b"250 5.1.1 odd\r\n")


def test_enhanced_code_with_leading_zero() -> None:
    reply = read_one(b"250 2.01.0 ok\r\n")
    assert reply.enhanced == "2.01.0"
    assert any("RFC 3463 §2" in defect for defect in reply.defects)


def test_enhanced_code_must_repeat_on_every_line() -> None:
    reply = read_one(b"550-5.1.1 first\r\n550 5.1.2 second\r\n")
    assert reply.enhanced == "5.1.1"
    assert reply.enhanced_per_line == ("5.1.1", "5.1.2")
    assert any("line 2" in defect and "RFC 2034 §4" in defect for defect in reply.defects)


def test_utf8_text_is_decoded_and_invalid_octets_replaced() -> None:
    reply = read_one("250 café\r\n".encode())
    assert reply.lines == ("café",)
    assert read_one(b"250 \xff\r\n").lines == ("\ufffd",)


# --- framing errors ------------------------------------------------------------------------


@pytest.mark.parametrize("line", [b"hello\r\n", b"25\r\n", b"2x0 odd\r\n", b"\r\n", b" 250 indented\r\n"])
def test_line_without_three_digit_code_cannot_be_framed(line: bytes) -> None:
    reader = SmtpReader()
    reader.feed(line)
    with pytest.raises(ReplyFramingError):
        reader.next_reply()


def test_framing_error_is_a_value_error() -> None:
    assert issubclass(ReplyFramingError, ValueError)


def test_unterminated_line_over_the_cap_raises_as_soon_as_it_is_known() -> None:
    reader = SmtpReader()
    reader.feed(b"250 " + b"x" * (MAX_UNTERMINATED_LINE_OCTETS - 4))
    assert reader.next_reply() is None
    reader.feed(b"x")
    with pytest.raises(ReplyFramingError):
        reader.next_reply()


def test_terminated_line_over_the_cap_raises_too() -> None:
    reader = SmtpReader()
    reader.feed(b"250 " + b"x" * MAX_UNTERMINATED_LINE_OCTETS + b"\r\n")
    with pytest.raises(ReplyFramingError):
        reader.next_reply()


def test_line_at_the_cap_is_framed_with_a_length_defect() -> None:
    reader = SmtpReader(max_line_octets=600)
    reader.feed(b"250 " + b"x" * 595 + b"\r\n")  # 599 + CR = 600 octets before the LF
    reply = reader.next_reply()
    assert reply is not None and "§4.5.3.1.5" in " ".join(reply.defects)
