"""Substitution and escapes in the text of `C:`, `B:` and `L:` lines.

Kept apart from the parser because both ends need it: the parser validates a line
once at collection (so a typo is `file:line` before anything runs), and the runner
renders it with the target's variables and the case's captures.

Forms:
  `$name`, `${name}`    a variable (target variables, or a capture made earlier)
  `$$`                  a literal `$`
  `${repeat:N:text}`    `text` repeated N times (overlong lines, big payloads); in `B:` lines
                        the escapes below work inside `text` too (many header lines at once)
  `${b64:text}`         base64 of `text`, which may hold `$name` variables and the raw
                        escapes below (`${b64:\0$alice_login\0$alice_password}`)
and in raw (`B:`) lines only: `\\r \\n \\t \\0 \\\\ \\xHH` escapes, so bare LF, NUL and
other bytes a command line cannot carry can be sent.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

NAME_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_REPEAT: Final = 100_000_000  # a safety cap: 100 MB of test payload is plenty
_ESCAPES: Final = {"r": b"\r", "n": b"\n", "t": b"\t", "0": b"\0", "\\": b"\\"}


class TextError(ValueError):
    """A line's substitutions or escapes are malformed (reported with file:line)."""


@dataclass(frozen=True)
class Literal:
    data: bytes


@dataclass(frozen=True)
class Variable:
    name: str


@dataclass(frozen=True)
class Repeat:
    count: int
    data: bytes


@dataclass(frozen=True)
class Base64:
    """`${b64:...}`: SASL tokens (AUTH PLAIN, RFC 4616) built from the target's credentials."""

    pieces: tuple[Literal | Variable | Repeat, ...]


Piece = Literal | Variable | Repeat | Base64


def parse_text(text: str, *, raw: bool) -> list[Piece]:
    """Split a line into literal bytes, variable references and repeats."""
    pieces: list[Piece] = []
    buf = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "$":
            piece, i = _parse_dollar(text, i, raw)
            if isinstance(piece, Literal):
                buf += piece.data
            else:
                if buf:
                    pieces.append(Literal(bytes(buf)))
                    buf.clear()
                pieces.append(piece)
            continue
        if raw and ch == "\\":
            data, i = _parse_escape(text, i)
            buf += data
            continue
        buf += ch.encode("utf-8")
        i += 1
    if buf:
        pieces.append(Literal(bytes(buf)))
    return pieces


def variables_used(pieces: list[Piece]) -> list[str]:
    names: list[str] = []
    for piece in pieces:
        if isinstance(piece, Variable):
            names.append(piece.name)
        elif isinstance(piece, Base64):
            names += variables_used(list(piece.pieces))
    return names


def render(pieces: list[Piece], variables: Mapping[str, str]) -> bytes:
    """Resolve the pieces; an unknown variable is an error naming it."""
    out = bytearray()
    for piece in pieces:
        if isinstance(piece, Literal):
            out += piece.data
        elif isinstance(piece, Repeat):
            out += piece.data * piece.count
        elif isinstance(piece, Base64):
            out += base64.b64encode(render(list(piece.pieces), variables))
        else:
            if piece.name not in variables:
                raise TextError(f"variable ${piece.name} is not defined here")
            out += variables[piece.name].encode("utf-8")
    return bytes(out)


def _parse_dollar(text: str, i: int, raw: bool) -> tuple[Piece, int]:
    nxt = text[i + 1 : i + 2]
    if nxt == "$":
        return Literal(b"$"), i + 2
    if nxt == "{":
        end = text.find("}", i + 2)
        if end < 0:
            raise TextError(f"unterminated '${{' at column {i + 1}")
        inner = text[i + 2 : end]
        if inner.startswith("repeat:"):
            return _parse_repeat(inner, raw), end + 1
        if inner.startswith("b64:"):
            nested = parse_text(inner[len("b64:") :], raw=True)
            if any(isinstance(p, Base64) for p in nested):
                raise TextError("${b64:...} cannot nest another ${b64:...}")
            return Base64(tuple(p for p in nested if not isinstance(p, Base64))), end + 1
        if not NAME_RE.fullmatch(inner):
            raise TextError(f"'${{{inner}}}' is not a variable name or ${{repeat:N:text}}")
        return Variable(inner), end + 1
    match = NAME_RE.match(text, i + 1)
    if not match:
        raise TextError(f"'$' at column {i + 1} starts no variable (write $$ for a literal '$')")
    return Variable(match.group()), match.end()


def _parse_repeat(inner: str, raw: bool) -> Repeat:
    count_text, sep, data = inner[len("repeat:") :].partition(":")
    if not sep or not count_text.isdigit():
        raise TextError(f"'${{{inner}}}': expected ${{repeat:N:text}} with N a whole number")
    count = int(count_text)
    if count > MAX_REPEAT:
        raise TextError(f"'${{{inner}}}': repeat count above {MAX_REPEAT}")
    return Repeat(count, _unescape(data) if raw else data.encode("utf-8"))


def _unescape(text: str) -> bytes:
    out = bytearray()
    i = 0
    while i < len(text):
        if text[i] == "\\":
            data, i = _parse_escape(text, i)
            out += data
        else:
            out += text[i].encode("utf-8")
            i += 1
    return bytes(out)


def _parse_escape(text: str, i: int) -> tuple[bytes, int]:
    nxt = text[i + 1 : i + 2]
    if nxt in _ESCAPES:
        return _ESCAPES[nxt], i + 2
    if nxt == "x":
        hexdigits = text[i + 2 : i + 4]
        if len(hexdigits) == 2 and all(c in "0123456789abcdefABCDEF" for c in hexdigits):
            return bytes([int(hexdigits, 16)]), i + 4
        raise TextError(f"'\\x' at column {i + 1} needs two hex digits")
    raise TextError(f"unknown escape '\\{nxt}' at column {i + 1} (known: \\r \\n \\t \\0 \\\\ \\xHH)")
