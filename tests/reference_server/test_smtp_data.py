"""The DATA and BDAT decoders: transparency, end of data, smuggling, limits, fragmentation."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference_server.faults import Faults
from reference_server.smtp.data import TEXT_LINE_MAX, ChunkDecoder, DataPolicy, Defect, DotDecoder, has_long_line

NEXT_COMMAND = b"MAIL FROM:<next@example.org>\r\n"


def decode(
    pieces: Iterable[bytes], policy: DataPolicy | None = None, faults: Faults | None = None
) -> tuple[bytes, bytes | None, set[Defect]]:
    """Feed the pieces; return (stored, rest after the end or None if no end, defects)."""
    decoder = DotDecoder(policy or DataPolicy(None), faults or Faults())
    stored = b""
    rest = b""
    done = False
    for piece in pieces:
        if done:
            rest += piece
            continue
        result = decoder.feed(piece)
        stored += result.data
        if result.done:
            done = True
            rest += result.rest
    return stored, rest if done else None, decoder.defects


def one_byte_at_a_time(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def splits(data: bytes) -> list[list[bytes]]:
    """The stream whole, byte by byte, and cut at every position once."""
    cuts = [[data], one_byte_at_a_time(data)]
    cuts += [[data[:i], data[i:]] for i in range(1, len(data))]
    return cuts


MESSAGE = b"Subject: test\r\n\r\nline one\r\n..leading dot\r\n.\r\n"


@pytest.mark.parametrize("pieces", splits(MESSAGE + NEXT_COMMAND))
def test_unstuffing_and_end_of_data_under_any_fragmentation(pieces: list[bytes]) -> None:
    """§4.5.2: one leading dot removed; the line "." ends the data; the rest is the next command."""
    stored, rest, defects = decode(pieces)
    assert stored == b"Subject: test\r\n\r\nline one\r\n.leading dot\r\n"
    assert rest == NEXT_COMMAND
    assert defects == set()


def test_empty_message_ends_at_once() -> None:
    """The data may start with the end line: the first <CRLF> is the DATA command's (§4.1.1.4)."""
    assert decode([b".\r\nQUIT\r\n"]) == (b"", b"QUIT\r\n", set())


def test_the_crlf_before_the_final_dot_belongs_to_the_message() -> None:
    """RFC 6152 §3: the CR-LF pair immediately preceding the final dot is part of the content."""
    stored, _, _ = decode([b"a\r\nb\r\n.\r\n"])
    assert stored == b"a\r\nb\r\n"


def test_dot_only_line_inside_text_is_stuffed_not_an_end() -> None:
    stored, rest, _ = decode([b"a\r\n..\r\nb\r\n.\r\n"])
    assert stored == b"a\r\n.\r\nb\r\n"
    assert rest == b""


@pytest.mark.parametrize(
    "sequence",
    [
        b"\n.\n",  # <LF>.<LF>, named in §4.1.1.4
        b"\r.\r",  # <CR>.<CR>
        b"\n.\r\n",  # <LF>.<CR><LF>
        b"\r\n.\n",  # <CR><LF>.<LF>
        b"\r.\r\n",
    ],
)
def test_smuggling_sequences_never_end_the_data(sequence: bytes) -> None:
    """§2.3.8 / §4.1.1.4: only <CRLF>.<CRLF> ends mail data."""
    stream = b"Subject: a\r\n\r\nbody" + sequence + NEXT_COMMAND + b"more\r\n.\r\n"
    for pieces in ([stream], one_byte_at_a_time(stream)):
        stored, rest, defects = decode(pieces, DataPolicy(None, reject_bare_newlines=False))
        assert rest == b"", "the data ended early: the smuggled command would run"
        assert NEXT_COMMAND in stored
        assert defects & {Defect.BARE_LF, Defect.BARE_CR}


def test_bare_lf_and_cr_are_defects() -> None:
    assert decode([b"a\nb\r\n.\r\n"])[2] == {Defect.BARE_LF}
    assert decode([b"a\rb\r\n.\r\n"])[2] == {Defect.BARE_CR}
    assert decode([b"a\r\n\nb\r\n.\r\n"])[2] == {Defect.BARE_LF}
    assert decode([b"a\r", b"\nb\r\n.\r\n"])[2] == set()  # a CRLF split across reads is fine


def test_bare_newlines_reject_stops_storing_but_reads_to_the_end() -> None:
    stored, rest, defects = decode([b"good\r\nbad\nline\r\n", b"more\r\n.\r\nQUIT\r\n"])
    assert stored == b""
    assert rest == b"QUIT\r\n"
    assert Defect.BARE_LF in defects


def test_bare_newlines_accept_stores_as_received() -> None:
    data, _, defects = decode([b"a\nb\rc\r\n.\r\n"], DataPolicy(None, reject_bare_newlines=False))
    assert data == b"a\nb\rc\r\n"
    assert defects == {Defect.BARE_LF, Defect.BARE_CR}


def test_text_line_limit_counts_crlf_but_not_the_stuffed_dot() -> None:
    """§4.5.3.1.6: 1000 octets including <CRLF>, not counting the leading dot for transparency."""
    longest = b"x" * (TEXT_LINE_MAX - 2) + b"\r\n"
    assert decode([longest + b".\r\n"])[2] == set()
    assert decode([b"." + longest + b".\r\n"])[2] == set()  # stuffed: 1001 on the wire, 1000 counted
    too_long = b"x" * (TEXT_LINE_MAX - 1) + b"\r\n"
    for pieces in ([too_long + b".\r\n"], [too_long[:500], too_long[500:] + b".\r\n"]):
        stored, rest, defects = decode(pieces)
        assert defects == {Defect.LONG_LINE}
        assert stored == b"" and rest == b""


@pytest.mark.parametrize("short_lines", [0, 1, 12, 13, 200])
def test_a_long_line_is_found_after_any_number_of_short_ones(short_lines: int) -> None:
    short = b"s" * 76 + b"\r\n"
    too_long = b"x" * (TEXT_LINE_MAX - 1) + b"\r\n"
    _, _, defects = decode([short * short_lines + too_long + short + b".\r\n"])
    assert defects == {Defect.LONG_LINE}
    _, _, defects = decode([short * short_lines + too_long[1:] + short + b".\r\n"])
    assert defects == set()


@given(st.lists(st.integers(min_value=0, max_value=30), max_size=12), st.integers(min_value=1, max_value=25))
def test_has_long_line_agrees_with_measuring_every_line(lengths: list[int], limit: int) -> None:
    body = b"".join(b"y" * length + b"\n" for length in lengths)
    for text in (body, body + b"z" * limit, body[:-1]):
        every_line = max((len(line) for line in text.split(b"\n")), default=0) >= limit
        assert has_long_line(text, limit) is every_line


def test_a_huge_line_is_not_buffered() -> None:
    decoder = DotDecoder(DataPolicy(None))
    for _ in range(100):
        decoder.feed(b"y" * 100_000)
    assert len(decoder._tail) <= TEXT_LINE_MAX + 1
    result = decoder.feed(b"\r\n.\r\n")
    assert result.done and decoder.defects == {Defect.LONG_LINE}


def test_size_limit_counts_unstuffed_octets() -> None:
    """RFC 1870 §5: CRLFs count, the terminating dot and stuffing dots do not."""
    assert decode([b"..ab\r\n.\r\n"], DataPolicy(5))[2] == set()  # ".ab\r\n" is 5 octets
    stored, rest, defects = decode([b"abcd\r\n.\r\nNOOP\r\n"], DataPolicy(5))
    assert defects == {Defect.TOO_BIG} and stored == b"" and rest == b"NOOP\r\n"


def test_size_is_reported() -> None:
    decoder = DotDecoder(DataPolicy(None))
    decoder.feed(b"12345\r\n.\r\n")
    assert decoder.size == 7


def test_feed_after_end_is_an_error() -> None:
    decoder = DotDecoder(DataPolicy(None))
    decoder.feed(b".\r\n")
    with pytest.raises(RuntimeError):
        decoder.feed(b"x")


def test_eight_bit_and_nul_octets_pass_through() -> None:
    body = bytes(range(256)).replace(b"\r", b"").replace(b"\n", b"") + b"\r\n"
    assert decode([body + b".\r\n"])[0] == body


# --- the faults decided in the decoder -------------------------------------------------------


def test_fault_dot_unstuffing_missing() -> None:
    faults = Faults.of(["smtp.dot-unstuffing-missing"])
    assert decode([b"..x\r\na\r\n..y\r\n.\r\n"], faults=faults)[0] == b"..x\r\na\r\n..y\r\n"


def test_fault_bare_lf_ends_data() -> None:
    faults = Faults.of(["smtp.bare-lf-ends-data"])
    _, rest, _ = decode([b"body\n.\n" + NEXT_COMMAND], DataPolicy(None, reject_bare_newlines=False), faults)
    assert rest == NEXT_COMMAND


def test_fault_long_line_truncated() -> None:
    faults = Faults.of(["smtp.long-line-truncated"])
    long_line = b"z" * 1500 + b"\r\n"
    for pieces in ([long_line + b"end\r\n.\r\n"], [long_line[:1200], long_line[1200:] + b"end\r\n.\r\n"]):
        stored, rest, defects = decode(pieces, faults=faults)
        assert defects == set()
        assert stored == b"z" * (TEXT_LINE_MAX - 2) + b"\r\nend\r\n"
        assert rest == b""


# --- BDAT ---------------------------------------------------------------------------------------------


def test_chunk_decoder_counts_exact_octets() -> None:
    """RFC 3030 §2: exactly chunk-size octets, binary, no stuffing; the rest is the next command."""
    decoder = ChunkDecoder(6)
    first = decoder.feed(b".\r\n")
    assert (first.data, first.done) == (b".\r\n", False)
    second = decoder.feed(b"\x00\nxBDAT 0 LAST\r\n")
    assert (second.data, second.done, second.rest) == (b"\x00\nx", True, b"BDAT 0 LAST\r\n")


@pytest.mark.parametrize(
    ("fault", "pieces"),
    [
        ("smtp.bare-cr-ends-data", [b"body\r.\r" + NEXT_COMMAND]),
        ("smtp.dot-line-trimmed", [b"body\r\n. \r\n" + NEXT_COMMAND]),
        ("smtp.unstuff-before-end-check", [b"body\r\n..\r\n" + NEXT_COMMAND]),
        ("smtp.end-of-data-missed-across-reads", [b"body\r\n.", b"\r\n" + NEXT_COMMAND]),
    ],
)
def test_faults_in_the_end_of_data_check(fault: str, pieces: list[bytes]) -> None:
    """§4.5.2: only <CRLF>.<CRLF> ends the data, wherever the reads split it; §2.3.8: CR alone is no line end."""
    policy = DataPolicy(None, reject_bare_newlines=False)
    _, rest, _ = decode(pieces, policy)
    if fault == "smtp.end-of-data-missed-across-reads":
        assert rest == NEXT_COMMAND  # the correct decoder finds the end split across the reads
        assert decode(pieces, policy, Faults.of([fault]))[1] is None
    else:
        assert rest is None  # the sequence is data; the end has not come yet
        assert decode(pieces, policy, Faults.of([fault]))[1] == NEXT_COMMAND


def test_fault_text_line_limit_exclusive() -> None:
    """§4.5.3.1.6: a text line of 1000 octets including its CRLF is within the limit."""
    line = b"y" * (TEXT_LINE_MAX - 2) + b"\r\n"
    policy = DataPolicy(None)
    assert Defect.LONG_LINE not in decode([line + b".\r\n"], policy)[2]
    assert Defect.LONG_LINE in decode([line + b".\r\n"], policy, Faults.of(["smtp.text-line-limit-exclusive"]))[2]
