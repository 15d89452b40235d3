"""Date (RFC 5322 §3.3, obsolete forms §4.3) and message identifiers (§3.6.4).

A Date the `email.utils` parser cannot read is an error outright. One it can read is then held
to the grammar: the current syntax passes, the obsolete syntax (named zones, two-digit years,
comments inside) is a warning because §4 says it must not be generated, and anything else is an
error. A readable date must also be a real one (§3.3: the day of week matches, the day exists).
"""

from __future__ import annotations

import calendar
import email.utils
import re
from collections.abc import Iterator
from typing import Final

from harness.mime import rules
from harness.mime.fieldtext import field_text, strip_comments
from harness.mime.findings import Finding
from harness.mime.structure import ParsedMessage, RawField

_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAY_NAME: Final = "|".join(_DAYS)
_MONTH_NAME: Final = "|".join(_MONTHS)
_WSP: Final = r"[ \t]"

# RFC 5322 §3.3 date-time, unfolded, with [CFWS] allowed only where the current grammar has it (the end).
_DATE_TIME: Final = re.compile(
    rf"{_WSP}*(?:(?P<dow>{_DAY_NAME}),)?{_WSP}*(?P<day>\d{{1,2}}){_WSP}+(?P<month>{_MONTH_NAME}){_WSP}+"
    rf"(?P<year>\d{{4,}}){_WSP}+(?P<hour>\d\d):(?P<minute>\d\d)(?::(?P<second>\d\d))?{_WSP}+"
    rf"(?P<zone>[+-]\d{{4}})(?:{_WSP}*\([^()]*\))*{_WSP}*",
    re.IGNORECASE,
)
# RFC 5322 §4.3: two- and three-digit years, named zones, CFWS around every token (comments stripped first).
_OBSOLETE_DATE_TIME: Final = re.compile(
    rf"\s*(?:(?P<dow>{_DAY_NAME})\s*,)?\s*(?P<day>\d{{1,2}})\s+(?P<month>{_MONTH_NAME})\s+(?P<year>\d{{2,}})\s+"
    r"(?P<hour>\d\d)\s*:\s*(?P<minute>\d\d)(?:\s*:\s*(?P<second>\d\d))?\s+"
    r"(?P<zone>[+-]\d{4}|UT|GMT|[ECMP][SD]T|[A-IK-Z])\s*",
    re.IGNORECASE,
)

_ATEXT: Final = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010ffff]"
_DOT_ATOM_TEXT: Final = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_NO_FOLD_LITERAL: Final = r"\[[\x21-\x5a\x5e-\x7e\u0080-\U0010ffff]*\]"
_MSG_ID: Final = rf"<{_DOT_ATOM_TEXT}@(?:{_DOT_ATOM_TEXT}|{_NO_FOLD_LITERAL})>"
_ONE_MSG_ID: Final = re.compile(rf"\s*{_MSG_ID}\s*")
_MSG_IDS: Final = re.compile(rf"\s*(?:{_MSG_ID}\s*)+")
_ID_FIELDS: Final = {
    "message-id": _ONE_MSG_ID,
    "in-reply-to": _MSG_IDS,
    "references": _MSG_IDS,
    "resent-message-id": _ONE_MSG_ID,
}


def check_identifiers(parsed: ParsedMessage) -> Iterator[Finding]:
    for entity in parsed.messages():
        if entity is parsed.root and entity.first_field("message-id") is None:
            yield rules.MESSAGE_ID_MISSING.finding(None, "no Message-ID field")
        for field in entity.fields:
            pattern = _ID_FIELDS.get(field.key)
            if pattern is None:
                continue
            text = strip_comments(field_text(field.value))
            if pattern.fullmatch(text) is None:
                wanted = "one <id-left@id-right>" if pattern is _ONE_MSG_ID else "<id-left@id-right> identifiers"
                yield rules.MESSAGE_ID_SYNTAX.finding(
                    field.line, f"{_name(field)}: {_shown(text)} is not {wanted} (dot-atom-text on both sides)"
                )


def check_dates(parsed: ParsedMessage) -> Iterator[Finding]:
    for entity in parsed.messages():
        for field in entity.fields:
            if field.key in ("date", "resent-date"):
                yield from _date_findings(field)


def _date_findings(field: RawField) -> Iterator[Finding]:
    text = field_text(field.value)
    if _parsedate(text) is None:
        yield rules.DATE_SYNTAX.finding(field.line, f"{_name(field)}: {_shown(text)} is not a date-time")
        return
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        match = _OBSOLETE_DATE_TIME.fullmatch(strip_comments(text))
        if match is None:
            yield rules.DATE_SYNTAX.finding(
                field.line, f"{_name(field)}: {_shown(text)} does not follow the date-time grammar"
            )
            return
        yield rules.DATE_OBSOLETE.finding(field.line, f"{_name(field)}: {_shown(text)} uses obsolete date syntax")
    problem = _semantic_problem(match)
    if problem:
        yield rules.DATE_SYNTAX.finding(field.line, f"{_name(field)}: {problem}")


def _semantic_problem(match: re.Match[str]) -> str | None:
    """RFC 5322 §3.3: "A date-time specification MUST be semantically valid"."""
    if len(match["year"]) > 9:
        return f"year {match['year'][:12]}... is out of range"
    year = int(match["year"])
    if len(match["year"]) == 2:  # §4.3: 00-49 are 2000-2049, 50-99 are 1950-1999
        year += 2000 if year < 50 else 1900
    elif len(match["year"]) == 3:  # §4.3: add 1900
        year += 1900
    if year < 1900:
        return f"year {year} is before 1900"
    month = _MONTHS.index(match["month"].capitalize()) + 1
    day = int(match["day"])
    days_in_month = calendar.monthrange(year, month)[1] if year <= 9999 else 31
    if not 1 <= day <= days_in_month:
        return f"day {day} does not exist in {match['month']} {year}"
    if int(match["hour"]) > 23 or int(match["minute"]) > 59 or int(match["second"] or 0) > 60:
        return "time of day is out of range (00:00:00 through 23:59:60)"
    zone = match["zone"]
    if zone[0] in "+-" and int(zone[3:]) > 59:
        return f"zone {zone} has minutes above 59"
    if match["dow"] and year <= 9999:
        actual = _DAYS[calendar.weekday(year, month, day)]
        if match["dow"].capitalize() != actual:
            return f"{day} {match['month']} {year} is a {actual}, not a {match['dow']}"
    return None


def _parsedate(text: str) -> object:
    """`email.utils.parsedate_tz`, with any exception on odd input read as "not a date"."""
    try:
        return email.utils.parsedate_tz(text)
    except (ValueError, IndexError, TypeError, OverflowError):
        return None


def _name(field: RawField) -> str:
    return field.name.decode("ascii", "replace")


def _shown(text: str) -> str:
    text = text.strip()
    return repr(text if len(text) <= 60 else text[:57] + "...")
