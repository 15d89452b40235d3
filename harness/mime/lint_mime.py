"""MIME structure: MIME-Version, Content-Type, boundaries and delimiters (RFC 2045 §4, §5.1, §6.4; RFC 2046 §5.1.1).

Missing boundaries and delimiters are the parser's own defects. What it cannot report is a
line that only *starts* with a delimiter: the parser wants the whole line to match, while RFC
2046 §5.1.1 tells receivers to compare only the beginning of the line ("An exact match of the
entire candidate line is not required"). Such a line splits the part for some receivers and
not for others, which is why the boundary must not appear inside the parts at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import errors
from typing import Final

from harness.mime import rules
from harness.mime.fieldtext import HEADER_POLICY, field_text, strip_comments
from harness.mime.findings import Finding
from harness.mime.structure import Entity, ParsedMessage

MAX_BOUNDARY_LENGTH: Final = 70  # RFC 2046 §5.1.1: "1 to 70 characters"
_BCHARS: Final = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]*[0-9A-Za-z'()+_,\-./:=?]")  # §5.1.1 boundary grammar
_VERSION: Final = re.compile(r"\d+\.\d+")
COMPOSITE_ENCODINGS: Final = frozenset({"7bit", "8bit", "binary"})  # RFC 2045 §6.4


def check_mime_version(parsed: ParsedMessage) -> Iterator[Finding]:
    for entity in parsed.messages():
        version = entity.first_field("mime-version")
        if version is None:
            mime_field = next((f for f in entity.fields if f.key.startswith("content-")), None)
            if entity is parsed.root and mime_field is not None:
                yield rules.VERSION_MISSING.finding(
                    mime_field.line, f"{mime_field.name.decode('ascii', 'replace')} used without MIME-Version: 1.0"
                )
            continue
        value = "".join(strip_comments(field_text(version.value)).split())
        if value != "1.0":
            shape = "not 1*DIGIT.1*DIGIT" if _VERSION.fullmatch(value) is None else "not 1.0"
            yield rules.VERSION_SYNTAX.finding(version.line, f"MIME-Version {value!r} is {shape}")


def check_content_types(parsed: ParsedMessage) -> Iterator[Finding]:
    for entity in parsed.root.walk():
        for field in entity.field_values("content-type"):
            problem = _content_type_problem(field_text(field.value))
            if problem:
                yield rules.CONTENT_TYPE_SYNTAX.finding(field.line, f"Content-Type: {problem}")


def _content_type_problem(value: str) -> str | None:
    try:
        header = HEADER_POLICY.header_factory("content-type", value.strip())
        defects = list(header.defects)
    except Exception:  # the registry raises on some malformed input instead of recording a defect
        return "cannot be parsed"
    for defect in defects:
        text = str(defect)
        if "encoded" in text:
            continue  # an encoded-word in a parameter: lint_rfc2047 reports it
        if text.startswith("invalid parameter"):
            return "a parameter is not attribute=value"
        return text[0].lower() + text[1:] if text else type(defect).__name__
    return None


def check_multiparts(parsed: ParsedMessage) -> Iterator[Finding]:
    for entity in parsed.root.walk():
        if entity.message.get_content_maintype() == "multipart":
            yield from _multipart_findings(entity, parsed)


def _multipart_findings(entity: Entity, parsed: ParsedMessage) -> Iterator[Finding]:
    content_type = entity.first_field("content-type")
    where = content_type.line if content_type else parsed.line_number(entity.first)
    defects = entity.message.defects
    if any(isinstance(d, errors.NoBoundaryInMultipartDefect) for d in defects):
        yield rules.BOUNDARY_MISSING.finding(where, f"{entity.message.get_content_type()} without a boundary parameter")
        return
    boundary = entity.message.get_boundary()
    if boundary is None:
        return
    if len(boundary) > MAX_BOUNDARY_LENGTH or _BCHARS.fullmatch(boundary) is None:
        yield rules.BOUNDARY_SYNTAX.finding(where, f"boundary {boundary!r} is not 1-70 bchars ending in a non-space")
    if any(isinstance(d, errors.StartBoundaryNotFoundDefect) for d in defects):
        yield rules.FIRST_DELIMITER_MISSING.finding(where, f"no line '--{boundary}' in the body: it has no parts")
        return
    if any(isinstance(d, errors.CloseBoundaryNotFoundDefect) for d in defects):
        last = parsed.line_number(max(entity.end - 1, entity.body_first))
        yield rules.CLOSE_DELIMITER_MISSING.finding(last, f"body ends without the close-delimiter '--{boundary}--'")
    yield from _boundary_inside(entity, parsed, boundary)


def _boundary_inside(entity: Entity, parsed: ParsedMessage, boundary: str) -> Iterator[Finding]:
    try:
        delimiter = b"--" + boundary.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        delimiter = b"--" + boundary.encode("utf-8", "surrogateescape")
    for line in parsed.lines[entity.body_first : entity.end]:
        if not line.text.startswith(delimiter):
            continue
        rest = line.text[len(delimiter) :]
        if rest.startswith(b"--"):
            rest = rest[2:]
        if rest.strip(b" \t"):  # the parser's delimiter regex: only optional white space may follow
            shown = line.text[:60].decode("ascii", "backslashreplace")
            yield rules.BOUNDARY_IN_PART.finding(
                line.number, f"{shown!r} begins with the delimiter of boundary {boundary!r} but is not one"
            )


def check_composite_encodings(parsed: ParsedMessage) -> Iterator[Finding]:
    for entity in parsed.root.walk():
        maintype = entity.message.get_content_maintype()
        if maintype not in ("multipart", "message"):
            continue
        field = entity.first_field("content-transfer-encoding")
        if field is not None and entity.transfer_encoding not in COMPOSITE_ENCODINGS:
            yield rules.COMPOSITE_ENCODING.finding(
                field.line, f"{entity.message.get_content_type()} with {entity.transfer_encoding!r} encoding"
            )
