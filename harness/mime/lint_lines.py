"""Line ends and line lengths (RFC 5322 §2.1.1, §2.2, §2.3).

Which rule judges a long line depends on what the line is: inside a base64 or quoted-printable
body the encoding's own 76-character limit applies (lint_cte), inside a binary body there is no
line structure at all (RFC 2045 §2.9), and inside a 7bit or 8bit MIME body the 998-octet limit
is the one the label promises (RFC 2045 §2.7, §2.8; reported by lint_cte). Everywhere else, RFC
5322 §2.1.1 itself. Each line is judged once.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Final

from harness.mime import rules
from harness.mime.findings import Finding, Tally
from harness.mime.structure import ParsedMessage

MAX_LINE_OCTETS: Final = 998  # RFC 5322 §2.1.1: MUST, excluding the CRLF
RECOMMENDED_LINE_CHARACTERS: Final = 78  # RFC 5322 §2.1.1: SHOULD, excluding the CRLF
IDENTITY_ENCODINGS: Final = frozenset({"7bit", "8bit"})
TRANSFORMING_ENCODINGS: Final = frozenset({"base64", "quoted-printable"})


class Role(enum.Enum):
    HEADER = "header"
    BODY = "body"  # judged by RFC 5322 alone (non-MIME body, preamble, epilogue, unknown encodings)
    IDENTITY = "identity"  # 7bit/8bit MIME body: 998 limit judged as cte.line-too-long
    ENCODED = "encoded"  # base64/quoted-printable body: its own limits
    BINARY = "binary"  # no line structure


def line_roles(parsed: ParsedMessage) -> list[Role]:
    roles = [Role.BODY] * len(parsed.lines)
    for entity in parsed.root.walk():
        for index in range(entity.first, entity.body_first):
            roles[index] = Role.HEADER
        if not entity.is_leaf:
            continue
        encoding = entity.transfer_encoding
        if encoding in TRANSFORMING_ENCODINGS:
            role = Role.ENCODED
        elif encoding == "binary":
            role = Role.BINARY
        elif encoding in IDENTITY_ENCODINGS and (parsed.is_mime or entity is not parsed.root):
            role = Role.IDENTITY
        else:
            continue
        for index in range(entity.body_first, entity.end):
            roles[index] = role
    return roles


def check_line_ends(parsed: ParsedMessage) -> Iterator[Finding]:
    tally = Tally()
    for line, role in zip(parsed.lines, line_roles(parsed), strict=True):
        if role is Role.BINARY or line.ending in (b"\r\n", b""):
            continue
        section = "2.2" if role is Role.HEADER else "2.3"
        if line.ending == b"\n":
            tally.add(rules.BARE_LF, line.number, "line ends in a bare LF, not CRLF", section=section)
        else:
            tally.add(rules.BARE_CR, line.number, "bare CR (not followed by LF)", section=section)
    yield from tally.findings()


def check_line_lengths(parsed: ParsedMessage) -> Iterator[Finding]:
    tally = Tally()
    for line, role in zip(parsed.lines, line_roles(parsed), strict=True):
        if role in (Role.BINARY, Role.ENCODED):
            continue
        octets = len(line.text)
        if octets > MAX_LINE_OCTETS:  # the error says it all; no warning on top
            if role is not Role.IDENTITY:
                tally.add(rules.LINE_TOO_LONG, line.number, f"line of {octets} octets (limit {MAX_LINE_OCTETS})")
        elif octets > RECOMMENDED_LINE_CHARACTERS:
            characters = _characters(line.text)
            if characters > RECOMMENDED_LINE_CHARACTERS:
                tally.add(
                    rules.LINE_OVER_78,
                    line.number,
                    f"line of {characters} characters (recommended {RECOMMENDED_LINE_CHARACTERS})",
                )
    yield from tally.findings()


def _characters(text: bytes) -> int:
    """Characters, not octets, for the display-oriented 78 limit: UTF-8 text counts each character once."""
    try:
        return len(text.decode("utf-8"))
    except UnicodeDecodeError:
        return len(text)
