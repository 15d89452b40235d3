"""Feeding a reply reader its input in every kind of piece: what the three reader tests share.

TCP may cut a server's output anywhere, so a reader must frame the same replies whether a
stream arrives whole, one octet at a time, or in pieces of any size.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, TypeVar

SEEDS = range(8)


class Framed(Protocol):
    @property
    def raw(self) -> bytes: ...


ReplyT = TypeVar("ReplyT")
ReplyT_co = TypeVar("ReplyT_co", covariant=True)
FramedT = TypeVar("FramedT", bound=Framed)


class ReplyReader(Protocol[ReplyT_co]):
    """What SmtpReader, Pop3Reader and ImapReader have in common."""

    def feed(self, data: bytes) -> None: ...

    def next_reply(self) -> ReplyT_co | None: ...

    @property
    def buffered(self) -> bytes: ...


def chunkings(data: bytes, step: int) -> Iterator[tuple[str, list[bytes]]]:
    """Whole, one octet at a time, and random splits (with seed s, pieces of 1 to 2 + s * step octets)."""
    yield "whole", [data]
    yield "bytewise", [data[i : i + 1] for i in range(len(data))]
    for seed in SEEDS:
        rng = random.Random(seed)
        chunks: list[bytes] = []
        position = 0
        while position < len(data):
            size = rng.randint(1, 2 + seed * step)
            chunks.append(data[position : position + size])
            position += size
        yield f"seed{seed}", chunks


def read_replies(reader: ReplyReader[ReplyT], chunks: Sequence[bytes]) -> list[ReplyT]:
    """Every reply `reader` frames from `chunks`, which must end exactly at the end of a reply."""
    replies: list[ReplyT] = []
    for chunk in chunks:
        reader.feed(chunk)
        while (reply := reader.next_reply()) is not None:
            replies.append(reply)
    assert reader.buffered == b""
    return replies


def read_in_every_chunking(read: Callable[[list[bytes]], list[FramedT]], stream: bytes, step: int) -> list[FramedT]:
    """The replies of `stream`, after checking that every chunking frames the same ones, octet for octet."""
    results = {name: read(chunks) for name, chunks in chunkings(stream, step)}
    reference = results["whole"]
    for name, replies in results.items():
        assert replies == reference, name
    assert b"".join(reply.raw for reply in reference) == stream
    return reference
