"""A message being received: kept in a small buffer, then streamed to a spool file once it is big.

Memory stays bounded whatever the message size: the first `memory_limit` octets are buffered
(most mail is a few kilobytes, and an fsync'd Maildir file is written from the buffer in one
system call), and as soon as a message outgrows that it goes to a file in the spool directory,
written in pieces of at most `SPOOL_WRITE_OCTETS`. The spool file is scratch space: it is not
fsync'd, since the message only becomes the server's responsibility when it is delivered.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from reference_server.storage.api import StorageError
from reference_server.storage.durable import copy_file, create_exclusive, write_all
from reference_server.storage.maildir import unique_name
from reference_server.storage.wiresize import WireSizeCounter

SPOOL_MEMORY_LIMIT: Final = 128 * 1024  # octets kept in memory before a message goes to the spool
SPOOL_WRITE_OCTETS: Final = 256 * 1024  # buffered octets per write(2) to the spool file


@dataclass(frozen=True)
class SpooledBody:
    """A received message handed over for delivery: in memory (`data`) or in a spool file (`fd`)."""

    data: bytes | bytearray
    fd: int | None
    path: Path | None
    counter: WireSizeCounter

    @property
    def octets(self) -> int:
        return self.counter.stored_octets

    def release(self) -> None:
        """Close and remove the spool file, if any (called once the delivery is over)."""
        if self.fd is not None:
            os.close(self.fd)
        if self.path is not None:
            self.path.unlink(missing_ok=True)


class SpooledMessage:
    """The store's IncomingMessage: write() chunks as they arrive, then deliver() or discard()."""

    def __init__(self, spool_dir: Path, memory_limit: int = SPOOL_MEMORY_LIMIT) -> None:
        self._spool_dir = spool_dir
        self._memory_limit = memory_limit
        self._buffer = bytearray()
        self._counter = WireSizeCounter()
        self._fd: int | None = None
        self._path: Path | None = None
        self._finished = False

    @property
    def size(self) -> int:
        """Octets written so far."""
        return self._counter.stored_octets

    @property
    def finished(self) -> bool:
        """True once the message was discarded or handed over for delivery."""
        return self._finished

    def write(self, chunk: bytes) -> None:
        """Append bytes exactly as they are to be stored (already dot-unstuffed, CRLF kept)."""
        if self._finished:
            raise StorageError("message already delivered or discarded")
        if not chunk:
            return
        self._counter.feed(chunk)
        self._buffer += chunk
        if self._fd is None and len(self._buffer) > self._memory_limit:
            self._open_spool_file()
        if self._fd is not None and len(self._buffer) >= SPOOL_WRITE_OCTETS:
            self._flush()

    def discard(self) -> None:
        """Throw the message away (transaction aborted, RSET, size exceeded, error); idempotent."""
        if self._finished:
            return
        self._finished = True
        self._buffer = bytearray()
        SpooledBody(b"", self._fd, self._path, self._counter).release()
        self._fd = None
        self._path = None

    def copy_to(self, fd: int) -> None:
        """Append every octet received so far to the file `fd`, leaving this message unchanged.

        A message for local mailboxes and for the outgoing queue feeds both: the queue's copy
        is made with this first, then delivery consumes the message as usual. A spooled message
        is copied inside the kernel (copy_file), so a large one never comes into memory.
        """
        if self._finished:
            raise StorageError("message already delivered or discarded")
        if self._fd is None:
            write_all(fd, self._buffer)
            return
        self._flush()
        try:
            copy_file(self._fd, fd, self.size)
        except OSError as error:
            raise StorageError(f"cannot copy spool file {self._path}: {error.strerror}") from error

    def take(self) -> SpooledBody:
        """Hand the received octets over to delivery; the message is finished afterwards."""
        if self._finished:
            raise StorageError("message already delivered or discarded")
        if self._fd is not None:
            try:
                self._flush()
            except BaseException:
                self.discard()
                raise
        self._finished = True
        body = SpooledBody(self._buffer if self._fd is None else b"", self._fd, self._path, self._counter)
        self._buffer = bytearray()
        self._fd = None
        self._path = None
        return body

    def _open_spool_file(self) -> None:
        path = self._spool_dir / unique_name()
        try:
            self._fd = create_exclusive(path)
        except OSError as error:
            raise StorageError(f"cannot create spool file {path}: {error.strerror}") from error
        self._path = path

    def _flush(self) -> None:
        assert self._fd is not None
        try:
            write_all(self._fd, self._buffer)
        except OSError as error:
            raise StorageError(f"cannot write spool file {self._path}: {error.strerror}") from error
        self._buffer.clear()
