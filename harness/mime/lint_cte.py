"""Each body against its Content-Transfer-Encoding, and text against its charset.

RFC 2045 §6.2: "The proper Content-Transfer-Encoding label must always be used." The label
makes a promise about the octets (7bit: short lines, no 8-bit octets, no NUL; base64 and
quoted-printable: their own alphabets and 76-character lines); these checks hold each leaf
body to the promise its label makes, line by line, on the raw octets.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import Final

from harness.mime import rules
from harness.mime.findings import Finding, Tally
from harness.mime.lines import Line
from harness.mime.structure import Entity, ParsedMessage

KNOWN_ENCODINGS: Final = frozenset({"7bit", "8bit", "binary", "quoted-printable", "base64"})  # RFC 2045 §6.1
MAX_IDENTITY_LINE_OCTETS: Final = 998  # RFC 2045 §2.7, §2.8
MAX_ENCODED_LINE_CHARACTERS: Final = 76  # RFC 2045 §6.7 rule 5, §6.8
_BASE64_ALPHABET: Final = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_QP_LITERAL: Final = frozenset(range(33, 61)) | frozenset(range(62, 127)) | {ord(" "), ord("\t")}  # §6.7 rules 2-3
_HEX_UPPER: Final = frozenset(b"0123456789ABCDEF")
_HEX_ANY: Final = frozenset(b"0123456789ABCDEFabcdef")
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")  # RFC 2045 §5.1 token


def check_transfer_encodings(parsed: ParsedMessage) -> Iterator[Finding]:
    for entity in parsed.root.walk():
        if not entity.is_leaf:
            continue
        encoding = entity.transfer_encoding
        field = entity.first_field("content-transfer-encoding")
        body = parsed.lines[entity.body_first : entity.end]
        if encoding not in KNOWN_ENCODINGS:
            if field is not None and not (encoding.startswith("x-") and _TOKEN.fullmatch(encoding)):
                yield rules.CTE_UNKNOWN.finding(field.line, f"unknown Content-Transfer-Encoding {encoding!r}")
            continue
        if encoding == "binary":
            line = field.line if field is not None else None
            yield rules.CTE_BINARY.finding(line, "binary body: only a BINARYMIME transport (RFC 3030) carries it")
        elif encoding == "base64":
            yield from _base64_findings(body)
        elif encoding == "quoted-printable":
            yield from _quoted_printable_findings(body)
        else:
            yield from _identity_findings(entity, encoding, body, parsed.is_mime or entity is not parsed.root)


def _identity_findings(entity: Entity, encoding: str, body: tuple[Line, ...], mime: bool) -> Iterator[Finding]:
    tally = Tally()
    section = "2.7" if encoding == "7bit" else "2.8"
    labelled = "labelled 7bit" if entity.first_field("content-transfer-encoding") else "7bit by default"
    for line in body:
        if encoding == "7bit" and any(octet > 127 for octet in line.text):
            tally.add(rules.CTE_8BIT_IN_7BIT, line.number, f"8-bit octets in a body {labelled}")
        if 0 in line.text:
            tally.add(rules.CTE_NUL, line.number, f"NUL octet in {encoding} data", section=section)
        if mime and len(line.text) > MAX_IDENTITY_LINE_OCTETS:
            tally.add(
                rules.CTE_LINE_TOO_LONG,
                line.number,
                f"line of {len(line.text)} octets in {encoding} data (limit {MAX_IDENTITY_LINE_OCTETS})",
                section=section,
            )
    yield from tally.findings()


def _base64_findings(body: tuple[Line, ...]) -> Iterator[Finding]:
    tally = Tally()
    symbols = 0
    padding = 0
    padding_line: int | None = None
    misplaced = False
    for line in body:
        if len(line.text) > MAX_ENCODED_LINE_CHARACTERS:
            tally.add(rules.BASE64_LINE_LENGTH, line.number, f"base64 line of {len(line.text)} characters")
        bad = next((octet for octet in line.text if octet not in _BASE64_ALPHABET and octet != ord("=")), None)
        if bad is not None:
            tally.add(rules.BASE64_ALPHABET, line.number, f"{_octet(bad)} is not in the base64 alphabet")
        for octet in line.text:
            if octet == ord("="):
                padding += 1
                padding_line = padding_line or line.number
            elif octet in _BASE64_ALPHABET:
                if padding and not misplaced:
                    tally.add(rules.BASE64_PADDING, line.number, "data after '=' padding")
                    misplaced = True
                symbols += 1
    yield from tally.findings()
    if not misplaced and ((symbols + padding) % 4 or padding > 2):
        last = padding_line or (body[-1].number if body else None)
        yield rules.BASE64_PADDING.finding(
            last, f"{symbols} base64 characters and {padding} '=': not whole 4-character groups"
        )


def _quoted_printable_findings(body: tuple[Line, ...]) -> Iterator[Finding]:
    tally = Tally()
    for line in body:
        text = line.text
        if len(text) > MAX_ENCODED_LINE_CHARACTERS:
            tally.add(rules.QP_LINE_LENGTH, line.number, f"quoted-printable line of {len(text)} characters")
        if text[-1:] in (b" ", b"\t"):
            tally.add(rules.QP_TRAILING_WHITESPACE, line.number, "white space at the end of an encoded line")
        text = text.rstrip(b" \t")
        index = 0
        while index < len(text):
            octet = text[index]
            if octet == ord("="):
                escape = text[index + 1 : index + 3]
                if index + 1 == len(text):  # soft line break
                    break
                if len(escape) == 2 and all(o in _HEX_UPPER for o in escape):
                    index += 3
                    continue
                if len(escape) == 2 and all(o in _HEX_ANY for o in escape):
                    problem = f"'={escape.decode()}' uses lowercase hex digits"
                else:
                    problem = f"'=' followed by {escape.decode('ascii', 'backslashreplace')!r}, not two hex digits"
                tally.add(rules.QP_BAD_ESCAPE, line.number, problem)
            elif octet not in _QP_LITERAL:
                tally.add(rules.QP_LITERAL_OCTET, line.number, f"{_octet(octet)} must be encoded as =XX")
            index += 1
    yield from tally.findings()


def check_charsets(parsed: ParsedMessage) -> Iterator[Finding]:
    for entity in parsed.root.walk():
        if not entity.is_leaf or entity.message.get_content_maintype() != "text":
            continue
        if entity.transfer_encoding not in KNOWN_ENCODINGS - {"binary"}:
            continue
        try:
            decoded = entity.message.get_payload(decode=True)
        except Exception:  # a decoder gave up on malformed data: the encoding checks report that
            continue
        if not isinstance(decoded, bytes) or decoded.isascii():
            continue
        field = entity.first_field("content-type")
        where = field.line if field is not None else parsed.line_number(entity.body_first)
        charset = entity.message.get_content_charset()
        codec = _codec(charset)
        if charset is None or codec == "ascii":
            declared = "no charset" if charset is None else f"charset={charset}"
            yield rules.CHARSET_MISSING.finding(where, f"8-bit text with {declared} (US-ASCII is assumed)")
        elif codec is not None:
            try:
                decoded.decode(codec)
            except UnicodeDecodeError as exc:
                yield rules.CHARSET_MISMATCH.finding(
                    where, f"text is not valid {charset}: {exc.reason} at octet {exc.start} of the decoded body"
                )


def _codec(charset: str | None) -> str | None:
    if charset is None:
        return None
    try:
        return codecs.lookup(charset).name
    except (LookupError, ValueError):
        return None


def _octet(octet: int) -> str:
    return repr(chr(octet)) if 32 < octet < 127 else f"octet 0x{octet:02X}"
