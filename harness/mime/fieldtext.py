"""Small lexical helpers for header field bodies (RFC 5322 §3.2): decoding and comments."""

from __future__ import annotations

import email.policy
from typing import Final

HEADER_POLICY: Final = email.policy.SMTP
"""The `email` header model (header registry) that judges structured fields and records their defects."""


def field_text(value: bytes) -> str:
    """Field octets as text: UTF-8 when they are (RFC 6532 headers), else one character per octet.

    Undecodable octets become surrogate escapes, so nothing is lost and the `email` header model
    reports them as defects instead of failing.
    """
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("ascii", "surrogateescape")


def strip_comments(text: str) -> str:
    """Remove RFC 5322 comments (nested, with quoted-pairs), leaving quoted-strings intact.

    Each comment becomes one space, as CFWS separates tokens. An unclosed comment runs to the end.
    """
    out: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for char in text:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(char)
            continue
        if char == "\\" and (quoted or depth):
            escaped = True
            if depth == 0:
                out.append(char)
            continue
        if quoted:
            out.append(char)
            if char == '"':
                quoted = False
            continue
        if char == "(":
            if depth == 0:
                out.append(" ")
            depth += 1
            continue
        if char == ")" and depth:
            depth -= 1
            continue
        if depth:
            continue
        if char == '"':
            quoted = True
        out.append(char)
    return "".join(out)
