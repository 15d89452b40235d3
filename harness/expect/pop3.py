"""What an `S:` line (and its `S|` body lines) of a POP3 transcript says.

Form: `+OK [pattern]`, `-ERR [pattern]`, or `+ [pattern]` (a SASL continuation,
RFC 5034 §4). A pattern may start with `[CODE]`, matched against the RFC 2449 §8
response code. The rest, if given, is a glob matched against the text after the status
word — used only where the RFC fixes the text's shape (STAT's `nn mm`, LIST's
`msg octets`, UIDL's `msg unique-id`), never for human wording.
Body lines (`S|`) match the multi-line body line by line after byte-unstuffing; a
body line `...` matches any number of lines, and `S| .` is never written: the
terminating dot belongs to the framing, which the reader checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from harness.patterns import Pattern, compile_pattern, match_pattern
from harness.readers.pop3 import Pop3Reply

STATUS_WORDS: Final = {"+OK": "OK", "-ERR": "ERR", "+": "CONT"}
ANY_LINES: Final = "..."


@dataclass(frozen=True)
class Pop3Expectation:
    status: str
    resp_code: Pattern | None
    text: Pattern | None
    body: tuple[Pattern | None, ...] | None  # None entry = "..." (any lines)

    @property
    def names(self) -> set[str]:
        found: set[str] = set()
        for pattern in (self.resp_code, self.text, *(self.body or ())):
            if pattern is not None:
                found.update(pattern.names)
        return found


def parse_pop3_expectation(pattern: str, body: tuple[str, ...] | None = None) -> Pop3Expectation:
    status_word, _, rest = pattern.partition(" ")
    if status_word not in STATUS_WORDS:
        raise ValueError(f"POP3 reply pattern {pattern!r}: start with +OK, -ERR or + (continuation)")
    rest = rest.strip()
    resp_code: Pattern | None = None
    if rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            raise ValueError(f"POP3 reply pattern {pattern!r}: '[' of a response code is not closed")
        resp_code = compile_pattern(rest[1:end])
        rest = rest[end + 1 :].strip()
    text = compile_pattern(rest) if rest else None
    lines = None if body is None else tuple(None if b == ANY_LINES else compile_pattern(b) for b in body)
    return Pop3Expectation(STATUS_WORDS[status_word], resp_code, text, lines)


def pop3_mismatch(
    expectation: Pop3Expectation, reply: Pop3Reply, bound: Mapping[str, str]
) -> tuple[str | None, dict[str, str]]:
    """(None, captures) when the reply satisfies the expectation, else (why not, {})."""
    shown = {"OK": "+OK", "ERR": "-ERR", "CONT": "+"}
    if reply.status != expectation.status:
        return f"status {shown[reply.status]}, expected {shown[expectation.status]}", {}
    captures: dict[str, str] = {}
    if expectation.resp_code is not None:
        if reply.resp_code is None:
            return f"no response code, expected [{expectation.resp_code.source}] (RFC 2449 §8)", {}
        found = match_pattern(expectation.resp_code, reply.resp_code, {**bound, **captures})
        if found is None:
            return f"response code [{reply.resp_code}], expected [{expectation.resp_code.source}]", {}
        captures |= found
    text = reply.text
    if reply.resp_code is not None and text.startswith("["):
        text = text[text.find("]") + 1 :].lstrip()
    if expectation.text is not None:
        found = match_pattern(expectation.text, text, {**bound, **captures})
        if found is None:
            return f"text {text!r} does not match {expectation.text.source!r}", {}
        captures |= found
    if expectation.body is not None:
        if reply.body is None:
            return "a multi-line body was expected, the reply had none", {}
        lines = [line.decode("utf-8", "replace") for line in reply.body]
        found_body = _match_lines(list(expectation.body), lines, {**bound, **captures})
        if found_body is None:
            return "body does not match:\n" + "\n".join("  " + line for line in lines[:40]), {}
        captures |= found_body
    return None, captures


def _match_lines(patterns: list[Pattern | None], lines: list[str], bound: Mapping[str, str]) -> dict[str, str] | None:
    """Match line by line; a None pattern (`...`) takes any number of lines (backtracking)."""
    if not patterns:
        return {} if not lines else None
    head, rest = patterns[0], patterns[1:]
    if head is None:
        for skip in range(len(lines) + 1):
            found = _match_lines(rest, lines[skip:], bound)
            if found is not None:
                return found
        return None
    if not lines:
        return None
    found = match_pattern(head, lines[0], bound)
    if found is None:
        return None
    tail = _match_lines(rest, lines[1:], {**bound, **found})
    return None if tail is None else found | tail
