"""Pure, incremental decoders for mail data: DATA (dot-stuffed) and BDAT (counted).

The DATA decoder is fed whatever the socket delivered -- one byte or a megabyte -- and
returns the octets to store, whether the end of data was seen, and the bytes after it
(the next pipelined commands). It never holds more than one text line plus the new input,
so a 50 MB message streams straight to the spool.

Line ends are CRLF only (RFC 5321 §2.3.8); the end of data is a line holding just "."
(§4.1.1.4), so the smuggling sequences <LF>.<LF>, <CR>.<CR>, <LF>.<CR><LF> and
<CR><LF>.<LF> never end the data. Bare CR, bare LF, over-long lines and over-size
messages are recorded as defects; once a defect makes the message unacceptable the
decoder stops emitting data but keeps reading to the real end, because the reply can
only come after it (§4.2.5, §4.5.3.1.9).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Final

from reference_server.faults import NO_FAULTS, Faults
from reference_server.smtp.transforms import StoreTransform

TEXT_LINE_MAX: Final = 1000  # RFC 5321 §4.5.3.1.6: text line incl. CRLF, not counting the stuffed dot

_CR: Final = 0x0D
_END_OF_DATA: Final = b"\r\n.\r\n"
_END_AT_START: Final = b".\r\n"
_LF_END_OF_DATA: Final = re.compile(rb"\n\.\r?\n")  # what a server that splits on LF sees as the end
_CR_END_OF_DATA: Final = re.compile(rb"\r\.\r(?!\n)")  # fault smtp.bare-cr-ends-data
_TRIMMED_END_OF_DATA: Final = re.compile(rb"\r\n\.[ \t]+\r\n")  # fault smtp.dot-line-trimmed
_UNSTUFFED_END_OF_DATA: Final = b"\r\n..\r\n"  # fault smtp.unstuff-before-end-check


class Defect(enum.Enum):
    """Something wrong with the mail data, found while decoding it."""

    BARE_LF = "bare LF"
    BARE_CR = "bare CR"
    LONG_LINE = "line longer than the text line limit"
    TOO_BIG = "message larger than the size limit"
    RESENT_INCOMPLETE = "Resent- block without Resent-From and Resent-Date"


_FATAL: Final = frozenset({Defect.LONG_LINE, Defect.TOO_BIG})  # the defects that always refuse a message
_FATAL_WITH_BARE_NEWLINES: Final = _FATAL | {Defect.BARE_LF, Defect.BARE_CR}


@dataclass(frozen=True)
class DataPolicy:
    """Limits that apply to one message's data."""

    max_size: int | None  # octets after unstuffing (RFC 1870 §5 message size); None = no limit
    max_line: int | None = TEXT_LINE_MAX  # None for BDAT (RFC 3030: no line structure)
    reject_bare_newlines: bool = True  # [smtp] bare_lf = "reject"


@dataclass(frozen=True)
class Decoded:
    """The result of one feed: data to store, and after the end, the unconsumed input."""

    data: bytes
    done: bool
    rest: bytes = b""


class DotDecoder:
    """Removes dot-stuffing (RFC 5321 §4.5.2) and finds <CRLF>.<CRLF> across any split."""

    def __init__(self, policy: DataPolicy, faults: Faults = NO_FAULTS) -> None:
        self._policy = policy
        self._unstuff = not faults.on("smtp.dot-unstuffing-missing")
        self._lf_ends_data = faults.on("smtp.bare-lf-ends-data")
        self._truncate_long_lines = faults.on("smtp.long-line-truncated")
        self._cr_ends_data = faults.on("smtp.bare-cr-ends-data")
        self._end_per_read = faults.on("smtp.end-of-data-missed-across-reads")
        self._trimmed_dot_ends = faults.on("smtp.dot-line-trimmed")
        self._unstuffed_dot_ends = faults.on("smtp.unstuff-before-end-check")
        self._line_limit_slack = 1 if faults.on("smtp.text-line-limit-exclusive") else 0
        self._check_resent = faults.on("smtp.resent-fields-checked")
        self._transform = StoreTransform(faults)
        self._in_header = True
        self._resent: set[bytes] = set()
        self._tail = b""  # unterminated last line, kept until its LF arrives
        self._at_line_start = True  # does `_tail` begin a line (after CRLF or at the start)?
        self._skip_to_lf = False  # truncating fault: drop the rest of a cut line
        self._done = False
        self.size = 0  # octets of the decoded message, counted even after emitting stopped
        self.defects: set[Defect] = set()
        self._fatal = _FATAL_WITH_BARE_NEWLINES if policy.reject_bare_newlines else _FATAL

    @property
    def rejected(self) -> bool:
        """Has a defect made the message unacceptable (so nothing more is emitted)?"""
        return not self.defects.isdisjoint(self._fatal)

    def feed(self, data: bytes) -> Decoded:
        if self._done:
            raise RuntimeError("feed() after the end of data")
        buf = self._tail + data
        self._tail = b""
        if self._skip_to_lf:
            newline = buf.find(b"\n")
            if newline < 0:
                self._tail = buf[-1:] if buf.endswith(b"\r") else b""
                return Decoded(b"", False)
            self._at_line_start = newline > 0 and buf[newline - 1] == _CR
            buf = buf[newline + 1 :]
            self._skip_to_lf = False
        end, end_length = self._find_end(buf, len(buf) - len(data) if self._end_per_read else 0)
        if end >= 0:
            self._done = True
            out = self._take_lines(buf[:end])
            if self._transform.active and not self.rejected:
                out += self._transform.finish()
            return Decoded(out, True, buf[end + end_length :])
        cut = buf.rfind(b"\n") + 1
        out = self._take_lines(buf[:cut])
        if cut:
            self._at_line_start = cut >= 2 and buf[cut - 2] == _CR
        out += self._keep_tail(buf[cut:])
        return Decoded(out, False)

    def _find_end(self, buf: bytes, start: int = 0) -> tuple[int, int]:
        """Index and length of the end-of-data line ".\\r\\n" in `buf`, or (-1, 0)."""
        if self._at_line_start and start == 0 and buf.startswith(_END_AT_START):
            return 0, len(_END_AT_START)
        if self._unstuffed_dot_ends and self._at_line_start and buf.startswith(b"..\r\n"):
            return 0, 4
        index = buf.find(_END_OF_DATA, start)
        found = (index + 2, 3) if index >= 0 else (-1, 0)
        if self._unstuffed_dot_ends:
            index = buf.find(_UNSTUFFED_END_OF_DATA)
            if index >= 0 and (found[0] < 0 or index + 2 < found[0]):
                found = index + 2, 4
        trimmed = _TRIMMED_END_OF_DATA.search(buf) if self._trimmed_dot_ends else None
        if trimmed and (found[0] < 0 or trimmed.start() + 2 < found[0]):
            found = trimmed.start() + 2, trimmed.end() - trimmed.start() - 2
        bare_cr = _CR_END_OF_DATA.search(buf) if self._cr_ends_data else None
        if bare_cr and (found[0] < 0 or bare_cr.start() + 1 < found[0]):
            found = bare_cr.start() + 1, 2
        if self._lf_ends_data:
            if self._at_line_start and buf.startswith(b".\n"):
                return 0, 2
            match = _LF_END_OF_DATA.search(buf)
            if match and (found[0] < 0 or match.start() + 1 < found[0]):
                found = match.start() + 1, match.end() - match.start() - 1
        return found

    def _keep_tail(self, tail: bytes) -> bytes:
        """Hold an unterminated line; one already over the limit is dropped, not buffered."""
        limit = self._policy.max_line
        if limit is None or len(tail) <= limit + 1:
            self._tail = tail
            return b""
        self.size += len(tail)
        keep_cr = tail.endswith(b"\r")
        self._tail = b"\r" if keep_cr else b""
        start_dot = self._at_line_start and tail.startswith(b".") and self._unstuff
        self._at_line_start = False
        if self._truncate_long_lines:
            self._skip_to_lf = True
            self._tail = b""
            cut = tail[1 if start_dot else 0 :][: limit - 2] + b"\r\n"
            return b"" if self.rejected else cut
        self.defects.add(Defect.LONG_LINE)
        return b""

    def _take_lines(self, body: bytes) -> bytes:
        """Decode complete lines: unstuff, look for defects, count, and decide to emit."""
        if not body:
            return b""
        if self._unstuff:
            if self._at_line_start and body.startswith(b"."):
                body = body[1:]
            if b"\r\n." in body:
                body = body.replace(b"\r\n.", b"\r\n")
        if self._check_resent and self._in_header:
            self._note_resent_fields(body)
        crlf = body.count(b"\r\n")
        if body.count(b"\n") != crlf:
            self.defects.add(Defect.BARE_LF)
        if body.count(b"\r") != crlf:
            self.defects.add(Defect.BARE_CR)
        limit = self._policy.max_line
        if limit is not None:
            limit -= self._line_limit_slack
        if limit is not None and has_long_line(body, limit):
            if self._truncate_long_lines:
                body = _truncate_lines(body, limit)
            else:
                self.defects.add(Defect.LONG_LINE)
        self.size += len(body)
        if self._policy.max_size is not None and self.size > self._policy.max_size:
            self.defects.add(Defect.TOO_BIG)
        return b"" if self.rejected else self._transform.feed(body)

    def _note_resent_fields(self, body: bytes) -> None:
        """Fault smtp.resent-fields-checked: a Resent- block must have Resent-From and Resent-Date."""
        for line in body.split(b"\r\n")[:-1]:
            if not line:
                self._in_header = False
                break
            name = line.split(b":", 1)[0].strip().lower()
            if name.startswith(b"resent-"):
                self._resent.add(name)
        if not self._in_header and self._resent and not {b"resent-from", b"resent-date"} <= self._resent:
            self.defects.add(Defect.RESENT_INCOMPLETE)


def has_long_line(body: bytes, limit: int) -> bool:
    """Does `body` (starting at a line start) hold `limit` or more octets without an LF?

    Window by window rather than line by line: the last LF inside each window of `limit` octets
    starts the next one, so a message of short lines costs one search per `limit` octets.
    """
    start = 0
    while len(body) - start >= limit:
        newline = body.rfind(b"\n", start, start + limit)
        if newline < 0:
            return True
        start = newline + 1
    return False


def _truncate_lines(body: bytes, limit: int) -> bytes:
    """What the long-line fault stores: every line cut to limit-2 octets before its CRLF."""
    lines = []
    for segment in body.split(b"\n"):
        cr = segment.endswith(b"\r")
        content = segment[:-1] if cr else segment
        lines.append(content[: limit - 2] + (b"\r" if cr else b""))
    return b"\n".join(lines)


class ChunkDecoder:
    """Counts out the octets of one BDAT chunk (RFC 3030 §2): no stuffing, binary-exact."""

    def __init__(self, size: int) -> None:
        self.remaining = size

    def feed(self, data: bytes) -> Decoded:
        if self.remaining >= len(data):
            self.remaining -= len(data)
            return Decoded(data, self.remaining == 0)
        part, rest = data[: self.remaining], data[self.remaining :]
        self.remaining = 0
        return Decoded(part, True, rest)
