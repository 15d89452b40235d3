"""Octet counts of the wire form of a message: every line ends in CRLF.

POP3 LIST/STAT and IMAP RFC822.SIZE report the size a client receives, not the size of the
file (RFC 1939 §11: a host that ends lines with a single character "simply counts each
occurrence of this character in a message as two octets"; RFC 3501 §2.3.4). Files normally
hold CRLF already; a bare LF (one without CR before it) is sent as CRLF and so counts twice.
Counting runs over chunks as they stream past, so a message never has to be held whole.
"""

from __future__ import annotations

from typing import Final

_CR: Final = 0x0D
_LF: Final = 0x0A


class WireSizeCounter:
    """Counts stored octets and bare LFs of data fed in pieces, across piece boundaries."""

    __slots__ = ("_bare_lf", "_first_octet", "_last_octet", "stored_octets")

    def __init__(self) -> None:
        self.stored_octets = 0
        self._bare_lf = 0
        self._first_octet: int | None = None
        self._last_octet: int | None = None

    def feed(self, data: bytes | bytearray) -> None:
        """Account for the next piece of the message."""
        if not data:
            return
        bare = data.count(b"\n") - data.count(b"\r\n")
        if data[0] == _LF and self._last_octet == _CR:
            bare -= 1  # the CR ended the previous piece: this LF completes a CRLF
        self._bare_lf += bare
        if self._first_octet is None:
            self._first_octet = data[0]
        self._last_octet = data[-1]
        self.stored_octets += len(data)

    @property
    def wire_octets(self) -> int:
        """Octets on the wire: stored octets plus one CR for every bare LF."""
        return self.stored_octets + self._bare_lf

    def wire_octets_after(self, prefix: bytes) -> int:
        """Wire octets of `prefix` followed by everything fed so far (for the header a delivery adds)."""
        head = WireSizeCounter()
        head.feed(prefix)
        joined = head.wire_octets + self.wire_octets
        if prefix.endswith(b"\r") and self._first_octet == _LF:
            joined -= 1  # that LF was counted as bare but follows the prefix's CR
        return joined


def wire_size(data: bytes | bytearray) -> int:
    """Wire octets of a message held in memory."""
    counter = WireSizeCounter()
    counter.feed(data)
    return counter.wire_octets
