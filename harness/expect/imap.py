"""What a group of `S:` lines of an IMAP transcript says, and whether responses satisfy it.

A group is untagged patterns (`* ...`) in any order, then optionally the tagged
completion (`a1 OK *`) or a continuation request (`+ *`). Each pattern is a glob (see
harness.patterns) matched against one response line; a `* n FETCH (...)` pattern is
compared item by item instead, in any order, with flag lists compared as sets — the
order of FETCH items and of flags carries no meaning (RFC 3501 §7.4.2, §2.3.2).
Untagged responses the group does not mention are allowed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from harness.patterns import Pattern, compile_pattern, match_pattern
from harness.readers.imap import ImapResponse, ImapString, fetch_items, flags_set

FETCH_RE: Final = re.compile(r"\* (\S+) FETCH \((.*)\)", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class ImapGroup:
    untagged: tuple[Pattern, ...]
    final: Pattern | None  # the tagged line or continuation closing the group
    tag: str | None
    ends_with_continuation: bool

    @property
    def names(self) -> set[str]:
        found: set[str] = set()
        for pattern in (*self.untagged, *((self.final,) if self.final else ())):
            found.update(pattern.names)
        return found


def parse_imap_group(patterns: tuple[str, ...]) -> ImapGroup:
    untagged: list[Pattern] = []
    final: Pattern | None = None
    tag: str | None = None
    continuation = False
    for index, source in enumerate(patterns):
        last = index == len(patterns) - 1
        if source.startswith("* ") or source == "*":
            untagged.append(compile_pattern(source))
            continue
        if not last:
            raise ValueError(f"IMAP pattern {source!r}: only the last line of a group may be tagged or '+'")
        final = compile_pattern(source)
        if source.startswith("+"):
            continuation = True
        else:
            tag = source.split(" ", 1)[0]
            if not re.fullmatch(r"[A-Za-z0-9.]+", tag):
                raise ValueError(f"IMAP pattern {source!r}: a tag is letters and digits, not {tag!r}")
    return ImapGroup(tuple(untagged), final, tag, continuation)


def _text(response: ImapResponse) -> str:
    return response.line.decode("utf-8", "replace").rstrip("\r\n")


def _match_fetch(pattern: Pattern, response: ImapResponse, bound: Mapping[str, str]) -> dict[str, str] | None:
    """Item-wise FETCH comparison: every item the pattern names must be present and match."""
    wanted = FETCH_RE.fullmatch(pattern.source)
    got = FETCH_RE.fullmatch(_text(response))
    if not wanted or not got or response.kind != "untagged":
        return None
    captures: dict[str, str] = {}
    found = match_pattern(compile_pattern(wanted.group(1)), got.group(1), bound)
    if found is None:
        return None
    captures |= found
    try:
        actual = fetch_items(response.values)
    except ValueError:
        return None  # not name/value FETCH data: it matches no FETCH pattern
    for name, value_source in _pattern_items(wanted.group(2)):
        if name not in actual:
            return None
        value = actual[name]
        if name == "FLAGS":
            expected_flags = {f for f in value_source.strip("()").split() if f}
            try:
                flags = flags_set(value)
            except ValueError:
                return None  # FLAGS that is not a list of atoms matches no flag list
            if {f.lower() for f in expected_flags} != {f.lower() for f in flags}:
                return None
            continue
        rendered = _render_value(value)
        found = match_pattern(compile_pattern(value_source), rendered, {**bound, **captures})
        if found is None:
            return None
        captures |= found
    return captures


def _render_value(value: object) -> str:
    if value is None:
        return "NIL"
    if isinstance(value, ImapString):
        return value.data.decode("utf-8", "replace")
    if isinstance(value, tuple):
        return "(" + " ".join(_render_value(v) for v in value) + ")"
    return str(value)


def _pattern_items(text: str) -> list[tuple[str, str]]:
    """Split `FLAGS (\\Seen) UID 4 BODY[HEADER] *` into (NAME, value-source) pairs."""
    tokens: list[str] = []
    depth, start, i = 0, 0, 0
    while i < len(text):
        ch = text[i]
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == " " and depth == 0:
            if i > start:
                tokens.append(text[start:i])
            start = i + 1
        i += 1
    if start < len(text):
        tokens.append(text[start:])
    return [(tokens[i].upper(), tokens[i + 1] if i + 1 < len(tokens) else "") for i in range(0, len(tokens), 2)]


def _match_one(pattern: Pattern, response: ImapResponse, bound: Mapping[str, str]) -> dict[str, str] | None:
    if FETCH_RE.fullmatch(pattern.source):
        return _match_fetch(pattern, response, bound)
    return match_pattern(pattern, _text(response), bound)


def imap_group_mismatch(
    group: ImapGroup, responses: list[ImapResponse], bound: Mapping[str, str]
) -> tuple[str | None, dict[str, str]]:
    captures: dict[str, str] = {}
    pool = list(responses)
    if group.final is not None:
        last = pool.pop()
        found = _match_one(group.final, last, bound)
        if found is None:
            return f"{_text(last)!r} does not match {group.final.source!r}", {}
        captures |= found
    untagged = [r for r in pool if r.kind == "untagged"]
    assignment = _assign(list(group.untagged), untagged, {**bound, **captures})
    if assignment is None:
        missing = [p.source for p in group.untagged if not any(_match_one(p, r, bound) is not None for r in untagged)]
        what = missing[0] if missing else group.untagged[0].source
        return f"no untagged response matches {what!r}", {}
    return None, captures | assignment


def _assign(patterns: list[Pattern], responses: list[ImapResponse], bound: Mapping[str, str]) -> dict[str, str] | None:
    """Each pattern to a distinct response, in any order (small groups: plain backtracking)."""
    if not patterns:
        return {}
    head, rest = patterns[0], patterns[1:]
    for index, response in enumerate(responses):
        found = _match_one(head, response, bound)
        if found is None:
            continue
        tail = _assign(rest, responses[:index] + responses[index + 1 :], {**bound, **found})
        if tail is not None:
            return found | tail
    return None
