"""A 50 MB message delivered in chunks never sits in memory (DESIGN.md "Budgets")."""

from __future__ import annotations

import asyncio
import hashlib
import tracemalloc
from pathlib import Path
from typing import Final

from reference_server.storage.store import MaildirStore

MESSAGE_OCTETS: Final = 50 * 1024 * 1024
CHUNK: Final = (b"0123456789" * 6 + b"abcdefghijklmnop\r\n") * 840  # 65,520 octets of CRLF lines
PEAK_LIMIT: Final = 5 * 1024 * 1024  # a tenth of the message: anything near 50 MB means it was held


def test_fifty_megabytes_with_bounded_memory(tmp_path: Path) -> None:
    store = MaildirStore(tmp_path)
    store.ensure_user("alice")
    chunks = MESSAGE_OCTETS // len(CHUNK) + 1
    prefix = b"Return-Path: <big@example.org>\r\n"

    async def deliver() -> None:
        message = store.open_incoming()
        for _ in range(chunks):
            message.write(CHUNK)
        await store.deliver(message, ["alice"], prefix)

    tracemalloc.start()
    try:
        asyncio.run(deliver())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_LIMIT

    expected = hashlib.sha256(prefix)
    for _ in range(chunks):
        expected.update(CHUNK)
    (info,) = store.snapshot("alice").messages
    assert info.size == len(prefix) + chunks * len(CHUNK)  # CRLF only: wire size = file size
    stored = hashlib.sha256()
    with store.open_message("alice", "INBOX", info.uid) as stream:
        while piece := stream.read(1 << 20):
            stored.update(piece)
    assert stored.hexdigest() == expected.hexdigest()
    assert list((tmp_path / "spool" / "tmp").iterdir()) == []
