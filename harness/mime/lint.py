"""Lint one message: bytes in, a report of findings out (RFC 5322, RFC 2045-2047, RFC 6531).

Pure: no files, no network. The `email` package parses (structure.py); each lint_* module judges
one family of rules. Whatever the input, the result is a report: a check that raises on some
input it did not foresee yields a `lint.internal` finding naming it, and the other checks still
run, so one blind spot never hides the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Final

from harness.mime import rules
from harness.mime.findings import Finding, LintReport
from harness.mime.lint_cte import check_charsets, check_transfer_encodings
from harness.mime.lint_fields import check_header_syntax
from harness.mime.lint_ids_dates import check_dates, check_identifiers
from harness.mime.lint_lines import check_line_ends, check_line_lengths
from harness.mime.lint_mime import check_composite_encodings, check_content_types, check_mime_version, check_multiparts
from harness.mime.lint_rfc2047 import check_encoded_words
from harness.mime.lint_rfc5322 import check_addresses, check_required_fields
from harness.mime.structure import ParsedMessage, parse

Check = Callable[[ParsedMessage], Iterator[Finding]]

CHECKS: Final[tuple[Check, ...]] = (
    check_line_ends,
    check_line_lengths,
    check_header_syntax,
    check_required_fields,
    check_addresses,
    check_identifiers,
    check_dates,
    check_mime_version,
    check_content_types,
    check_multiparts,
    check_composite_encodings,
    check_transfer_encodings,
    check_charsets,
    check_encoded_words,
)


def lint_message(data: bytes) -> LintReport:
    try:
        parsed = parse(data)
    except Exception as exc:  # any input must give a report (e.g. nesting too deep to parse)
        return LintReport.of([rules.INTERNAL.finding(None, f"the message could not be parsed: {_describe(exc)}")])
    findings = run_checks(parsed, CHECKS)
    if parsed.policy_fallback:
        findings.append(rules.INTERNAL.finding(None, "the header model failed on this message; parsed as plain text"))
    return LintReport.of(findings)


def run_checks(parsed: ParsedMessage, checks: Sequence[Check]) -> list[Finding]:
    findings: list[Finding] = []
    for check in checks:
        try:
            findings.extend(check(parsed))
        except Exception as exc:  # keep the findings of every other check
            findings.append(rules.INTERNAL.finding(None, f"{check.__name__} stopped: {_describe(exc)}"))
    return findings


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 120 else text[:117] + "..."
