"""The incremental header scanner that counts Received: fields for loop detection (RFC 5321 §6.3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference_server.smtp.headerscan import HeaderScanner

MESSAGE = (
    b"Received: from a.example by b.example; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    b"received : from c.example\r\n"  # obsolete syntax: white space before the colon (RFC 5322 §4.5.3)
    b"  by d.example; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    b"RECEIVED: from e.example\r\n"
    b"\tReceived: this is a folded continuation, not a field\r\n"
    b"X-Received: not the same field\r\n"
    b"Received-SPF: pass\r\n"
    b"Subject: Received: in a value\r\n"
    b"\r\n"
    b"Received: in the body does not count\r\n"
)


def scan(*pieces: bytes) -> HeaderScanner:
    scanner = HeaderScanner()
    for piece in pieces:
        scanner.feed(piece)
    return scanner


def test_counts_fields_case_insensitively_and_ignores_look_alikes() -> None:
    scanner = scan(MESSAGE)
    assert scanner.count == 3  # the three real Received: fields above, by construction
    assert scanner.done


@given(st.lists(st.integers(min_value=0, max_value=len(MESSAGE)), max_size=12))
def test_any_split_into_chunks_gives_the_same_count(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    pieces = [MESSAGE[a:b] for a, b in zip([0, *points], [*points, len(MESSAGE)], strict=True)]
    assert scan(*pieces).count == 3


def test_one_octet_at_a_time_with_crlf_split() -> None:
    assert scan(*(MESSAGE[i : i + 1] for i in range(len(MESSAGE)))).count == 3


def test_stops_at_the_end_of_the_header_section() -> None:
    scanner = scan(b"Subject: x\r\n\r\n", b"Received: late\r\n" * 5)
    assert scanner.done
    assert scanner.count == 0


def test_header_without_body_or_final_newline_counts_what_is_complete() -> None:
    scanner = scan(b"Received: one\r\nReceived: two")  # the unterminated last line is not a field yet
    assert scanner.count == 1
    assert not scanner.done


def test_long_lines_do_not_grow_memory_and_still_count() -> None:
    scanner = HeaderScanner()
    scanner.feed(b"Received: " + b"x" * 100_000 + b"\r\nReceived: y\r\n")
    assert scanner.count == 2
    assert len(scanner._head) == 0  # nothing of the long line kept after it ended


@pytest.mark.parametrize("count", [100, 101, 150])
def test_many_fields(count: int) -> None:
    assert scan(b"Received: from x by y; date\r\n" * count + b"\r\nbody\r\n").count == count
