"""Frame SMTP replies out of a fragmented byte stream (RFC 5321 §4.2, §4.2.1).

The harness must read exactly one reply per command, whatever the packet boundaries, and must
be able to say *how* a reply bent the RFC instead of crashing on it. So framing is lenient
(bare LF ends a line, an odd separator ends a reply) and every deviation becomes a defect
sentence citing its clause. Only a line without a leading three-digit code, or one that never
ends, is unframeable. Enhanced status codes (RFC 3463 §2, carried per RFC 2034 §4) are split
out because suites match on them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from harness.readers.errors import ReplyFramingError
from harness.readers.stream import StreamBuffer

__all__ = [
    "MAX_REPLY_LINE_OCTETS",
    "MAX_UNTERMINATED_LINE_OCTETS",
    "SmtpReader",
    "SmtpReply",
    "ehlo_keywords",
    "parse_enhanced_code",
]

MAX_REPLY_LINE_OCTETS: Final = 512
"""RFC 5321 §4.5.3.1.5: a reply line, code and CRLF included, is at most 512 octets."""

MAX_UNTERMINATED_LINE_OCTETS: Final = 65536
"""Hard framing cap: a line longer than this without a line end cannot be framed.

Far above every RFC limit so a merely overlong line is reported as a defect, not an error.
"""

_CODE_LENGTH: Final = 3
_ENHANCED_CODE: Final = re.compile(r"([245])\.([0-9]{1,3})\.([0-9]{1,3})(?= |$)")
_EHLO_KEYWORD: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_TEXTSTRING_OCTETS: Final = frozenset({9, *range(32, 127)})
_CR: Final = 13


@dataclass(frozen=True)
class SmtpReply:
    """One complete reply: all its lines, the code they share, and what was wrong with it.

    ``lines`` holds the text after each line's code and separator; ``raw`` holds exactly the
    octets the reply consumed, line ends included, for the session log.
    """

    code: int
    lines: tuple[str, ...]
    enhanced: str | None
    raw: bytes
    defects: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The reply text for humans and regexes: the lines joined by a newline."""
        return "\n".join(self.lines)

    @property
    def enhanced_per_line(self) -> tuple[str | None, ...]:
        """The enhanced status code leading each line (RFC 2034 §4 wants the same on every line)."""
        return tuple(parse_enhanced_code(line) for line in self.lines)


def parse_enhanced_code(text: str) -> str | None:
    """Return the RFC 3463 §2 status code that starts ``text``, or None.

    RFC 2034 §4: the code prefaces the text and is always followed by one or more spaces; a code
    that is the whole text is accepted too. Leading zeros are tolerated here and reported by the
    reader, so a wrong code is still visible to the suites.
    """
    match = _ENHANCED_CODE.match(text)
    return match.group(0) if match else None


def ehlo_keywords(reply: SmtpReply) -> dict[str, str]:
    """Map each EHLO keyword (upper-cased) to its parameters string.

    RFC 5321 §4.1.1.1: the first line carries the domain and greeting; every later line is
    ``ehlo-keyword *(SP ehlo-param)`` and keywords are case-insensitive. Lines that do not start
    with a valid keyword (e.g. the obsolete ``AUTH=LOGIN``) are skipped; when a keyword repeats,
    the first line wins. Parameters are re-joined with single spaces.
    """
    keywords: dict[str, str] = {}
    for line in reply.lines[1:]:
        keyword, _, params = line.strip(" ").partition(" ")
        if not _EHLO_KEYWORD.fullmatch(keyword):
            continue
        keywords.setdefault(keyword.upper(), " ".join(params.split()))
    return keywords


@dataclass(frozen=True)
class _ReplyLine:
    code: bytes
    continues: bool
    text: bytes
    defects: tuple[str, ...]


class SmtpReader(StreamBuffer):
    """Incremental, socket-free SMTP reply reader.

    ``feed`` any fragment of the server's output; ``next_reply`` returns one complete reply or
    None until enough octets have arrived. Octets after a reply stay buffered for the next one,
    so pipelined replies (RFC 2920) come out one by one.
    """

    def __init__(self, max_line_octets: int = MAX_UNTERMINATED_LINE_OCTETS) -> None:
        super().__init__(max_line_octets)
        self._lines: list[_ReplyLine] = []

    def reset(self) -> None:
        """Forget everything buffered, e.g. after STARTTLS (RFC 3207 §4.2) or a framing error."""
        super().reset()
        self._lines.clear()

    def next_reply(self) -> SmtpReply | None:
        """Return the next complete reply, or None if more octets are needed.

        Raises ReplyFramingError when a line has no three-digit code or exceeds the hard cap.
        """
        while (line := self._next_line()) is not None:
            self._lines.append(line)
            if not line.continues:
                return self._complete()
        return None

    def _next_line(self) -> _ReplyLine | None:
        newline = self._buffer.find(b"\n", self._scan)
        if newline < 0:
            if len(self._buffer) - self._cursor > self._max_line:
                raise ReplyFramingError(f"SMTP reply line exceeds {self._max_line} octets without a line end")
            self._scan = len(self._buffer)
            return None
        if newline - self._cursor > self._max_line:
            raise ReplyFramingError(f"SMTP reply line exceeds {self._max_line} octets")
        content = bytes(self._buffer[self._cursor : newline])
        self._cursor = self._scan = newline + 1
        defects: list[str] = []
        if content.endswith(b"\r"):
            content = content[:-1]
        else:
            defects.append("line ended with bare LF, not CRLF (RFC 5321 §2.3.8)")
        return _parse_line(content, defects)

    def _complete(self) -> SmtpReply:
        raw = bytes(self._buffer[: self._cursor])
        del self._buffer[: self._cursor]
        lines, self._lines = self._lines, []
        self._cursor = self._scan = 0
        return _build_reply(lines, raw)


def _parse_line(content: bytes, defects: list[str]) -> _ReplyLine:
    code = content[:_CODE_LENGTH]
    if len(code) < _CODE_LENGTH or not all(0x30 <= octet <= 0x39 for octet in code):
        raise ReplyFramingError(f"SMTP reply line does not start with a three-digit code: {content[:40]!r}")
    if len(content) + 2 > MAX_REPLY_LINE_OCTETS:
        defects.append(
            f"reply line is {len(content) + 2} octets with CRLF, over the {MAX_REPLY_LINE_OCTETS} "
            "limit (RFC 5321 §4.5.3.1.5)"
        )
    separator = content[_CODE_LENGTH : _CODE_LENGTH + 1]
    if separator in (b"-", b" "):
        text = content[_CODE_LENGTH + 1 :]
    else:
        text = content[_CODE_LENGTH:]
        if separator:
            defects.append(
                f"reply code is followed by {separator!r}, neither '-' nor SP; taken as the last line (RFC 5321 §4.2.1)"
            )
        else:
            defects.append("reply code is not followed by SP (RFC 5321 §4.2.1: servers SHOULD send the SP)")
    defects.extend(_text_defects(text))
    return _ReplyLine(code=code, continues=separator == b"-", text=text, defects=tuple(defects))


def _text_defects(text: bytes) -> list[str]:
    defects: list[str] = []
    if _CR in text:
        defects.append("reply text contains a bare CR (RFC 5321 §2.3.8)")
    other = sorted({octet for octet in text if octet not in _TEXTSTRING_OCTETS and octet != _CR})
    if other:
        listed = ", ".join(f"0x{octet:02X}" for octet in other)
        defects.append(f"reply text contains octets outside textstring: {listed} (RFC 5321 §4.2)")
    return defects


def _build_reply(lines: list[_ReplyLine], raw: bytes) -> SmtpReply:
    first = lines[0].code
    defects: list[str] = []
    for number, line in enumerate(lines, start=1):
        if line.code != first:
            defects.append(
                f"line {number} has code {line.code.decode()} but the reply began with {first.decode()} "
                "(RFC 5321 §4.2.1: the code on each line MUST be the same)"
            )
        defects.extend(f"line {number}: {defect}" for defect in line.defects)
    defects.extend(_code_defects(first.decode()))
    texts = tuple(line.text.decode("utf-8", errors="replace") for line in lines)
    if not any(line.text for line in lines):
        defects.append("reply has a code but no text (RFC 5321 §4.2: senders SHOULD NOT send bare codes)")
    enhanced = parse_enhanced_code(texts[0])
    defects.extend(_enhanced_defects(first.decode(), texts))
    return SmtpReply(code=int(first), lines=texts, enhanced=enhanced, raw=raw, defects=tuple(defects))


def _code_defects(code: str) -> list[str]:
    defects: list[str] = []
    if code[0] not in "2345":
        defects.append(f"reply code {code} has a first digit other than 2-5 (RFC 5321 §4.2: MUST NOT)")
    if code[1] not in "012345":
        defects.append(f"reply code {code} has a second digit other than 0-5 (RFC 5321 §4.2 Reply-code)")
    return defects


def _enhanced_defects(code: str, texts: tuple[str, ...]) -> list[str]:
    enhanced = parse_enhanced_code(texts[0])
    if enhanced is None:
        return []
    defects: list[str] = []
    if code[0] in "245" and enhanced[0] != code[0]:
        defects.append(f"enhanced status code {enhanced} does not agree with reply code {code} (RFC 2034 §4)")
    if any(len(part) > 1 and part.startswith("0") for part in enhanced.split(".")):
        defects.append(f"enhanced status code {enhanced} has a leading zero (RFC 3463 §2)")
    for number, text in enumerate(texts[1:], start=2):
        if parse_enhanced_code(text) != enhanced:
            defects.append(
                f"line {number} does not start with enhanced status code {enhanced} "
                "(RFC 2034 §4: the same status code must appear on each line)"
            )
    return defects
