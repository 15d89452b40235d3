"""Receiving a message: bounded memory, spool file only for big messages, discard cleans up."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reference_server.storage.api import StorageError
from reference_server.storage.incoming import SpooledMessage


def test_small_message_stays_in_memory(tmp_path: Path) -> None:
    message = SpooledMessage(tmp_path, memory_limit=100)
    message.write(b"Subject: hi\r\n")
    message.write(b"\r\nbody\r\n")
    assert message.size == 21
    assert list(tmp_path.iterdir()) == []
    body = message.take()
    assert body.fd is None
    assert bytes(body.data) == b"Subject: hi\r\n\r\nbody\r\n"
    assert message.finished


def test_big_message_goes_to_the_spool(tmp_path: Path) -> None:
    message = SpooledMessage(tmp_path, memory_limit=10)
    for _ in range(100):
        message.write(b"0123456789\r\n")
    spooled = list(tmp_path.iterdir())
    assert len(spooled) == 1
    body = message.take()
    try:
        assert body.fd is not None
        assert body.octets == 1200
        assert os.pread(body.fd, 2000, 0) == b"0123456789\r\n" * 100
    finally:
        body.release()
    assert list(tmp_path.iterdir()) == []


def test_discard_removes_the_spool_file_and_is_idempotent(tmp_path: Path) -> None:
    message = SpooledMessage(tmp_path, memory_limit=1)
    message.write(b"more than one octet")
    assert len(list(tmp_path.iterdir())) == 1
    message.discard()
    message.discard()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(StorageError):
        message.write(b"late")
    with pytest.raises(StorageError):
        message.take()
