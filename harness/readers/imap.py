"""Frame and tokenise IMAP server responses (RFC 3501 §2.2, §4, §7, §9; RFC 9051 §9).

A response is one line that may be interrupted by literals: ``{n}`` (or ``~{n}``, RFC 9051
literal8) at the end of a line announces n octets, after which the same response continues
(RFC 3501 §2.2: the receiver reads a line, or a counted run of octets followed by a line).
``ImapReader`` frames whole responses incrementally; the tokeniser then turns everything after
the tag into ``ImapValue`` items so the matcher can compare structure, not spelling.

What ``ImapResponse.values`` holds:

- atoms, numbers included, as ``str`` (``"18"``, ``"EXISTS"``, ``"\\Seen"``);
- quoted strings and literals as ``ImapString`` (the unescaped octets), so a string is never
  confused with an atom;
- ``NIL`` (any case) as ``None``; parenthesised lists as ``tuple``;
- an atom directly followed by ``[`` absorbs the bracketed section and anything up to the next
  delimiter, verbatim: ``BODY[HEADER.FIELDS (SUBJECT)]<0>`` is one atom, as the msg-att
  grammar treats it as one item name;
- status responses (OK, NO, BAD, PREAUTH, BYE right after the tag or ``*``) are
  ``(status, text)`` or, with a response code, ``(status, code, text)``: the code is a tuple of
  the values between the brackets (``("UIDNEXT", "5")``) and the human text stays one ``str``;
- a continuation request is ``(text,)`` or ``(code, text)`` in the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

from harness.readers.errors import ReplyFramingError
from harness.readers.stream import StreamBuffer

__all__ = [
    "MAX_UNTERMINATED_LINE_OCTETS",
    "ImapReader",
    "ImapResponse",
    "ImapResponseKind",
    "ImapString",
    "ImapValue",
    "fetch_items",
    "flags_set",
]

MAX_UNTERMINATED_LINE_OCTETS: Final = 4 * 1024 * 1024
"""Hard framing cap for one line segment without a line end.

RFC 3501 sets no limit on response lines, and a SEARCH or FETCH result over a large mailbox
is legitimately long, so this cap only stops a server that never ends its line.
"""

ImapResponseKind = Literal["untagged", "continuation", "tagged"]
ImapValue: TypeAlias = "str | ImapString | tuple[ImapValue, ...] | None"

STATUS_WORDS: Final = frozenset({"OK", "NO", "BAD", "PREAUTH", "BYE"})
"""RFC 3501 §7.1: the status responses; OK, NO and BAD may be tagged."""

_TAGGED_STATUS_WORDS: Final = frozenset({"OK", "NO", "BAD"})
_SYSTEM_FLAGS: Final = {
    flag.upper(): flag for flag in ("\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft", "\\Recent")
}
"""RFC 3501 §2.3.2 system flags, keyed by their upper-case spelling."""

_LITERAL_MARKER: Final = re.compile(rb"(~?)\{([0-9]+)(\+?)\}\r?$")
_SP: Final = 0x20
_NUL: Final = b"\x00"


@dataclass(frozen=True)
class ImapString:
    """A quoted string or literal: octets, kept apart from atoms.

    ``form`` records how it was sent ("quoted", "literal" or "literal8") for checks that care;
    it does not take part in equality, so ``ImapString(b"x")`` matches either form.
    """

    data: bytes
    form: Literal["quoted", "literal", "literal8"] = field(default="quoted", compare=False)

    @property
    def text(self) -> str:
        """The octets decoded as UTF-8 (RFC 9051 strings are UTF-8), bad octets replaced."""
        return self.data.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class ImapResponse:
    """One complete response: its kind, tag, tokens and what was wrong with it.

    ``line`` is the whole response with literals inline and without the final line end, for
    logging; ``raw`` is exactly the octets consumed.
    """

    kind: ImapResponseKind
    tag: str | None
    line: bytes
    values: tuple[ImapValue, ...]
    raw: bytes
    defects: tuple[str, ...] = ()

    @property
    def status(self) -> str | None:
        """OK, NO, BAD, PREAUTH or BYE (upper-cased) for a status response, else None."""
        if self.kind == "continuation" or not self.values:
            return None
        first = self.values[0]
        if isinstance(first, str) and first.upper() in STATUS_WORDS:
            return first.upper()
        return None

    @property
    def resp_code(self) -> tuple[ImapValue, ...] | None:
        """The bracketed response code of a status or continuation response, as values."""
        if self._is_resp_text() and len(self.values) >= 2 and isinstance(self.values[-2], tuple):
            return self.values[-2]
        return None

    @property
    def text(self) -> str:
        """The human-readable text of a status or continuation response, else ""."""
        if self._is_resp_text() and isinstance(self.values[-1], str):
            return self.values[-1]
        return ""

    def _is_resp_text(self) -> bool:
        return bool(self.values) and (self.kind == "continuation" or self.status is not None)


def fetch_items(values: tuple[ImapValue, ...]) -> dict[str, ImapValue]:
    """Map the items of a ``* n FETCH (...)`` response, keys upper-cased (RFC 3501 §7.4.2).

    ``values`` is the response's value tuple; keys keep their section text, e.g. "BODY[TEXT]"
    or "BODY[HEADER.FIELDS (SUBJECT)]<0>". Raises ValueError if this is not a well-formed FETCH.
    """
    if len(values) != 3 or not isinstance(values[1], str) or values[1].upper() != "FETCH":
        raise ValueError(f"not a FETCH response: {values!r}")
    items = values[2]
    if not isinstance(items, tuple) or len(items) % 2:
        raise ValueError(f"FETCH data is not a list of name/value pairs: {items!r}")
    result: dict[str, ImapValue] = {}
    for name, value in zip(items[::2], items[1::2], strict=True):
        if not isinstance(name, str):
            raise ValueError(f"FETCH item name is not an atom: {name!r}")
        result[name.upper()] = value
    return result


def flags_set(value: ImapValue) -> frozenset[str]:
    """The flags of a flag list, system flags in their RFC 3501 §2.3.2 spelling.

    System flags are case-insensitive (RFC 3501 §9 note 1), so ``\\seen`` becomes ``\\Seen``;
    keywords and other flags are kept as sent. Raises ValueError for anything but a list of
    atoms.
    """
    if not isinstance(value, tuple):
        raise ValueError(f"not a flag list: {value!r}")
    flags: set[str] = set()
    for flag in value:
        if not isinstance(flag, str):
            raise ValueError(f"flag is not an atom: {flag!r}")
        flags.add(_SYSTEM_FLAGS.get(flag.upper(), flag))
    return frozenset(flags)


@dataclass(frozen=True)
class _Literal:
    data_start: int
    data_end: int
    form: Literal["literal", "literal8"]


class ImapReader(StreamBuffer):
    """Incremental, socket-free IMAP response reader.

    ``feed`` any fragment of the server's output; ``next_reply`` returns one complete response
    (literals included) or None until enough octets have arrived.
    """

    def __init__(self, max_line_octets: int = MAX_UNTERMINATED_LINE_OCTETS) -> None:
        super().__init__(max_line_octets)
        self._literals: dict[int, _Literal] = {}
        self._defects: list[str] = []

    def reset(self) -> None:
        """Forget everything buffered, e.g. after STARTTLS (RFC 3501 §6.2.1) or a framing error."""
        super().reset()
        self._literals = {}
        self._defects = []

    def next_reply(self) -> ImapResponse | None:
        """Return the next complete response, or None if more octets are needed.

        Raises ReplyFramingError for an empty response line or a line over the hard cap.
        """
        while True:
            if self._scan > len(self._buffer):
                return None  # still inside a literal's octets
            newline = self._buffer.find(b"\n", self._scan)
            if newline < 0:
                if len(self._buffer) - self._cursor > self._max_line:
                    raise ReplyFramingError(f"IMAP response line exceeds {self._max_line} octets without a line end")
                self._scan = len(self._buffer)
                return None
            if newline - self._cursor > self._max_line:
                raise ReplyFramingError(f"IMAP response line exceeds {self._max_line} octets")
            crlf = newline > self._cursor and self._buffer[newline - 1] == ord("\r")
            if not crlf:
                self._defects.append("line ended with bare LF, not CRLF (RFC 3501 §2.2)")
            literal = self._literal_at_end(newline)
            if literal is None:
                return self._complete(newline - 1 if crlf else newline, newline + 1)
            self._cursor = self._scan = literal.data_end

    def _literal_at_end(self, newline: int) -> _Literal | None:
        segment = bytes(self._buffer[self._cursor : newline])
        match = _LITERAL_MARKER.search(segment)
        if match is None:
            return None
        if match.group(3):
            self._defects.append("server sent a non-synchronizing literal {n+} (RFC 9051 §9: not allowed from server)")
        literal = _Literal(
            data_start=newline + 1,
            data_end=newline + 1 + int(match.group(2)),
            form="literal8" if match.group(1) else "literal",
        )
        self._literals[self._cursor + match.start()] = literal
        return literal

    def _complete(self, end: int, consumed: int) -> ImapResponse:
        raw = bytes(self._buffer[:consumed])
        del self._buffer[:consumed]
        literals, self._literals = self._literals, {}
        defects, self._defects = self._defects, []
        self._cursor = self._scan = 0
        line = raw[:end]
        parser = _ResponseParser(line, literals, defects)
        kind, tag, values = parser.parse()
        return ImapResponse(kind=kind, tag=tag, line=line, values=values, raw=raw, defects=tuple(defects))


class _ResponseParser:
    """Tokenises one framed response; literal positions come from the framer."""

    def __init__(self, line: bytes, literals: dict[int, _Literal], defects: list[str]) -> None:
        self._src = line
        self._pos = 0
        self._literals = literals
        self._defects = defects
        self._noted: set[str] = set()

    def parse(self) -> tuple[ImapResponseKind, str | None, tuple[ImapValue, ...]]:
        if not self._src:
            raise ReplyFramingError("empty IMAP response line")
        self._check_nul()
        if self._src.startswith(b"+"):
            self._pos = 1
            if not self._take_sp():
                self._defects.append("continuation '+' is not followed by SP (RFC 3501 §9 continue-req)")
            return "continuation", None, self._resp_text()
        head = self._src.split(b" ", 1)[0]
        if not head:
            raise ReplyFramingError(f"IMAP response line starts with SP, no tag: {self._src[:40]!r}")
        self._pos = len(head)
        tag = head.decode("utf-8", errors="replace")
        kind: ImapResponseKind = "untagged" if head == b"*" else "tagged"
        if not self._take_sp():
            self._defects.append(f"response has nothing after {tag!r} (RFC 3501 §9 response)")
            return kind, None if kind == "untagged" else tag, ()
        values = self._after_tag(kind)
        return kind, None if kind == "untagged" else tag, values

    def _after_tag(self, kind: ImapResponseKind) -> tuple[ImapValue, ...]:
        word_end = self._src.find(b" ", self._pos)
        word_end = len(self._src) if word_end < 0 else word_end
        word = self._src[self._pos : word_end].decode("utf-8", errors="replace")
        status = word.upper()
        if kind == "tagged" and status not in _TAGGED_STATUS_WORDS:
            self._defects.append(f"tagged response has {word!r}, not OK, NO or BAD (RFC 3501 §9 response-tagged)")
            if status in STATUS_WORDS:
                self._defects.append(f"{status} is always untagged (RFC 3501 §7.1)")
        if status not in STATUS_WORDS:
            return self._sequence(in_code=False, depth=0)
        self._pos = word_end
        if not self._take_sp() and self._pos < len(self._src):
            self._defects.append(f"{status} is not followed by SP (RFC 3501 §9 resp-cond-state)")
        return (word, *self._resp_text())

    def _resp_text(self) -> tuple[ImapValue, ...]:
        """``["[" resp-text-code "]" SP] text`` (RFC 3501 §9 resp-text); text stays one string."""
        if self._peek() != b"[":
            return (self._rest_as_text(),)
        self._pos += 1
        code = self._sequence(in_code=True, depth=0)
        if self._peek() == b"]":
            self._pos += 1
            if not code:
                self._defects.append("empty response code '[]' (RFC 3501 §9 resp-text-code)")
            if not self._take_sp():
                self._defects.append("response code is not followed by SP (RFC 3501 §9 resp-text)")
        else:
            self._defects.append("response code '[' is never closed by ']' (RFC 3501 §9 resp-text)")
        return (code, self._rest_as_text())

    def _rest_as_text(self) -> str:
        text = self._src[self._pos :].decode("utf-8", errors="replace")
        self._pos = len(self._src)
        return text

    def _sequence(self, *, in_code: bool, depth: int) -> tuple[ImapValue, ...]:
        """Values up to the end, a ')' closing this depth, or (in a response code) a ']'."""
        items: list[ImapValue] = []
        after_sp = False
        while self._pos < len(self._src):
            octet = self._src[self._pos]
            if octet == _SP:
                self._pos += 1
                if after_sp or not items or self._peek() in (b"", b")") or (in_code and self._peek() == b"]"):
                    self._note("extra or misplaced SP between values (RFC 3501 §9 note 2: exactly one SP)")
                after_sp = True
                continue
            if in_code and octet == ord("]"):
                if depth:
                    self._note("list inside a response code is not closed (RFC 3501 §4.4)")
                return tuple(items)
            if octet == ord(")"):
                self._pos += 1
                if depth:
                    return tuple(items)
                self._note("unbalanced ')' with no open list (RFC 3501 §4.4)")
                continue
            if octet in b"\r\n":
                self._note("bare CR or LF inside a response line (RFC 3501 §9 TEXT-CHAR)")
                self._pos += 1
                continue
            if items and not after_sp:
                self._note("values are not separated by SP (RFC 3501 §9)")
            items.append(self._value(in_code=in_code, depth=depth))
            after_sp = False
        if depth:
            self._note("list is not closed before the end of the response (RFC 3501 §4.4)")
        return tuple(items)

    def _value(self, *, in_code: bool, depth: int) -> ImapValue:
        octet = self._src[self._pos]
        if octet == ord("("):
            self._pos += 1
            return self._sequence(in_code=in_code, depth=depth + 1)
        if octet == ord('"'):
            return self._quoted()
        if self._pos in self._literals:
            return self._literal()
        return self._atom(in_code=in_code)

    def _quoted(self) -> ImapString:
        """``DQUOTE *QUOTED-CHAR DQUOTE`` with ``\\"`` and ``\\\\`` escapes (RFC 3501 §9 quoted)."""
        self._pos += 1
        data = bytearray()
        while self._pos < len(self._src) and self._pos not in self._literals:
            octet = self._src[self._pos]
            if octet == ord('"'):
                self._pos += 1
                return ImapString(bytes(data), "quoted")
            if octet in b"\r\n":
                break
            if octet == ord("\\") and self._pos + 1 < len(self._src):
                escaped = self._src[self._pos + 1]
                if escaped not in b'"\\':
                    self._note("backslash escapes a character other than '\"' or '\\' (RFC 3501 §9 quoted)")
                data.append(escaped)
                self._pos += 2
                continue
            data.append(octet)
            self._pos += 1
        self._note("quoted string is not closed (RFC 3501 §4.3)")
        return ImapString(bytes(data), "quoted")

    def _literal(self) -> ImapString:
        literal = self._literals[self._pos]
        data = self._src[literal.data_start : literal.data_end]
        if literal.form == "literal" and _NUL in data:
            self._note("literal contains NUL; only literal8 may (RFC 3501 §9 CHAR8)")
        self._pos = literal.data_end
        return ImapString(data, literal.form)

    def _atom(self, *, in_code: bool) -> ImapValue:
        """An atom, absorbing ``[section]`` and what follows it up to a delimiter; NIL is None."""
        start = self._pos
        if self._src[start] == ord("{"):
            self._note("'{' that does not start a literal (RFC 3501 §9 atom-specials)")
        while self._pos < len(self._src) and self._pos not in self._literals:
            octet = self._src[self._pos]
            if octet in b" ()\r\n" or (in_code and octet == ord("]")):
                break
            if octet == ord("[") and self._pos > start:
                self._section()
                continue
            self._pos += 1
        atom = self._src[start : self._pos].decode("utf-8", errors="replace")
        return None if atom.upper() == "NIL" else atom

    def _section(self) -> None:
        """Skip ``[ ... ]`` including spaces and quoted header names (RFC 3501 §9 section)."""
        self._pos += 1
        quoted = False
        while self._pos < len(self._src) and self._pos not in self._literals:
            octet = self._src[self._pos]
            if octet in b"\r\n":
                break
            self._pos += 1
            if octet == ord('"'):
                quoted = not quoted
            elif octet == ord("]") and not quoted:
                return
        self._note("section '[' is never closed by ']' (RFC 3501 §9 section)")

    def _peek(self) -> bytes:
        return self._src[self._pos : self._pos + 1]

    def _take_sp(self) -> bool:
        if self._peek() == b" ":
            self._pos += 1
            return True
        return False

    def _check_nul(self) -> None:
        """NUL outside literals; inside a literal ``_literal`` judges it by the literal's form."""
        spans = [(literal.data_start, literal.data_end) for literal in self._literals.values()]
        for match in re.finditer(_NUL, self._src):
            if not any(start <= match.start() < end for start, end in spans):
                self._note("NUL octet in a response line (RFC 3501 §9 note 3: MUST NOT be used)")
                return

    def _note(self, defect: str) -> None:
        if defect not in self._noted:
            self._noted.add(defect)
            self._defects.append(defect)
