"""Wire sizes: every line end counts as CRLF (RFC 1939 §11, RFC 3501 §2.3.4)."""

from __future__ import annotations

import itertools
import re

from hypothesis import given
from hypothesis import strategies as st

from reference_server.storage.wiresize import WireSizeCounter, wire_size


def _wire_form(data: bytes) -> bytes:
    """The message as a client receives it: each LF without a CR before it sent as CRLF."""
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


def test_crlf_message_counts_its_own_length() -> None:
    assert wire_size(b"Subject: x\r\n\r\nbody\r\n") == 20


def test_bare_lf_counts_twice() -> None:
    # RFC 1939 §11: "counts each occurrence of this character in a message as two octets".
    assert wire_size(b"a\nb\n") == 6


def test_crlf_split_between_chunks_is_not_a_bare_lf() -> None:
    counter = WireSizeCounter()
    counter.feed(b"line\r")
    counter.feed(b"\nnext\r\n")
    assert counter.wire_octets == len(b"line\r\nnext\r\n")


def test_prefix_joined_to_body() -> None:
    body = WireSizeCounter()
    body.feed(b"\nrest\n")
    assert body.wire_octets_after(b"X: y\r") == len(_wire_form(b"X: y\r\nrest\n"))
    assert body.wire_octets_after(b"X: y\n") == len(_wire_form(b"X: y\n\nrest\n"))


_OCTETS = st.lists(st.sampled_from([b"\r", b"\n", b"\r\n", b"a", b"."]), max_size=40).map(b"".join)


@given(_OCTETS, st.lists(st.integers(min_value=0, max_value=40), max_size=5))
def test_chunking_never_changes_the_count(data: bytes, cuts: list[int]) -> None:
    counter = WireSizeCounter()
    edges = sorted({0, len(data), *(min(cut, len(data)) for cut in cuts)})
    for start, end in itertools.pairwise(edges):
        counter.feed(data[start:end])
    assert counter.stored_octets == len(data)
    assert counter.wire_octets == len(_wire_form(data))


@given(_OCTETS, _OCTETS)
def test_prefix_join_matches_the_whole(prefix: bytes, body: bytes) -> None:
    counter = WireSizeCounter()
    counter.feed(body)
    assert counter.wire_octets_after(prefix) == len(_wire_form(prefix + body))
