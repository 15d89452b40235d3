"""The byte buffer every reply reader keeps: bytes in as they arrive, replies out one at a time."""

from __future__ import annotations


class StreamBuffer:
    """Received octets not yet consumed, with the scan positions the readers resume from.

    A reader never re-scans what it has already looked at, so feeding one byte at a time
    costs no more than feeding a whole reply.
    """

    def __init__(self, max_line_octets: int) -> None:
        self._max_line = max_line_octets
        self._buffer = bytearray()
        self._cursor = 0
        self._scan = 0

    def feed(self, data: bytes) -> None:
        """Append octets received from the server."""
        self._buffer += data

    def reset(self) -> None:
        """Forget everything buffered, e.g. after a TLS upgrade or a framing error."""
        self._buffer.clear()
        self._cursor = 0
        self._scan = 0

    @property
    def buffered(self) -> bytes:
        """Octets received but not yet returned as part of a reply."""
        return bytes(self._buffer)
