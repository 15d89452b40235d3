"""Count header fields of a message as it streams in, without holding the header in memory.

Loop detection (RFC 5321 §6.3) needs the number of ``Received:`` fields of every incoming
message, but the data arrives in pieces of any size and may be 50 MB: the scanner is fed the
decoded octets exactly as they go to the spool and remembers only the start of the current
line. It stops looking at the first empty line, the end of the header section (RFC 5322
§2.1), so the body is never scanned. A field name is compared case-insensitively (RFC 5322
§1.2.2) and may be followed by white space before the colon (the obsolete syntax of §4.5.3
that real trace fields still show); lines starting with white space continue the field
above them (folding, §2.2.3) and are never counted as fields.
"""

from __future__ import annotations

import re
from typing import Final

_NAME_HEAD_MAX: Final = 80  # octets of a line kept to recognise its field name; names we count are short
_WSP: Final = b" \t"
_BLANK_LINE: Final = re.compile(rb"\n\r?\n")  # a line end, then an empty line: the header section ends


class HeaderScanner:
    """Feed decoded message octets; read `count` once the header section is over (or the data)."""

    def __init__(self, field_name: bytes = b"received") -> None:
        self._name = field_name.lower()
        self._head = bytearray()  # the start of the current line, at most _NAME_HEAD_MAX octets
        self.count = 0
        self.done = False  # the empty line ending the header section has been seen

    def feed(self, data: bytes) -> None:
        """Scan the next piece of the message; pieces may split lines (and CRLFs) anywhere."""
        if self.done or not data:
            return
        blank = _BLANK_LINE.search(data)
        if blank is not None:
            data = data[: blank.end()]  # nothing after the first empty line can be a header field
        *complete, unfinished = data.split(b"\n")
        for piece in complete:
            if self._head:  # the line began in an earlier piece
                self._take(piece)
                line = bytes(self._head)
                self._head.clear()
            else:
                line = piece[:_NAME_HEAD_MAX]
            self._end_line(line)
            if self.done:
                return
        self._take(unfinished)

    def _take(self, piece: bytes) -> None:
        room = _NAME_HEAD_MAX - len(self._head)
        if room > 0:
            self._head += piece[:room]

    def _end_line(self, line: bytes) -> None:
        """Count `line` (the first octets of a header line) if it starts a field of that name."""
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            self.done = True  # RFC 5322 §2.1: an empty line separates the header from the body
            return
        if line[:1] in (b" ", b"\t"):
            return  # a folded continuation of the field above
        name, colon, _ = line.partition(b":")
        if colon and name.rstrip(_WSP).lower() == self._name:
            self.count += 1
