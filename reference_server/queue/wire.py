"""The SMTP client's side of the wire, without I/O: replies in, commands and mail data out.

Everything here is a pure function or a small incremental state machine fed with bytes, so
the relay client (`client.py`) only moves bytes between these and a socket, and every rule
about what a reply or a command looks like can be tested without a network.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

REPLY_LINE_MAX: Final = 512  # RFC 5321 §4.5.3.1.5: reply line including the code and CRLF
REPLY_LINES_MAX: Final = 200  # local bound: a reply that never ends is a broken or hostile next hop
CRLF: Final = b"\r\n"
END_OF_DATA: Final = b".\r\n"  # RFC 5321 §4.1.1.4: <CRLF>.<CRLF>, the first CRLF ending the last line

DATA: Final = b"DATA\r\n"
QUIT: Final = b"QUIT\r\n"
RSET: Final = b"RSET\r\n"
STARTTLS: Final = b"STARTTLS\r\n"

BODY_VALUES: Final = frozenset({"7BIT", "8BITMIME"})  # RFC 6152 §2; BINARYMIME needs BDAT (RFC 3030)

# RFC 3463 §2: status-code = class "." subject "." detail, subject and detail 1*3digit.
_ENHANCED: Final = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})(?=[ \t]|$)")
# RFC 5321 §4.1.1.1: ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"); ehlo-param = 1*(%d33-126)
_EHLO_KEYWORD: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_EHLO_PARAM: Final = re.compile(r"[\x21-\x7e]+")


class MalformedReplyError(ValueError):
    """The next hop sent something that is not an SMTP reply; `reason` says what, in one line.

    After this the byte stream cannot be resynchronised (which reply would the next line
    belong to?), so the reader refuses further input and the session must end.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Reply:
    """One complete reply (RFC 5321 §4.2): the code, its enhanced status code, the text lines.

    `lines` hold the text after the code and its separator, exactly as sent (enhanced code
    included); `enhanced` is the RFC 3463 code the first line starts with, when it agrees
    with the reply code's class as RFC 2034 §4 requires, and None otherwise.
    """

    code: int
    enhanced: str | None
    lines: tuple[str, ...]

    @property
    def severity(self) -> int:
        """The first digit, the only part a client MUST act on (RFC 5321 §4.2.1)."""
        return self.code // 100

    @property
    def text(self) -> str:
        """The text of every line on one line, each line's leading enhanced code removed."""
        parts = []
        for line in self.lines:
            if self.enhanced is not None and line.startswith(self.enhanced):
                line = line[len(self.enhanced) :]
            parts.append(line.strip())
        return " ".join(part for part in parts if part)

    def __str__(self) -> str:
        enhanced = f" {self.enhanced}" if self.enhanced is not None else ""
        text = self.text
        return f"{self.code}{enhanced}{' ' + text if text else ''}"


def enhanced_code(code: int, text: str) -> str | None:
    """The RFC 3463 status code at the start of `text`, if its class agrees with `code` (RFC 2034 §4)."""
    match = _ENHANCED.match(text)
    if match is None or match.group(1) != str(code)[0]:
        return None
    return match.group(0)


def _decode(raw: bytes) -> str:
    """Reply text is US-ASCII (RFC 5321 §4.2 textstring); anything else is kept readable, not fatal."""
    return raw.decode("utf-8", errors="replace")


@dataclass
class ReplyReader:
    """Incremental reply parser: feed it bytes as they arrive, get complete replies back.

    A line ends with CRLF (RFC 5321 §2.3.8); a lone LF is accepted as a line end too,
    since it cannot change what the reply means. The multi-line rule is §4.2: "NNN-" on
    every line but the last, "NNN " (or the bare code) on the last, and the same code on
    all of them. Anything else raises MalformedReplyError.
    """

    _buffer: bytearray = field(default_factory=bytearray)
    _code: int | None = None
    _lines: list[str] = field(default_factory=list)
    _broken: str | None = None

    @property
    def pending(self) -> bool:
        """Bytes received that are not part of a complete reply yet (a partial line or reply)."""
        return bool(self._buffer) or self._code is not None

    def feed(self, data: bytes) -> list[Reply]:
        """Take the next bytes from the connection; return the replies they complete, in order."""
        if self._broken is not None:
            raise MalformedReplyError(self._broken)
        self._buffer += data
        replies: list[Reply] = []
        try:
            while True:
                end = self._buffer.find(b"\n")
                if end < 0:
                    if len(self._buffer) > REPLY_LINE_MAX:
                        raise MalformedReplyError(f"reply line longer than {REPLY_LINE_MAX} octets")
                    return replies
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                reply = self._line(line)
                if reply is not None:
                    replies.append(reply)
        except MalformedReplyError as error:
            self._broken = error.reason
            raise

    def _line(self, line: bytes) -> Reply | None:
        if len(line) + (0 if line.endswith(CRLF) else 1) > REPLY_LINE_MAX:  # a lone LF counted as CRLF
            raise MalformedReplyError(f"reply line longer than {REPLY_LINE_MAX} octets")
        content = line[:-2] if line.endswith(CRLF) else line[:-1]
        head = content[:3]
        if len(head) < 3 or not head.isdigit():
            raise MalformedReplyError(f"reply line does not start with a three-digit code: {_excerpt(content)}")
        code = int(head)
        if not 2 <= code // 100 <= 5:
            raise MalformedReplyError(f"reply code {code} is outside 2yz-5yz (RFC 5321 §4.2)")
        separator = content[3:4]
        if separator not in (b"", b" ", b"-"):
            raise MalformedReplyError(f"no space or hyphen after the reply code: {_excerpt(content)}")
        if self._code is not None and code != self._code:
            raise MalformedReplyError(f"continuation line has code {code}, the reply started with {self._code}")
        self._code = code
        self._lines.append(_decode(content[4:]))
        if separator == b"-":
            if len(self._lines) >= REPLY_LINES_MAX:
                raise MalformedReplyError(f"multi-line reply of more than {REPLY_LINES_MAX} lines")
            return None
        lines = tuple(self._lines)
        self._code = None
        self._lines = []
        return Reply(code, enhanced_code(code, lines[0]), lines)


def _excerpt(raw: bytes, limit: int = 40) -> str:
    """A short, printable quote of bad input for an error text."""
    shown = repr(raw[:limit])[2:-1]
    return shown + ("..." if len(raw) > limit else "")


@dataclass(frozen=True)
class Extensions:
    """The service extensions one EHLO reply offers: upper-case keyword -> its parameters.

    Empty after HELO: a client that had to say HELO uses no extension (RFC 5321 §4.1.1.1).
    """

    keywords: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    ignored: tuple[str, ...] = ()  # lines that are not an ehlo-line, kept for logs

    def offers(self, keyword: str) -> bool:
        return keyword.upper() in self.keywords

    def params(self, keyword: str) -> tuple[str, ...]:
        return self.keywords.get(keyword.upper(), ())

    @property
    def size_limit(self) -> int | None:
        """The fixed maximum message size (RFC 1870 §4), or None: not offered, 0 or no number given."""
        params = self.params("SIZE")
        if not params or not params[0].isdigit():
            return None
        return int(params[0]) or None


NO_EXTENSIONS: Final = Extensions()


def parse_ehlo(reply: Reply) -> Extensions:
    """The extensions of a 250 EHLO reply (RFC 5321 §4.1.1.1 ehlo-ok-rsp).

    The first line names the server; every later line is `keyword *(SP param)`. The old
    `AUTH=LOGIN` form some servers still send is read as keyword and parameters; a line
    that fits neither is ignored rather than failing the session. The first occurrence of
    a keyword wins.
    """
    keywords: dict[str, tuple[str, ...]] = {}
    ignored: list[str] = []
    for line in reply.lines[1:]:
        stripped = line.strip()
        match = _EHLO_KEYWORD.match(stripped)
        rest = stripped[match.end() :] if match is not None else ""
        if match is None or (rest and rest[0] not in " =\t"):
            ignored.append(line)
            continue
        params = tuple(rest[1:].split())
        if not all(_EHLO_PARAM.fullmatch(param) for param in params):
            ignored.append(line)
            continue
        keywords.setdefault(match.group(0).upper(), params)
    return Extensions(MappingProxyType(keywords), tuple(ignored))


class PathError(ValueError):
    """An address that cannot be put into MAIL or RCPT as it is; the message is one line."""


def _forbidden(text: str) -> str | None:
    for char in text:
        if char in "<>" or ord(char) < 0x20 or ord(char) == 0x7F:
            return repr(char)
    return None


def format_path(address: str, *, utf8: bool = False, null_allowed: bool = False) -> bytes:
    """`<address>` for MAIL or RCPT (RFC 5321 §4.1.2); "" is the null path `<>` where allowed.

    Non-ASCII addresses need SMTPUTF8 (RFC 6531 §3.2), so they are refused unless `utf8`;
    control characters and angle brackets could break the command line and are refused.
    """
    if address == "":
        if not null_allowed:
            raise PathError("empty forward-path")
        return b"<>"
    bad = _forbidden(address)
    if bad is not None:
        raise PathError(f"address {address!r} contains {bad}")
    if not address.isascii() and not utf8:
        raise PathError(f"address {address!r} is not ASCII and SMTPUTF8 is not in use")
    return b"<" + address.encode("utf-8") + b">"


def mail_command(
    reverse_path: str, *, size: int | None = None, body: str | None = None, smtputf8: bool = False
) -> bytes:
    """`MAIL FROM:<path>` with the parameters the next hop offered (RFC 5321 §4.1.1.2).

    SIZE=n from RFC 1870 §6, BODY= from RFC 6152 §3, SMTPUTF8 (no value) from RFC 6531 §3.4.
    """
    parts = [b"MAIL FROM:" + format_path(reverse_path, utf8=smtputf8, null_allowed=True)]
    if size is not None:
        if size < 0:
            raise ValueError(f"SIZE must not be negative, got {size}")
        parts.append(b"SIZE=%d" % size)
    if body is not None:
        if body.upper() not in BODY_VALUES:
            raise ValueError(f"BODY={body} is not one of {', '.join(sorted(BODY_VALUES))}")
        parts.append(b"BODY=" + body.upper().encode("ascii"))
    if smtputf8:
        parts.append(b"SMTPUTF8")
    return b" ".join(parts) + CRLF


def rcpt_command(forward_path: str, *, smtputf8: bool = False) -> bytes:
    """`RCPT TO:<path>` (RFC 5321 §4.1.1.3)."""
    return b"RCPT TO:" + format_path(forward_path, utf8=smtputf8) + CRLF


def check_helo_name(name: str) -> None:
    """Our EHLO/HELO argument must be one ASCII token (RFC 5321 §4.1.1.1: Domain or address-literal)."""
    if not name or not name.isascii() or any(ord(char) <= 0x20 or ord(char) == 0x7F for char in name):
        raise ValueError(f"helo name {name!r} must be a non-empty ASCII domain or address literal")


def ehlo_command(name: str) -> bytes:
    check_helo_name(name)
    return b"EHLO " + name.encode("ascii") + CRLF


def helo_command(name: str) -> bytes:
    check_helo_name(name)
    return b"HELO " + name.encode("ascii") + CRLF


class DotStuffer:
    """Streaming transparency for DATA (RFC 5321 §4.5.2), correct across chunk boundaries.

    Every line that starts with "." gets one more "." in front. A line starts at the
    beginning of the data and after each CRLF; up to two trailing octets of a chunk (CR,
    or CRLF) are held back so that a CRLF "." split over two chunks is still seen. `finish`
    adds a CRLF when the data does not end with one -- the CRLF before the final "." is
    part of the content (RFC 6152 §3), so without it the last line would merge with the
    terminator -- and then the ".\\r\\n" that ends the data.

    With `transparency=False` lines are passed through unchanged (the
    relay.dot-stuffing-missing defect); the data still ends correctly.
    """

    def __init__(self, *, transparency: bool = True) -> None:
        self._transparency = transparency
        self._held = b""
        self._at_start = True
        self._tail = b""
        self._finished = False

    def feed(self, chunk: bytes) -> bytes:
        """The wire form of the next piece of the message, possibly minus a held-back tail."""
        if self._finished:
            raise RuntimeError("feed after finish")
        if not chunk:
            return b""
        self._tail = (self._tail + chunk)[-2:]
        data = self._held + chunk
        keep = 2 if data.endswith(CRLF) else 1 if data.endswith(b"\r") else 0
        body, self._held = data[: len(data) - keep], data[len(data) - keep :]
        if not body:
            return b""
        if self._transparency:
            body = body.replace(b"\r\n.", b"\r\n..")
            if self._at_start and body.startswith(b"."):
                body = b"." + body
        self._at_start = False
        return body

    def finish(self) -> bytes:
        """What is still held back, a CRLF if the data needs one, and the end-of-data line."""
        if self._finished:
            raise RuntimeError("finish called twice")
        self._finished = True
        ending = b"" if self._tail in (b"", CRLF) else CRLF  # empty data: the DATA line's CRLF serves
        return self._held + ending + END_OF_DATA


def stuff(data: bytes, *, transparency: bool = True) -> bytes:
    """The whole DATA payload for `data` at once, terminator included (for small messages and tests)."""
    stuffer = DotStuffer(transparency=transparency)
    return stuffer.feed(data) + stuffer.finish()
