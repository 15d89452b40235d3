"""The MIME tree of a message, from the `email` package's parser, with line spans for every entity.

The stdlib parser decides the structure (where headers end, which lines are boundary
delimiters, how a message/rfc822 body nests); the linter must judge exactly the structure a
receiving agent sees, and must say on which line a defect is. The parser keeps no positions,
so `_PositionedParser` counts the lines it reads through three hooks of
`email.feedparser.FeedParser` (`_new_message`, `_parse_headers`, `_pop_message`): when an
entity starts, where its body starts, where it ends. These hooks are private but unchanged
throughout CPython 3.11, which the project pins; the structure tests pin the spans they give.

Header fields are also split by hand here (`RawField`), in the parser's own way, because the
linter needs each field's line number and its octets before any decoding.
"""

from __future__ import annotations

import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import errors
from email.feedparser import BytesFeedParser
from email.message import Message
from typing import TYPE_CHECKING, Any, Final

from harness.mime.fieldtext import field_text, strip_comments
from harness.mime.lines import Line, split_lines

PARSE_POLICY: Final = email.policy.SMTP
"""Structure comes from the default (RFC 5322) header model; defects are recorded, never raised."""

FALLBACK_POLICY: Final = email.policy.compat32
"""Used only if the header model raises on some input: compat32 keeps headers as plain strings."""


@dataclass(frozen=True)
class RawField:
    name: bytes  # as written, before the colon
    value: bytes  # unfolded: continuation lines joined without their line ends
    line: int  # number of the line the field starts on
    lines: tuple[Line, ...]

    @property
    def key(self) -> str:
        """The name for comparisons: ASCII, lower case (a name with other octets never matches a known one)."""
        return self.name.decode("ascii", "replace").strip().lower()

    def line_at(self, offset: int) -> int:
        """The number of the line holding octet `offset` of the unfolded value."""
        start = 0
        for index, line in enumerate(self.lines):
            length = len(line.text) - (len(self.name) + 1 if index == 0 else 0)
            if offset < start + length:
                return line.number
            start += length
        return self.lines[-1].number


@dataclass(frozen=True)
class HeaderProblem:
    """A header-section line that is not part of a field, as the parser saw it."""

    kind: str  # "continuation-first", "envelope-from", "empty-name", "not-a-field"
    line: Line


@dataclass
class Entity:
    """One message or body part: its parsed form, its header fields, and where its body lies."""

    message: Message
    fields: tuple[RawField, ...]
    problems: tuple[HeaderProblem, ...]
    first: int  # index (into the message's lines) of the entity's first header line
    body_first: int  # index of the first body line
    end: int  # index one past the entity's last line (for a part: the line before the next delimiter)
    is_message: bool  # the top level or the body of a message/* entity: RFC 5322 rules apply
    children: list[Entity] = field(default_factory=list)

    @property
    def stop_line(self) -> int | None:
        """Index of the line where the parser ended the header section without a blank line, if it did."""
        if any(isinstance(d, errors.MissingHeaderBodySeparatorDefect) for d in self.message.defects):
            return self.body_first
        return None

    @property
    def is_leaf(self) -> bool:
        """A body of content rather than of parts (a multipart without a boundary counts as one)."""
        return not self.message.is_multipart() and self.message.get_content_maintype() not in ("multipart", "message")

    @property
    def transfer_encoding(self) -> str:
        """The Content-Transfer-Encoding mechanism, lower case; 7bit when absent (RFC 2045 §6.1)."""
        found = self.first_field("content-transfer-encoding")
        if found is None:
            return "7bit"
        return "".join(strip_comments(field_text(found.value)).split()).lower()

    def field_values(self, key: str) -> list[RawField]:
        return [f for f in self.fields if f.key == key]

    def first_field(self, key: str) -> RawField | None:
        found = self.field_values(key)
        return found[0] if found else None

    def walk(self) -> Iterator[Entity]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class ParsedMessage:
    data: bytes
    lines: tuple[Line, ...]
    root: Entity
    policy_fallback: bool  # the header model raised and compat32 parsed instead

    @property
    def is_mime(self) -> bool:
        """The top level claims MIME (RFC 2045 §4) or uses MIME fields: bodies are judged by their labels."""
        return any(f.key == "mime-version" or f.key.startswith("content-") for f in self.root.fields)

    def messages(self) -> Iterator[Entity]:
        """The top level and every enclosed message (message/rfc822 bodies): where RFC 5322 rules apply."""
        return (entity for entity in self.root.walk() if entity.is_message)

    def line_number(self, index: int) -> int | None:
        """The 1-based number of line `index`, or None past the end."""
        return self.lines[index].number if 0 <= index < len(self.lines) else None


@dataclass
class _Span:
    first: int
    body_first: int = -1
    end: int = -1


class _CountingInput:
    """Wraps the parser's line buffer and counts the lines it has handed out and not taken back."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.consumed = 0

    def readline(self) -> Any:
        line = self._inner.readline()
        if isinstance(line, str) and line:
            self.consumed += 1
        return line

    def unreadline(self, line: str) -> None:
        self._inner.unreadline(line)
        self.consumed -= 1

    def __iter__(self) -> _CountingInput:
        return self

    def __next__(self) -> Any:
        line = self.readline()
        if line == "":
            raise StopIteration
        return line

    def push(self, data: str) -> None:
        self._inner.push(data)

    def pushlines(self, lines: list[str]) -> None:
        self._inner.pushlines(lines)

    def push_eof_matcher(self, pred: Any) -> None:
        self._inner.push_eof_matcher(pred)

    def pop_eof_matcher(self) -> Any:
        return self._inner.pop_eof_matcher()

    def close(self) -> None:
        self._inner.close()


if TYPE_CHECKING:
    _FeedParser = BytesFeedParser[Message]
else:  # not subscriptable at run time
    _FeedParser = BytesFeedParser


class _PositionedParser(_FeedParser):
    def __init__(self, policy: Any) -> None:
        super().__init__(policy=policy)
        self._counter = _CountingInput(self._input)  # type: ignore[has-type]
        self._input = self._counter
        self.spans: dict[int, _Span] = {}
        self._stack: list[_Span] = []

    def _new_message(self) -> None:
        super()._new_message()  # type: ignore[misc]
        span = _Span(self._counter.consumed)
        self.spans[id(self._cur)] = span  # type: ignore[attr-defined]
        self._stack.append(span)

    def _parse_headers(self, lines: list[str]) -> None:
        super()._parse_headers(lines)  # type: ignore[misc]
        self._stack[-1].body_first = self._counter.consumed

    def _pop_message(self) -> Message:
        message: Message = super()._pop_message()  # type: ignore[misc]
        span = self._stack.pop()
        span.end = self._counter.consumed
        if span.body_first < 0:  # headers never finished (cannot happen on a closed input; kept safe)
            span.body_first = span.end
        return message


def parse(data: bytes) -> ParsedMessage:
    lines = split_lines(data)
    fallback = False
    try:
        message, spans = _run_parser(data, PARSE_POLICY)
    except Exception:  # the header model raised on some malformed field: parse with plain strings
        message, spans = _run_parser(data, FALLBACK_POLICY)
        fallback = True
    root = _entity(message, spans, lines, is_message=True)
    return ParsedMessage(data, lines, root, fallback)


def _run_parser(data: bytes, policy: Any) -> tuple[Message, dict[int, _Span]]:
    parser = _PositionedParser(policy)
    parser.feed(data)
    message = parser.close()
    return message, parser.spans


def _entity(message: Message, spans: dict[int, _Span], lines: tuple[Line, ...], *, is_message: bool) -> Entity:
    span = spans.get(id(message)) or _Span(0, 0, 0)
    header_lines = lines[span.first : span.body_first]
    fields, problems = split_fields(header_lines)
    entity = Entity(message, fields, problems, span.first, span.body_first, span.end, is_message)
    payload = message.get_payload()
    if message.is_multipart() and isinstance(payload, list):
        child_is_message = message.get_content_maintype() == "message"
        for part in payload:
            if isinstance(part, Message) and id(part) in spans:
                entity.children.append(_entity(part, spans, lines, is_message=child_is_message))
    return entity


def split_fields(header_lines: tuple[Line, ...]) -> tuple[tuple[RawField, ...], tuple[HeaderProblem, ...]]:
    """Header lines to fields, the way `FeedParser._parse_headers` reads them, keeping line numbers."""
    fields: list[RawField] = []
    problems: list[HeaderProblem] = []
    current: list[Line] = []

    def flush() -> None:
        if current:
            first = current[0]
            colon = first.text.index(b":")
            value = first.text[colon + 1 :] + b"".join(line.text for line in current[1:])
            fields.append(RawField(first.text[:colon], value, first.number, tuple(current)))
            current.clear()

    for line in header_lines:
        if line.blank:
            break  # the separator the parser consumed
        if line.text[:1] in (b" ", b"\t"):
            if current:
                current.append(line)
            else:
                problems.append(HeaderProblem("continuation-first", line))
            continue
        flush()
        if line.text.startswith(b"From "):
            problems.append(HeaderProblem("envelope-from", line))
            continue
        if b":" not in line.text:
            problems.append(HeaderProblem("not-a-field", line))
            continue
        if line.text.startswith(b":"):
            problems.append(HeaderProblem("empty-name", line))
            continue
        current.append(line)
    flush()
    return tuple(fields), tuple(problems)
