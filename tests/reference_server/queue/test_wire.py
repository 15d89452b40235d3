"""The relay client's pure wire layer: replies, EHLO keywords, MAIL/RCPT lines, dot-stuffing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference_server.queue.wire import (
    DotStuffer,
    MalformedReplyError,
    PathError,
    Reply,
    ReplyReader,
    ehlo_command,
    enhanced_code,
    format_path,
    helo_command,
    mail_command,
    parse_ehlo,
    rcpt_command,
    stuff,
)


def read_all(*pieces: bytes) -> list[Reply]:
    reader = ReplyReader()
    replies: list[Reply] = []
    for piece in pieces:
        replies.extend(reader.feed(piece))
    return replies


def unstuff(wire: bytes) -> bytes:
    """The server's side of RFC 5321 §4.5.2, written independently: lines up to the lone '.'."""
    lines = wire.split(b"\r\n")
    out: list[bytes] = []
    for line in lines:
        if line == b".":
            return b"".join(part + b"\r\n" for part in out)
        out.append(line[1:] if line.startswith(b".") else line)
    raise AssertionError(f"no end-of-data line in {wire!r}")


# --- replies ---------------------------------------------------------------------------


def test_single_line_reply_with_enhanced_code() -> None:
    (reply,) = read_all(b"250 2.1.5 Recipient ok\r\n")
    assert reply == Reply(250, "2.1.5", ("2.1.5 Recipient ok",))
    assert reply.text == "Recipient ok"
    assert reply.severity == 2
    assert str(reply) == "250 2.1.5 Recipient ok"


def test_multiline_reply_keeps_every_line_and_strips_the_enhanced_code_from_each() -> None:
    (reply,) = read_all(b"550-5.1.1 No such user\r\n550-5.1.1 here or\r\n550 5.1.1 anywhere\r\n")
    assert reply.code == 550 and reply.enhanced == "5.1.1"
    assert reply.lines == ("5.1.1 No such user", "5.1.1 here or", "5.1.1 anywhere")
    assert reply.text == "No such user here or anywhere"


def test_replies_split_anywhere_and_several_in_one_read() -> None:
    stream = b"220 mx ready\r\n250-mx\r\n250-PIPELINING\r\n250 SIZE 1000\r\n354 go\r\n"
    expected = [
        Reply(220, None, ("mx ready",)),
        Reply(250, None, ("mx", "PIPELINING", "SIZE 1000")),
        Reply(354, None, ("go",)),
    ]
    assert read_all(stream) == expected
    assert read_all(*[stream[i : i + 1] for i in range(len(stream))]) == expected
    for cut in range(1, len(stream)):
        assert read_all(stream[:cut], stream[cut:]) == expected


def test_bare_code_and_lone_lf_are_accepted() -> None:
    # RFC 5321 §4.2: a client SHOULD process the code alone, with or without a trailing space.
    assert read_all(b"250\r\n", b"251 \r\n", b"252 ok\n") == [
        Reply(250, None, ("",)),
        Reply(251, None, ("",)),
        Reply(252, None, ("ok",)),
    ]


def test_enhanced_code_only_when_it_agrees_with_the_reply_class() -> None:
    assert enhanced_code(450, "4.2.1 busy") == "4.2.1"
    assert enhanced_code(550, "4.2.1 busy") is None  # RFC 2034 §4: must agree with the code
    assert enhanced_code(250, "2.0.0") == "2.0.0"
    assert enhanced_code(250, "2.0.0x ok") is None
    assert enhanced_code(250, "2.1000.0 ok") is None  # RFC 3463: subject is 1*3digit
    assert enhanced_code(354, "3.0.0 go") is None  # class is 2, 4 or 5
    assert enhanced_code(250, "ok 2.0.0") is None


def test_reader_reports_pending_input() -> None:
    reader = ReplyReader()
    assert not reader.pending
    assert reader.feed(b"250-first\r\n") == []
    assert reader.pending  # half of a multi-line reply
    assert reader.feed(b"250 last\r\n220 ") == [Reply(250, None, ("first", "last"))]
    assert reader.pending  # the start of the next one


@pytest.mark.parametrize(
    ("stream", "reason"),
    [
        (b"hello there\r\n", "does not start with a three-digit code"),
        (b"25\r\n", "does not start with a three-digit code"),
        (b"2x0 ok\r\n", "does not start with a three-digit code"),
        (b"650 what\r\n", "outside 2yz-5yz"),
        (b"150 what\r\n", "outside 2yz-5yz"),
        (b"250_ok\r\n", "no space or hyphen"),
        (b"250-one\r\n251 two\r\n", "continuation line has code 251, the reply started with 250"),
        (b"250 " + b"x" * 508 + b"\r\n", "longer than 512 octets"),
        (b"250 " + b"x" * 600, "longer than 512 octets"),
        (b"250-x\r\n" * 250, "more than 200 lines"),
    ],
)
def test_malformed_replies_raise_a_specific_error(stream: bytes, reason: str) -> None:
    reader = ReplyReader()
    with pytest.raises(MalformedReplyError, match=reason):
        reader.feed(stream)
    with pytest.raises(MalformedReplyError):  # the stream cannot be resynchronised
        reader.feed(b"250 ok\r\n")


def test_longest_legal_reply_line_is_accepted() -> None:
    line = b"250 " + b"x" * 506 + b"\r\n"
    assert len(line) == 512  # RFC 5321 §4.5.3.1.5, code and CRLF included
    (reply,) = read_all(line)
    assert reply.lines == ("x" * 506,)


# --- EHLO --------------------------------------------------------------------------------


def test_parse_ehlo_keywords_case_insensitive_with_params() -> None:
    (reply,) = read_all(
        b"250-mx.example Hello\r\n250-pipelining\r\n250-SIZE 35882577\r\n250-8BITMIME\r\n"
        b"250-AUTH PLAIN LOGIN\r\n250-AUTH=LOGIN\r\n250-Starttls\r\n250 SMTPUTF8\r\n"
    )
    extensions = parse_ehlo(reply)
    assert set(extensions.keywords) == {"PIPELINING", "SIZE", "8BITMIME", "AUTH", "STARTTLS", "SMTPUTF8"}
    assert extensions.offers("Pipelining") and extensions.offers("starttls")
    assert not extensions.offers("CHUNKING")
    assert extensions.params("auth") == ("PLAIN", "LOGIN")  # the first AUTH line wins
    assert extensions.size_limit == 35882577


def test_parse_ehlo_old_equals_form_and_junk_lines() -> None:
    (reply,) = read_all(b"250-mx\r\n250-AUTH=LOGIN PLAIN\r\n250-#$%!\r\n250 X_BAD\r\n")
    extensions = parse_ehlo(reply)
    assert extensions.params("AUTH") == ("LOGIN", "PLAIN")
    assert extensions.ignored == ("#$%!", "X_BAD")
    assert set(extensions.keywords) == {"AUTH"}


@pytest.mark.parametrize(
    ("line", "limit"),
    [(b"250 SIZE", None), (b"250 SIZE 0", None), (b"250 SIZE abc", None), (b"250 SIZE 1000", 1000)],
)
def test_size_limit(line: bytes, limit: int | None) -> None:
    # RFC 1870 §4: the number is the largest message accepted; none (or 0) means no fixed limit.
    (reply,) = read_all(b"250-mx\r\n" + line + b"\r\n")
    extensions = parse_ehlo(reply)
    assert extensions.offers("SIZE")
    assert extensions.size_limit == limit


def test_greeting_line_is_not_an_extension() -> None:
    (reply,) = read_all(b"250 PIPELINING\r\n")  # a server named PIPELINING offers nothing
    assert not parse_ehlo(reply).offers("PIPELINING")


# --- commands ------------------------------------------------------------------------------


def test_mail_command_with_parameters() -> None:
    assert mail_command("a@b.example") == b"MAIL FROM:<a@b.example>\r\n"
    assert mail_command("") == b"MAIL FROM:<>\r\n"
    assert (
        mail_command("a@b.example", size=1234, body="8bitmime", smtputf8=False)
        == b"MAIL FROM:<a@b.example> SIZE=1234 BODY=8BITMIME\r\n"
    )
    assert (
        mail_command("jörg@b.example", size=0, smtputf8=True)
        == "MAIL FROM:<jörg@b.example> SIZE=0 SMTPUTF8\r\n".encode()
    )


def test_rcpt_command() -> None:
    assert rcpt_command("bob@c.example") == b"RCPT TO:<bob@c.example>\r\n"
    assert rcpt_command('"john doe"@c.example') == b'RCPT TO:<"john doe"@c.example>\r\n'
    assert rcpt_command("δοκιμή@c.example", smtputf8=True) == "RCPT TO:<δοκιμή@c.example>\r\n".encode()


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("", "empty forward-path"),
        ("bob@c.example>\r\nDATA", "contains"),
        ("bob\n@c.example", "contains"),
        ("<bob@c.example>", "contains"),
        ("bøb@c.example", "not ASCII"),
    ],
)
def test_unsendable_forward_paths(address: str, reason: str) -> None:
    with pytest.raises(PathError, match=reason):
        rcpt_command(address)


def test_format_path_and_bad_parameters() -> None:
    assert format_path("", null_allowed=True) == b"<>"
    with pytest.raises(ValueError, match="BODY=BINARYMIME"):
        mail_command("a@b.example", body="BINARYMIME")
    with pytest.raises(ValueError, match="negative"):
        mail_command("a@b.example", size=-1)


def test_hello_commands() -> None:
    assert ehlo_command("relay.example") == b"EHLO relay.example\r\n"
    assert helo_command("[192.0.2.1]") == b"HELO [192.0.2.1]\r\n"
    for bad in ("", "two words", "crlf\r\nQUIT", "héllo"):
        with pytest.raises(ValueError, match="helo name"):
            ehlo_command(bad)


# --- dot-stuffing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "wire"),
    [
        (b"", b".\r\n"),
        (b"a\r\n", b"a\r\n.\r\n"),
        (b".\r\n", b"..\r\n.\r\n"),
        (b"a\r\n.\r\nb\r\n", b"a\r\n..\r\nb\r\n.\r\n"),
        (b"..x\r\n", b"...x\r\n.\r\n"),
        (b"a\r\n.b\r\n.", b"a\r\n..b\r\n..\r\n.\r\n"),  # and the missing final CRLF is added
        (b"no newline", b"no newline\r\n.\r\n"),
        (b"a.\r\n b. .\r\n", b"a.\r\n b. .\r\n.\r\n"),  # only a dot at a line start counts
        (b"bare\n.lf\r\n", b"bare\n.lf\r\n.\r\n"),  # a line ends with CRLF, not LF alone
    ],
)
def test_stuff_examples(data: bytes, wire: bytes) -> None:
    assert stuff(data) == wire


def test_stuffing_across_every_chunk_boundary() -> None:
    data = b".start\r\nmid\r\n.\r\n..\r\nx\r\n.end"
    expected = stuff(data)
    assert expected == b"..start\r\nmid\r\n..\r\n...\r\nx\r\n..end\r\n.\r\n"
    for cut in range(len(data) + 1):
        stuffer = DotStuffer()
        assert stuffer.feed(data[:cut]) + stuffer.feed(data[cut:]) + stuffer.finish() == expected
    stuffer = DotStuffer()
    assert b"".join(stuffer.feed(data[i : i + 1]) for i in range(len(data))) + stuffer.finish() == expected


def test_without_transparency_lines_pass_unchanged() -> None:
    # The relay.dot-stuffing-missing defect: the data still ends properly.
    assert stuff(b".hidden\r\nx\r\n.\r\n", transparency=False) == b".hidden\r\nx\r\n.\r\n.\r\n"


def test_stuffer_refuses_use_after_finish() -> None:
    stuffer = DotStuffer()
    stuffer.finish()
    with pytest.raises(RuntimeError):
        stuffer.feed(b"x")
    with pytest.raises(RuntimeError):
        stuffer.finish()


_LINE_BYTES = st.sampled_from([b".", b"..", b"\r", b"\n", b"\r\n", b"a", b"\x80", b" ", b"\r\n."])


@given(pieces=st.lists(_LINE_BYTES, max_size=40), cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=6))
def test_unstuffing_what_was_stuffed_gives_the_input_back(pieces: list[bytes], cuts: list[int]) -> None:
    data = b"".join(pieces)
    stuffer = DotStuffer()
    wire = b""
    start = 0
    for cut in sorted(min(c, len(data)) for c in cuts):
        wire += stuffer.feed(data[start:cut])
        start = cut
    wire += stuffer.feed(data[start:]) + stuffer.finish()
    assert wire.endswith(b"\r\n.\r\n") or wire == b".\r\n"
    assert wire.count(b"\r\n.\r\n") == 1 or wire == b".\r\n"  # the terminator appears exactly once
    expected = data if data == b"" or data.endswith(b"\r\n") else data + b"\r\n"
    assert unstuff(wire) == expected
