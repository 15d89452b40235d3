"""Header field syntax in every header section, the message's and each body part's (RFC 5322 §2.2).

The parser ends a header section at the first line that is not a field or a continuation; what
it then reads as body is what any receiver will. So a line without a colon, or with a name the
grammar does not allow, is reported where the parser stopped, with what that did to the message.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from harness.mime import rules
from harness.mime.findings import Finding, Tally
from harness.mime.structure import Entity, HeaderProblem, ParsedMessage, RawField

# RFC 5322 §2.2: a field body is printable US-ASCII plus SP and HTAB; octets above 127 are judged apart.
_FORBIDDEN_IN_BODY: Final = frozenset(range(0, 9)) | frozenset(range(10, 32)) | {127}
_NAME_OCTETS: Final = frozenset(range(33, 127)) - {ord(":")}


def check_header_syntax(parsed: ParsedMessage) -> Iterator[Finding]:
    utf8 = Tally(unit="fields")
    for entity in parsed.root.walk():
        for problem in entity.problems:
            yield _problem_finding(problem)
        stop = entity.stop_line
        if stop is not None and stop < len(parsed.lines):
            yield _stop_finding(entity, parsed.lines[stop].text, parsed.lines[stop].number)
        for field in entity.fields:
            yield from _field_findings(field, utf8)
    yield from utf8.findings()


def _problem_finding(problem: HeaderProblem) -> Finding:
    number = problem.line.number
    if problem.kind == "continuation-first":
        return rules.CONTINUATION_FIRST.finding(number, "header section starts with a folded (indented) line")
    if problem.kind == "envelope-from":
        return rules.NO_COLON.finding(number, "mbox 'From ' envelope line is not a header field")
    if problem.kind == "empty-name":
        return rules.NAME_INVALID.finding(number, "field has an empty name (line starts with ':')")
    return rules.NO_COLON.finding(number, "header line without a colon")


def _stop_finding(entity: Entity, text: bytes, number: int) -> Finding:
    where = "message" if entity.is_message else "body part"
    consequence = f"parsers end the {where}'s header section here and read the rest as body"
    colon = text.find(b":")
    if colon > 0:
        name = text[:colon]
        shown = name.decode("ascii", "backslashreplace")
        if name.rstrip(b" \t") and all(octet in _NAME_OCTETS for octet in name.rstrip(b" \t")):
            problem = "white space before the colon is obsolete syntax (§4.5), never to be generated"
        else:
            problem = "is not printable US-ASCII (33-126, no space)"
        return rules.NAME_INVALID.finding(number, f"field name {shown!r}: {problem}; {consequence}")
    return rules.NO_COLON.finding(number, f"line has no colon and no blank line precedes it; {consequence}")


def _field_findings(field: RawField, utf8: Tally) -> Iterator[Finding]:
    if not field.name or any(octet not in _NAME_OCTETS for octet in field.name):
        shown = field.name.decode("ascii", "backslashreplace")
        yield rules.NAME_INVALID.finding(field.line, f"field name {shown!r} is not printable US-ASCII without ':'")
    name = field.name.decode("ascii", "replace")
    for line in field.lines:
        body = line.text[len(field.name) + 1 :] if line is field.lines[0] else line.text
        bad = next((octet for octet in body if octet in _FORBIDDEN_IN_BODY), None)
        if bad is not None:
            yield rules.INVALID_OCTET.finding(line.number, f"{name}: control octet 0x{bad:02X} in the field body")
    if any(octet > 127 for octet in field.value):
        try:
            field.value.decode("utf-8")
        except UnicodeDecodeError:
            yield rules.HEADER_8BIT.finding(field.line, f"{name}: 8-bit octets that are not UTF-8")
        else:
            utf8.add(rules.HEADER_UTF8, field.line, f"{name}: UTF-8 in a header field (needs SMTPUTF8)")
