"""POP3 parsing, message encoding and response rendering, checked against RFC 1939 §3, §7, §11."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference_server.pop3 import responses
from reference_server.pop3.parsing import (
    COMMAND_LINE_MAX,
    CommandSyntaxError,
    MessageEncoder,
    has_empty_argument,
    is_valid_unique_id,
    parse_apop_digest,
    parse_auth_arguments,
    parse_line_count,
    parse_message_number,
    split_command,
)


def test_command_line_limit_is_rfc2449_255() -> None:
    assert COMMAND_LINE_MAX == 255  # RFC 2449 §4


@pytest.mark.parametrize("line", [b"stat", b"STAT", b"sTaT"])
def test_keywords_are_case_insensitive(line: bytes) -> None:
    assert split_command(line).keyword == "STAT"  # RFC 1939 §3


def test_keyword_case_kept_under_the_fault_switch() -> None:
    assert split_command(b"stat", case_sensitive=True).keyword == "stat"


def test_arguments_and_rest() -> None:
    command = split_command(b"TOP 1 10")
    assert command.arguments == ("1", "10")
    password = split_command(b"PASS my secret  phrase")
    assert password.rest == "my secret  phrase"  # RFC 1939 §7: spaces may be part of the password
    assert split_command(b"STAT").arguments == () and split_command(b"STAT").rest == ""


@pytest.mark.parametrize("line", [b"", b"AB", b"ABCDE", b"12 3", b"ST\xffT", b"LIST\x001", b" STAT"])
def test_lines_that_are_not_commands(line: bytes) -> None:
    assert split_command(line).keyword == ""


def test_double_space_is_an_empty_argument() -> None:
    assert has_empty_argument(split_command(b"LIST  1"))
    assert not has_empty_argument(split_command(b"LIST 1"))


def test_trailing_space_is_tolerated() -> None:
    assert split_command(b"STAT ").arguments == ()


@pytest.mark.parametrize(("text", "number"), [("1", 1), ("42", 42), ("0", None), ("00", None), ("9" * 11, None)])
def test_message_numbers(text: str, number: int | None) -> None:
    assert parse_message_number(text) == number


@pytest.mark.parametrize("text", ["", "-1", "+1", "1a", "x", "١"])
def test_bad_message_numbers(text: str) -> None:
    with pytest.raises(CommandSyntaxError):
        parse_message_number(text)


def test_line_counts() -> None:
    assert parse_line_count("0") == 0 and parse_line_count("15") == 15
    with pytest.raises(CommandSyntaxError):
        parse_line_count("-1")


def test_apop_digest_is_32_hex_digits() -> None:
    assert parse_apop_digest("C4C9334BAC560ECC979E58001B3E22FB") == "c4c9334bac560ecc979e58001b3e22fb"
    for bad in ("c4c9", "g" * 32, "c4c9334bac560ecc979e58001b3e22fb0"):
        with pytest.raises(CommandSyntaxError):
            parse_apop_digest(bad)


def test_auth_arguments() -> None:
    assert parse_auth_arguments(("plain",)) == ("PLAIN", None)
    assert parse_auth_arguments(("PLAIN", "=")) == ("PLAIN", "=")
    for bad in ((), ("PLAIN", "a", "b"), ("x" * 21,), ("PL@IN",)):
        with pytest.raises(CommandSyntaxError):
            parse_auth_arguments(bad)


def test_unique_id_range() -> None:
    assert is_valid_unique_id("whqtswO00WBw418f9t5JxYwZ")  # the RFC 1939 §7 example
    assert is_valid_unique_id("!" * 70)
    assert not is_valid_unique_id("")
    assert not is_valid_unique_id("a" * 71)
    assert not is_valid_unique_id("a b")


# --- the message encoder ----------------------------------------------------------------


def encode(chunks: list[bytes], body_lines: int | None = None, stuff: bool = True) -> bytes:
    encoder = MessageEncoder(body_lines, stuff=stuff)
    out = b""
    for chunk in chunks:
        if encoder.done:
            break
        out += encoder.feed(chunk)
    return out + encoder.finish()


def every_split(data: bytes) -> list[list[bytes]]:
    return [[data]] + [[data[:i], data[i:]] for i in range(1, len(data))] + [[bytes([b]) for b in data]]


def test_crlf_message_passes_unchanged_plus_terminator() -> None:
    message = b"Subject: x\r\n\r\nhello\r\n"
    for chunks in every_split(message):
        assert encode(chunks) == message + b".\r\n"


def test_lines_starting_with_the_termination_octet_are_stuffed() -> None:
    """RFC 1939 §3: such lines get the termination octet prepended."""
    message = b"Subject: x\r\n\r\n.\r\n..two\r\nmid.dle\r\n.\r\n"
    expected = b"Subject: x\r\n\r\n..\r\n...two\r\nmid.dle\r\n..\r\n.\r\n"
    for chunks in every_split(message):
        assert encode(chunks) == expected


def test_bare_lf_goes_out_as_crlf() -> None:
    """Sizes count CRLF (RFC 1939 §11), so what is sent must end lines in CRLF too."""
    message = b"A: b\n\n.x\nlast\r\n"
    expected = b"A: b\r\n\r\n..x\r\nlast\r\n.\r\n"
    for chunks in every_split(message):
        assert encode(chunks) == expected


def test_unterminated_last_line_is_closed_before_the_terminator() -> None:
    assert encode([b"A: b\r\n\r\nno newline"]) == b"A: b\r\n\r\nno newline\r\n.\r\n"
    assert encode([b"A: b\r\n\r\nends in CR\r"]) == b"A: b\r\n\r\nends in CR\r\n.\r\n"


def test_without_stuffing_under_the_fault_switch() -> None:
    assert encode([b"A: b\r\n\r\n.x\r\n"], stuff=False) == b"A: b\r\n\r\n.x\r\n.\r\n"


def test_top_sends_headers_blank_line_and_n_body_lines() -> None:
    """RFC 1939 §7 TOP."""
    message = b"A: 1\r\nB: 2\r\n\r\nline1\r\n.line2\r\nline3\r\n"
    for chunks in every_split(message):
        assert encode(chunks, 0) == b"A: 1\r\nB: 2\r\n\r\n.\r\n"
        assert encode(chunks, 2) == b"A: 1\r\nB: 2\r\n\r\nline1\r\n..line2\r\n.\r\n"
        assert encode(chunks, 10) == b"A: 1\r\nB: 2\r\n\r\nline1\r\n..line2\r\nline3\r\n.\r\n"


def test_top_with_bare_lf_blank_line() -> None:
    assert encode([b"A: 1\n\nbody\nmore\n"], 1) == b"A: 1\r\n\r\nbody\r\n.\r\n"


# --- responses ----------------------------------------------------------------------------


def test_status_indicators_are_upper_case() -> None:
    assert responses.render(responses.ok("x")) == b"+OK x\r\n"
    assert responses.render(responses.err("y")) == b"-ERR y\r\n"
    assert responses.render(responses.OK_PLAIN) == b"+OK\r\n"


def test_multi_line_body_is_stuffed_and_terminated() -> None:
    rendered = responses.render(responses.ok("list", ("1 10", ".odd")))
    assert rendered == b"+OK list\r\n1 10\r\n..odd\r\n.\r\n"
    assert responses.render(responses.ok("empty", ())) == b"+OK empty\r\n.\r\n"


def test_sasl_continuation() -> None:
    assert responses.render(responses.Continuation("")) == b"+ \r\n"  # RFC 5034 §4


def test_response_line_limit() -> None:
    responses.ok("x" * (512 - 6))  # "+OK " + text + CRLF = 512 octets
    with pytest.raises(ValueError):
        responses.ok("x" * (512 - 5))


def test_response_codes_are_bracketed_first() -> None:
    """RFC 2449 §8: the code opens the text; IN-USE is the §8.1.2 name."""
    assert responses.ERR_IN_USE.text.startswith("[IN-USE]")
    assert responses.ERR_AUTH_FAILED.text.startswith("[AUTH]")


# --- the encoder against the RFC rules, on any input and any chunking ----------------------


def rfc1939_body(stored: bytes) -> bytes:
    """What §3 and §11 say goes out for a stored message, written as plainly as possible.

    Lines end at LF, a CR just before it belonging to the line end; every line is sent with
    CRLF (§11 counts a one-character line end as two octets), prefixed with "." when it starts
    with "." (§3), and an unterminated last line -- a CR at its very end read as the start of
    its line end -- is closed with CRLF before the ".CRLF" terminator.
    """
    pieces = stored.split(b"\n")
    last = pieces.pop()
    lines = [piece[:-1] if piece.endswith(b"\r") else piece for piece in pieces]
    if last:
        lines.append(last[:-1] if last.endswith(b"\r") else last)
    return b"".join((b"." if line.startswith(b".") else b"") + line + b"\r\n" for line in lines) + b".\r\n"


@given(
    stored=st.binary(max_size=64).map(lambda raw: bytes(b"\r\n.a"[octet % 4] for octet in raw)),
    cuts=st.lists(st.integers(min_value=0, max_value=64), max_size=6),
)
def test_retr_body_follows_the_rfc_rules_however_the_file_is_chunked(stored: bytes, cuts: list[int]) -> None:
    bounds = sorted({0, len(stored), *(cut for cut in cuts if cut <= len(stored))})
    chunks = [stored[start:end] for start, end in itertools.pairwise(bounds)]
    assert encode(chunks) == rfc1939_body(stored)


def test_stuffing_follows_a_crlf_split_between_chunks() -> None:
    assert encode([b"A: b\r", b"\n.x\r\n"]) == b"A: b\r\n..x\r\n.\r\n"
    assert encode([b"A: b\r\n", b".x\r", b"\n", b"..\r\n"]) == b"A: b\r\n..x\r\n...\r\n.\r\n"


def test_a_dot_inside_a_line_split_between_chunks_is_not_stuffed() -> None:
    assert encode([b"A: b\r\nmid", b".dle\r\n"]) == b"A: b\r\nmid.dle\r\n.\r\n"
