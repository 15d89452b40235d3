"""Frame POP3 replies out of a fragmented byte stream (RFC 1939 §3, RFC 2449, RFC 5034).

A POP3 reply does not say whether a dot-terminated body follows its +OK line: only the command
that was sent does. The caller therefore queues one expectation per command sent, in order
(RFC 2449 §6.6: pipelined responses come back in command order), and
``pop3_command_is_multiline`` derives that expectation from the command line. Framing is
lenient and deviations are recorded as defect sentences, so a suite can cite them.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from typing import Final, Literal

from harness.readers.errors import ReplyFramingError
from harness.readers.stream import StreamBuffer

__all__ = [
    "MAX_RESPONSE_LINE_OCTETS",
    "MAX_UNTERMINATED_LINE_OCTETS",
    "Pop3Reader",
    "Pop3Reply",
    "Pop3Status",
    "pop3_command_is_multiline",
]

Pop3Status = Literal["OK", "ERR", "CONT"]

MAX_RESPONSE_LINE_OCTETS: Final = 512
"""RFC 1939 §3 / RFC 2449 §4: the first line of a response is at most 512 octets with CRLF."""

MAX_UNTERMINATED_LINE_OCTETS: Final = 65536
"""Hard framing cap: a line longer than this without a line end cannot be framed.

SASL challenges have no length limit (RFC 5034 §4), so the cap sits far above 512.
"""

_TERMINATION_OCTET: Final = b"."
_BASE64: Final = re.compile(rb"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_RESP_LEVEL: Final = re.compile(r"[\x21-\x2E\x30-\x5C\x5E-\x7F]+")
_MULTILINE_ALWAYS: Final = frozenset({"RETR", "TOP", "CAPA"})
_MULTILINE_WITHOUT_ARGUMENT: Final = frozenset({"LIST", "UIDL"})


@dataclass(frozen=True)
class Pop3Reply:
    """One complete reply: status line, optional body, and what was wrong with it.

    ``text`` is the status line after the indicator and its SP, without a leading response code
    (RFC 2449 §8 lets clients strip it); for CONT it is the base64 challenge. ``body`` is None
    for a single-line reply, else the body lines without line ends, dot-unstuffed.
    """

    status: Pop3Status
    text: str
    resp_code: str | None
    body: tuple[bytes, ...] | None
    raw: bytes
    defects: tuple[str, ...] = ()

    @property
    def resp_code_levels(self) -> tuple[str, ...]:
        """The response code's '/'-separated levels, upper-cased (RFC 2449 §8: case-insensitive)."""
        return tuple(self.resp_code.upper().split("/")) if self.resp_code else ()


def pop3_command_is_multiline(command_line: str) -> bool:
    """Whether a +OK reply to this command carries a dot-terminated body.

    RETR (RFC 1939 §5), TOP (RFC 1939 §7) and CAPA (RFC 2449 §5) always do; LIST (RFC 1939 §5)
    and UIDL (RFC 1939 §7) only without a message-number argument. AUTH (RFC 5034 §4) and every
    other command answer on one line.
    """
    words = command_line.strip("\r\n").split()
    if not words:
        return False
    keyword = words[0].upper()
    if keyword in _MULTILINE_ALWAYS:
        return True
    return keyword in _MULTILINE_WITHOUT_ARGUMENT and len(words) == 1


@dataclass(frozen=True)
class _StatusLine:
    status: Pop3Status
    text: str
    resp_code: str | None
    defects: tuple[str, ...]


class Pop3Reader(StreamBuffer):
    """Incremental, socket-free POP3 reply reader with a FIFO of body expectations.

    Call ``expect(multiline)`` once per command sent; each +OK or -ERR reply consumes one
    expectation (a -ERR never has a body). SASL continuations ("+ base64") consume none, since
    the AUTH command they belong to is still waiting for its final +OK or -ERR. With nothing
    queued, a reply is single-line: that is the greeting's case.
    """

    def __init__(self, max_line_octets: int = MAX_UNTERMINATED_LINE_OCTETS) -> None:
        super().__init__(max_line_octets)
        self._expectations: deque[bool] = deque()
        self._head: _StatusLine | None = None
        self._body: list[bytes] = []
        self._bare_lf_body_lines = 0

    def expect(self, multiline: bool) -> None:
        """Queue whether the reply to the next unanswered command may carry a body."""
        self._expectations.append(multiline)

    @property
    def expectations(self) -> tuple[bool, ...]:
        """The queued expectations, oldest first."""
        return tuple(self._expectations)

    def reset(self) -> None:
        """Forget buffered octets and queued expectations, e.g. after STLS (RFC 2595 §4)."""
        super().reset()
        self._expectations.clear()
        self._head = None
        self._body = []
        self._bare_lf_body_lines = 0

    def next_reply(self) -> Pop3Reply | None:
        """Return the next complete reply, or None if more octets are needed.

        Raises ReplyFramingError when a status line starts with neither +OK, -ERR nor "+", or a
        line exceeds the hard cap.
        """
        while (line := self._next_line()) is not None:
            content, bare_lf = line
            if self._head is None:
                head = _parse_status_line(content, bare_lf)
                if head.status == "CONT":
                    return self._complete(head, None, consumes_expectation=False)
                multiline = bool(self._expectations) and self._expectations[0]
                if head.status == "ERR" or not multiline:
                    return self._complete(head, None, consumes_expectation=True)
                self._head = head
            elif content == _TERMINATION_OCTET:
                head, self._head = self._head, None
                body, self._body = tuple(self._body), []
                return self._complete(head, body, consumes_expectation=True, bare_lf_end=bare_lf)
            else:
                self._bare_lf_body_lines += bare_lf
                # RFC 1939 §3: a line starting with the termination octet had it prepended.
                self._body.append(content[1:] if content.startswith(_TERMINATION_OCTET) else content)
        return None

    def _next_line(self) -> tuple[bytes, bool] | None:
        newline = self._buffer.find(b"\n", self._scan)
        if newline < 0:
            if len(self._buffer) - self._cursor > self._max_line:
                raise ReplyFramingError(f"POP3 line exceeds {self._max_line} octets without a line end")
            self._scan = len(self._buffer)
            return None
        if newline - self._cursor > self._max_line:
            raise ReplyFramingError(f"POP3 line exceeds {self._max_line} octets")
        content = bytes(self._buffer[self._cursor : newline])
        self._cursor = self._scan = newline + 1
        if content.endswith(b"\r"):
            return content[:-1], False
        return content, True

    def _complete(
        self,
        head: _StatusLine,
        body: tuple[bytes, ...] | None,
        *,
        consumes_expectation: bool,
        bare_lf_end: bool = False,
    ) -> Pop3Reply:
        raw = bytes(self._buffer[: self._cursor])
        del self._buffer[: self._cursor]
        self._cursor = self._scan = 0
        if consumes_expectation and self._expectations:
            self._expectations.popleft()
        defects = list(head.defects)
        if self._bare_lf_body_lines:
            defects.append(f"{self._bare_lf_body_lines} body line(s) ended with bare LF, not CRLF (RFC 1939 §3)")
        if bare_lf_end:
            defects.append("termination line '.' ended with bare LF, not CRLF (RFC 1939 §3)")
        self._bare_lf_body_lines = 0
        return Pop3Reply(
            status=head.status,
            text=head.text,
            resp_code=head.resp_code,
            body=body,
            raw=raw,
            defects=tuple(defects),
        )


def _parse_status_line(content: bytes, bare_lf: bool) -> _StatusLine:
    defects: list[str] = []
    if bare_lf:
        defects.append("status line ended with bare LF, not CRLF (RFC 1939 §3)")
    token, separator, rest = content.partition(b" ")
    if token == b"+":
        if not separator:
            defects.append("continuation '+' is not followed by SP (RFC 5034 §5 continue-req)")
        if not _BASE64.fullmatch(rest):
            defects.append("continuation carries text other than a base64 challenge (RFC 5034 §4)")
        return _StatusLine("CONT", rest.decode("utf-8", errors="replace"), None, tuple(defects))
    status = _status_of(content)
    if status is None:
        raise ReplyFramingError(f"POP3 status line does not start with +OK, -ERR or '+': {content[:40]!r}")
    indicator = b"+OK" if status == "OK" else b"-ERR"
    if not content.startswith(indicator):
        defects.append(
            f"status indicator {content[: len(indicator)]!r} is not upper case "
            "(RFC 1939 §3: servers MUST send +OK and -ERR in upper case)"
        )
    after = content[len(indicator) :]
    if after and not after.startswith(b" "):
        defects.append(f"status indicator is not followed by SP (RFC 2449 §3 single-line): {content[:40]!r}")
    if len(content) + 2 > MAX_RESPONSE_LINE_OCTETS:
        defects.append(
            f"response line is {len(content) + 2} octets with CRLF, over the {MAX_RESPONSE_LINE_OCTETS} "
            "limit (RFC 1939 §3, RFC 2449 §4)"
        )
    text_octets = after[1:] if after.startswith(b" ") else after
    resp_code, text = _split_resp_code(text_octets.decode("utf-8", errors="replace"), defects)
    return _StatusLine(status, text, resp_code, tuple(defects))


def _status_of(content: bytes) -> Pop3Status | None:
    upper = content.upper()
    if upper.startswith(b"+OK"):
        return "OK"
    if upper.startswith(b"-ERR"):
        return "ERR"
    return None


def _split_resp_code(text: str, defects: list[str]) -> tuple[str | None, str]:
    """Split a leading "[resp-code]" off the text (RFC 2449 §8, grammar in §3)."""
    if not text.startswith("["):
        return None, text
    close = text.find("]")
    if close < 0:
        defects.append("response code '[' is never closed by ']' (RFC 2449 §3 resp-code)")
        return None, text
    code = text[1:close]
    if not all(_RESP_LEVEL.fullmatch(level) for level in code.split("/")):
        defects.append(f"response code [{code}] does not match the resp-code grammar (RFC 2449 §3)")
    rest = text[close + 1 :]
    return code, rest[1:] if rest.startswith(" ") else rest
