"""Is a stored message the message that was sent, apart from the trace a server may add?

A mail server owes the recipient the data it accepted (RFC 5321 §4.5.2: "All characters are
to be delivered to the recipient's mailbox"), with trace fields prepended on the way (RFC 5321
§4.4). So the copy read back must be: a block of trace fields, then exactly the octets sent.
Anything else — a re-wrapped line, a stripped space, a re-encoded body, a field added below
the trace block — is a change, reported at the first line where the copies part.

The trace block may hold Return-Path: and Received: (RFC 5322 §3.6.7, RFC 5321 §4.4), and
Delivered-To:, the trace field delivery agents add (registered by RFC 9228). Nothing else:
a field outside that list, even at the top, is a change to the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

TRACE_FIELDS: Final = frozenset({"return-path", "received", "delivered-to"})
SHOWN_OCTETS: Final = 100  # how much of a differing line a report quotes


@dataclass(frozen=True)
class Comparison:
    """The verdict on one stored copy; `difference` is empty when the copy is intact."""

    trace: tuple[str, ...]  # names of the trace fields found above the message, in order
    difference: str
    expected: str  # the sent line where the copies part, quoted ("" when intact)
    received: str  # the stored line there, quoted

    @property
    def intact(self) -> bool:
        return not self.difference


def compare_stored(stored: bytes, sent: bytes) -> Comparison:
    """Compare a stored copy (CRLF line ends, as read back) with the octets a server should store."""
    trace, offset = _trace_block(stored)
    rest = stored[offset:]
    if rest == sent:
        return Comparison(tuple(trace), "", "", "")
    sent_lines, rest_lines = _lines(sent), _lines(rest)
    for number, (want, got) in enumerate(zip(sent_lines, rest_lines, strict=False), start=1):
        if want != got:
            return _difference(trace, number, want, got)
    if len(rest_lines) < len(sent_lines):
        number = len(rest_lines)
        missing = len(sent_lines) - number
        what = f"the stored copy ends early: {missing} line(s) are missing after line {number}"
        return Comparison(tuple(trace), what, _shown(sent_lines[number]), "<end of message>")
    number = len(sent_lines)
    extra = len(rest_lines) - number
    what = f"the stored copy has {extra} line(s) more than were sent, after line {number}"
    return Comparison(tuple(trace), what, "<end of message>", _shown(rest_lines[number]))


def _lines(data: bytes) -> list[bytes]:
    """Lines with their CRLF; a last line without one stays as it is."""
    pieces = data.split(b"\r\n")
    lines = [piece + b"\r\n" for piece in pieces[:-1]]
    return [*lines, pieces[-1]] if pieces[-1] else lines


def _difference(trace: list[str], number: int, want: bytes, got: bytes) -> Comparison:
    bare_want, bare_got = want.removesuffix(b"\r\n"), got.removesuffix(b"\r\n")
    if bare_want == bare_got:
        what = f"line {number} of the message " + ("lost its CRLF" if want.endswith(b"\r\n") else "gained a CRLF")
        return Comparison(tuple(trace), what, _quote(want), _quote(got))
    return Comparison(tuple(trace), _describe(number, bare_want, bare_got), _quote(bare_want), _quote(bare_got))


def _trace_block(stored: bytes) -> tuple[list[str], int]:
    """The trace fields at the top of the copy (a field runs on over its folded lines) and where they end."""
    names: list[str] = []
    offset = 0
    while True:
        end = stored.find(b"\r\n", offset)
        if end < 0:
            return names, offset
        name, colon, _ = stored[offset:end].partition(b":")
        if not colon or name.strip().lower().decode("ascii", "replace") not in TRACE_FIELDS:
            return names, offset
        names.append(name.strip().decode("ascii", "replace"))
        offset = end + 2
        while stored[offset : offset + 1] in (b" ", b"\t"):  # a folded continuation (RFC 5322 §2.2.3)
            end = stored.find(b"\r\n", offset)
            if end < 0:
                return names, offset
            offset = end + 2


def _describe(number: int, want: bytes, got: bytes) -> str:
    what = "differs"
    if got == want.rstrip(b" \t") and got != want:
        what = "lost its trailing white space"
    elif want and got.startswith(want) and len(got) > len(want):
        what = "has octets appended"
    elif got and want.startswith(got) and len(want) > len(got):
        what = f"is cut after {len(got)} of its {len(want)} octets (re-wrapped or truncated)"
    elif any(octet >= 0x80 for octet in want) and not any(octet >= 0x80 for octet in got):
        what = "lost its 8-bit octets (converted to 7 bits)"
    return f"line {number} of the message {what}"


def _shown(line: bytes) -> str:
    """A whole line of one copy, for a report: without its CRLF, or said to be empty."""
    return _quote(line.removesuffix(b"\r\n")) or "<empty line>"


def _quote(line: bytes) -> str:
    """The line as Python shows bytes (escapes for CR, LF and 8-bit octets), cut for a report."""
    shown = line[:SHOWN_OCTETS]
    suffix = f"... ({len(line)} octets)" if len(line) > SHOWN_OCTETS else ""
    return repr(shown)[2:-1] + suffix


def stuff_dots(data: bytes) -> bytes:
    """SMTP transparency (RFC 5321 §4.5.2): a line that starts with "." gets one more in front."""
    return b"\r\n".join(b"." + line if line.startswith(b".") else line for line in data.split(b"\r\n"))
