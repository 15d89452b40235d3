"""Encoded-words in header fields (RFC 2047 §2, §4, §5).

Anything shaped `=?x?y?z?=` is taken as an attempted encoded-word and held to the grammar (§2),
the encodings (§4) and the rules of §5: where an encoded-word may stand (unstructured text, a
comment, a phrase before an address; never in an addr-spec, a quoted-string or a parameter),
that it is set apart by white space, and that its encoded-text decodes to whole characters.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import enum
import re
from collections.abc import Iterator
from typing import Final

from harness.mime import rules
from harness.mime.findings import Finding
from harness.mime.lint_rfc5322 import ADDRESS_FIELDS
from harness.mime.structure import ParsedMessage, RawField

MAX_WORD_LENGTH: Final = 75  # §2: "may not be more than 75 characters long"
MAX_LINE_LENGTH: Final = 76  # §2: "each line of a header field that contains one or more 'encoded-word's"
_CANDIDATE: Final = re.compile(r"=\?([^?\s]*)\?([^?\s]*)\?([^?\s]*)\?=")
_TOKEN: Final = re.compile(r"[!#$%&'*+\-0-9A-Z^_`a-z{|}~]+")  # §2: CHAR except SPACE, CTLs, especials
_PHRASE_Q: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/=_")  # §5 (3)
_HEX: Final = frozenset("0123456789ABCDEFabcdef")
PHRASE_FIELDS: Final = ADDRESS_FIELDS | {"keywords"}
NO_WORD_FIELDS: Final = frozenset(
    {
        "date",
        "resent-date",
        "message-id",
        "resent-message-id",
        "in-reply-to",
        "references",
        "received",
        "return-path",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "content-disposition",
        "content-id",
    }
)  # structured fields with no phrase: an encoded-word may only sit in a comment (§5)


class Context(enum.Enum):
    TEXT = "text"
    QUOTED = "a quoted-string"
    COMMENT = "a comment"
    ANGLE = "an angle-addr"


def check_encoded_words(parsed: ParsedMessage) -> Iterator[Finding]:
    for entity in parsed.root.walk():
        for field in entity.fields:
            if b"=?" in field.value:
                yield from _field_findings(field)


def _field_findings(field: RawField) -> Iterator[Finding]:
    name = field.name.decode("ascii", "replace")
    text = field.value.decode("ascii", "surrogateescape")
    structured = field.key in PHRASE_FIELDS or field.key in NO_WORD_FIELDS
    contexts = _contexts(text) if structured else [Context.TEXT] * len(text)
    for match in _CANDIDATE.finditer(text):
        word = match.group()
        shown = word if len(word) <= 40 else word[:37] + "..."
        where = field.line_at(match.start())
        if len(word) > MAX_WORD_LENGTH:
            yield rules.EW_LENGTH.finding(where, f"{name}: encoded-word of {len(word)} characters: {shown}")
        context = contexts[match.start()]
        problem = _syntax_problem(match)
        if problem:
            yield rules.EW_SYNTAX.finding(where, f"{name}: {shown}: {problem}")
        else:
            problem = _text_problem(match, context, field.key in PHRASE_FIELDS)
            if problem:
                yield rules.EW_TEXT.finding(where, f"{name}: {shown}: {problem}")
        problem = _placement_problem(text, match, context, field.key)
        if problem:
            yield rules.EW_PLACEMENT.finding(where, f"{name}: {shown}: {problem}")
    for line in field.lines:
        if len(line.text) > MAX_LINE_LENGTH and _CANDIDATE.search(line.text.decode("ascii", "surrogateescape")):
            yield rules.EW_LENGTH.finding(
                line.number, f"{name}: a line with encoded-words has {len(line.text)} characters (limit 76)"
            )


def _syntax_problem(match: re.Match[str]) -> str | None:
    charset, encoding, encoded = match.groups()
    if not _TOKEN.fullmatch(charset):
        return f"charset {charset!r} is not a token"
    if encoding.upper() not in ("B", "Q"):
        return f"encoding {encoding!r} is neither B nor Q (§4)"
    if not encoded:
        return "empty encoded-text"
    bad = next((c for c in encoded if not 33 <= ord(c) <= 126), None)
    if bad is not None:
        return f"{bad!r} is not printable ASCII"
    return None


def _text_problem(match: re.Match[str], context: Context, phrase_field: bool) -> str | None:
    charset, encoding, encoded = match.groups()
    if encoding.upper() == "B":
        if len(encoded) % 4:
            return f"B encoded-text of {len(encoded)} characters is not whole 4-character groups"
        try:
            octets = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return "B encoded-text is not valid base64"
    else:
        decoded = _q_decode(encoded, context, phrase_field)
        if isinstance(decoded, str):
            return decoded
        octets = decoded
    try:
        codec = codecs.lookup(charset.split("*", 1)[0]).name
    except (LookupError, ValueError):
        return None  # an unknown charset is the reader's problem, not a syntax error
    try:
        octets.decode(codec)
    except UnicodeDecodeError:
        return f"does not encode whole {charset} characters"
    return None


def _q_decode(encoded: str, context: Context, phrase_field: bool) -> bytes | str:
    """The octets of Q encoded-text (§4.2), or a sentence saying why it is not well-formed."""
    out = bytearray()
    index = 0
    while index < len(encoded):
        char = encoded[index]
        if char == "=":
            digits = encoded[index + 1 : index + 3]
            if len(digits) != 2 or not set(digits) <= _HEX:
                return f"'=' followed by {digits!r}, not two hex digits"
            out.append(int(digits, 16))
            index += 3
            continue
        if phrase_field and context is Context.TEXT and char not in _PHRASE_Q:
            return f"{char!r} may not appear in a Q encoded-word in a phrase (§5 (3))"
        if context is Context.COMMENT and char in '()"':
            return f"{char!r} may not appear in a Q encoded-word in a comment (§5 (2))"
        out.append(0x20 if char == "_" else ord(char) & 0xFF)
        index += 1
    return bytes(out)


def _placement_problem(text: str, match: re.Match[str], context: Context, key: str) -> str | None:
    before = text[match.start() - 1] if match.start() > 0 else " "
    after = text[match.end()] if match.end() < len(text) else " "
    if context in (Context.QUOTED, Context.ANGLE):
        return f"inside {context.value}"
    if key in NO_WORD_FIELDS and context is not Context.COMMENT:
        return "not allowed in this field outside a comment"
    if key in PHRASE_FIELDS and context is Context.TEXT and "@" in (before, after):
        return "part of an addr-spec"
    open_ok = " \t(" if context is Context.COMMENT else " \t"
    close_ok = " \t)" if context is Context.COMMENT else " \t"
    if before not in open_ok:
        return f"not separated by white space from the preceding {before!r}"
    if after not in close_ok:
        return f"not separated by white space from the following {after!r}"
    return None


def _contexts(text: str) -> list[Context]:
    """The lexical context of every character of a structured field body (RFC 5322 §3.2)."""
    result: list[Context] = []
    depth = 0
    quoted = angle = escaped = False
    for char in text:
        if depth:
            result.append(Context.COMMENT)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
            continue
        if quoted:
            result.append(Context.QUOTED)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
            continue
        if char == "(":
            depth = 1
            result.append(Context.COMMENT)
        elif char == '"':
            quoted = True
            result.append(Context.QUOTED)
        elif char == "<":
            angle = True
            result.append(Context.ANGLE)
        elif char == ">" and angle:
            angle = False
            result.append(Context.ANGLE)
        else:
            result.append(Context.ANGLE if angle else Context.TEXT)
    return result
