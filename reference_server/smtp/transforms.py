"""Rewrites of stored mail data that only faults switch on: the transparency defects of real servers.

A conforming server stores the data it accepted unchanged (RFC 5321 §4.5.2). Servers have
shipped with storage filters that "tidy" messages: stripping trailing white space, re-wrapping
long lines, unfolding header fields, squeezing octets into 7 bits, or appending a footer
("scanned for viruses", a legal disclaimer) to every message. Each fault turns one of those
on, so the MIME suite's round-trip checks can be shown to catch it.

The transform sees complete lines, in order, as the DATA decoder emits them; unfolding holds
back one CRLF (it may belong to a folded field), released by the next line or by `finish`.
"""

from __future__ import annotations

from typing import Final

from reference_server.faults import Faults

REWRAP_AT: Final = 78  # the "SHOULD" line length of RFC 5322 §2.1.1, which a careless filter enforces
_SEVEN_BITS: Final = bytes(octet & 0x7F for octet in range(256))
_CRLF: Final = b"\r\n"
FOOTER: Final = b"-- \r\nScanned for viruses: no threats found.\r\n"


class StoreTransform:
    """No-op unless a mime.* fault is on."""

    def __init__(self, faults: Faults) -> None:
        self._strip_trailing = faults.on("mime.trailing-whitespace-stripped")
        self._rewrap = faults.on("mime.long-lines-rewrapped")
        self._seven_bits = faults.on("mime.eighth-bit-cleared")
        self._unfold = faults.on("mime.header-fields-unfolded")
        self._footer = faults.on("mime.footer-appended")
        self.active = self._strip_trailing or self._rewrap or self._seven_bits or self._unfold or self._footer
        self._in_header = True
        self._held_crlf = False

    def feed(self, data: bytes) -> bytes:
        """Transform complete lines (`data` ends with LF, or is empty)."""
        if not self.active or not data:
            return data
        lines = data.split(_CRLF)
        rest = lines.pop()  # b"" when data ends with CRLF; a line ended by a bare LF otherwise
        out = bytearray()
        for line in lines:
            out += self._line(line)
        return bytes(out) + rest

    def finish(self) -> bytes:
        """What is still held back at the end of the data, and the footer if one is added."""
        held, self._held_crlf = self._held_crlf, False
        return (_CRLF if held else b"") + (FOOTER if self._footer else b"")

    def _line(self, line: bytes) -> bytes:
        if self._seven_bits:
            line = line.translate(_SEVEN_BITS)
        if self._strip_trailing:
            line = line.rstrip(b" \t")
        if self._rewrap and len(line) > REWRAP_AT:
            line = _CRLF.join(line[start : start + REWRAP_AT] for start in range(0, len(line), REWRAP_AT))
        if not (self._unfold and self._in_header):
            return line + _CRLF
        if line[:1] in (b" ", b"\t") and self._held_crlf:
            return line  # a continuation: the CRLF before it is dropped (RFC 5322 §2.2.3 unfolding)
        out = _CRLF + line if self._held_crlf else line
        if not line:  # the empty line ending the header section
            self._in_header = False
            self._held_crlf = False
            return out + _CRLF
        self._held_crlf = True
        return out
