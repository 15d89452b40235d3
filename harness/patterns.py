"""Patterns of `S:` lines: globs with captures, or a regular expression.

A glob is the everyday form: `*` matches any run of characters, `$name` captures a run
of non-space characters the first time it appears in a case and must equal that value
afterwards (as imaptest's `$var`), `\\*`, `\\$` and `\\\\` stand for themselves. A line
ending in ` (re)` is a Python regular expression instead (as in cram), whose named
groups become captures.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from harness.transcript.text import NAME_RE

REGEX_SUFFIX: Final = " (re)"


class PatternError(ValueError):
    """The pattern itself is malformed (reported at collection with file:line)."""


@dataclass(frozen=True)
class Capture:
    name: str


@dataclass(frozen=True)
class Pattern:
    source: str
    parts: tuple[str | Capture, ...]  # glob form: literal text, "*" wildcard marker, captures
    regex: re.Pattern[str] | None  # regex form

    @property
    def names(self) -> tuple[str, ...]:
        if self.regex is not None:
            return tuple(self.regex.groupindex)
        return tuple(p.name for p in self.parts if isinstance(p, Capture))


_WILDCARD: Final = "\0*"  # marker in `parts`; NUL never appears in a transcript line


def compile_pattern(source: str) -> Pattern:
    if source.endswith(REGEX_SUFFIX):
        body = source[: -len(REGEX_SUFFIX)]
        try:
            return Pattern(source, (), re.compile(body))
        except re.error as exc:
            raise PatternError(f"bad regular expression {body!r}: {exc}") from None
    return Pattern(source, tuple(_glob_parts(source)), None)


def _glob_parts(source: str) -> list[str | Capture]:
    parts: list[str | Capture] = []
    text: list[str] = []

    def flush() -> None:
        if text:
            parts.append("".join(text))
            text.clear()

    i = 0
    while i < len(source):
        ch = source[i]
        if ch == "\\" and i + 1 < len(source) and source[i + 1] in "*$\\":
            text.append(source[i + 1])
            i += 2
        elif ch == "*":
            flush()
            parts.append(_WILDCARD)
            i += 1
        elif ch == "$":
            if source[i + 1 : i + 2] == "$":
                text.append("$")
                i += 2
                continue
            braced = source[i + 1 : i + 2] == "{"
            match = NAME_RE.match(source, i + 2 if braced else i + 1)
            if not match or (braced and source[match.end() : match.end() + 1] != "}"):
                raise PatternError(f"'$' at column {i + 1} starts no capture name (write \\$ for '$')")
            flush()
            parts.append(Capture(match.group()))
            i = match.end() + (1 if braced else 0)
        else:
            text.append(ch)
            i += 1
    flush()
    return parts


def match_pattern(
    pattern: Pattern, subject: str, bound: Mapping[str, str], *, ignore_case: bool = False
) -> dict[str, str] | None:
    """Match a whole subject; return the new captures (empty dict for a plain match) or None.

    `ignore_case` applies to globs (SMTP verbs and keywords are case-insensitive, RFC 5321
    §2.4); a regular expression says so itself with `(?i)`.
    """
    if pattern.regex is not None:
        found = pattern.regex.fullmatch(subject)
        if found is None:
            return None
        new = {k: v for k, v in found.groupdict().items() if v is not None}
        for name, value in new.items():
            if name in bound and bound[name] != value:
                return None
        return new
    regex_parts: list[str] = []
    seen: set[str] = set()
    for part in pattern.parts:
        if isinstance(part, Capture):
            if part.name in bound:
                regex_parts.append(re.escape(bound[part.name]))
            elif part.name in seen:
                regex_parts.append(f"(?P={part.name})")
            else:
                seen.add(part.name)
                regex_parts.append(rf"(?P<{part.name}>\S+)")
        elif part == _WILDCARD:
            regex_parts.append(".*")
        else:
            regex_parts.append(re.escape(part))
    found = re.fullmatch("".join(regex_parts), subject, re.DOTALL | (re.IGNORECASE if ignore_case else 0))
    if found is None:
        return None
    return {k: v for k, v in found.groupdict().items() if v is not None}
