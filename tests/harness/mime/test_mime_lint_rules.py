"""Every lint rule fires on its seeded defect, at the right line, citing the right clause (issue 7).

The seeds (bad_messages.py) each change one thing in a message that lints clean; the test
requires the named finding and that no other error appears except those the seed declares.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.mime import ALL_RULES, RULES, Severity, build_corpus, lint_message
from harness.mime.findings import Finding, LintReport
from harness.mime.lint import run_checks
from harness.mime.structure import ParsedMessage, parse
from tests.harness.mime.bad_messages import CLEAN_BASES, CRLF, SEEDS, Seed


@pytest.mark.parametrize("name", sorted(CLEAN_BASES))
def test_the_bases_the_seeds_start_from_are_clean(name: str) -> None:
    assert lint_message(CLEAN_BASES[name]).findings == ()


@pytest.mark.parametrize("seed", SEEDS, ids=[s.id for s in SEEDS])
def test_seeded_defect_is_reported_with_its_clause(seed: Seed) -> None:
    report = lint_message(seed.data)
    matching = report.by_rule(seed.rule)
    assert matching, f"{seed.rule} did not fire; found: {[f.rule for f in report.findings]}"
    assert any(f.line == seed.line for f in matching), [f.line for f in matching]
    for finding in matching:
        assert finding.citation == seed.citation
        assert finding.severity == RULES[seed.rule].severity
    assert report.rules(Severity.ERROR) - {seed.rule} == seed.also


def test_every_rule_has_a_seed() -> None:
    seeded = {seed.rule for seed in SEEDS}
    assert {rule.id for rule in ALL_RULES} - seeded == {"lint.internal"}  # it fires only when a check breaks


def test_rule_ids_are_unique_and_cite_a_clause() -> None:
    assert len(RULES) == len(ALL_RULES)
    for rule in ALL_RULES:
        if rule.id != "lint.internal":
            assert rule.rfc.startswith("RFC ") and rule.section, rule


def test_clean_corpus_raises_no_error() -> None:
    for message in build_corpus("example.test", "alice@example.test", "bob@example.test"):
        report = lint_message(message.data)
        assert report.ok, (message.name, [f.render(message.name) for f in report.errors])


def test_severity_follows_the_rfc_keyword() -> None:
    # MUST-level requirements are errors, SHOULD-level ones warnings (RFC 5322 §2.1.1, §3.6.4).
    assert RULES["line.too-long"].severity is Severity.ERROR  # "MUST be no more than 998"
    assert RULES["line.over-78"].severity is Severity.WARNING  # "SHOULD be no more than 78"
    assert RULES["header.message-id-missing"].severity is Severity.WARNING  # "SHOULD have"


def test_a_defect_on_every_line_is_one_finding_with_a_count() -> None:
    data = b"From: a@example.test\nDate: Tue, 05 Mar 2024 14:30:00 +0000\n\none\ntwo\nthree\n"
    report = lint_message(data)
    body = [f for f in report.by_rule("line.bare-lf") if f.section == "2.3"]
    header = [f for f in report.by_rule("line.bare-lf") if f.section == "2.2"]
    assert [f.line for f in body] == [4] and body[0].message.endswith("(first of 3 lines)")
    assert [f.line for f in header] == [1] and header[0].message.endswith("(first of 3 lines)")  # blank line too


def test_messages_say_what_is_wrong_in_one_line() -> None:
    by_id = {seed.id: lint_message(seed.data) for seed in SEEDS}
    (obsolete,) = by_id["space-before-colon"].by_rule("header.name-invalid")
    assert "obsolete syntax (§4.5)" in obsolete.message
    (weekday,) = by_id["date-with-wrong-weekday"].by_rule("header.date-syntax")
    assert weekday.message == "Date: 5 Mar 2024 is a Tue, not a Mon"
    (control,) = by_id["control-octet-in-field"].by_rule("header.invalid-octet")
    assert control.message == "Subject: control octet 0x01 in the field body"
    assert all("\n" not in f.message and f.message.isprintable() for r in by_id.values() for f in r.findings)


def test_findings_come_in_line_order() -> None:
    data = b"Subject: caf\xe9\r\nFrom: a@example.test\r\n\r\n" + b"x" * 1000 + CRLF
    lines = [f.line for f in lint_message(data).findings]
    assert lines == sorted(lines, key=lambda n: n or 0)
    assert lines[0] is None  # the missing Date comes first: it has no line


def _breaks(parsed: ParsedMessage) -> Iterator[Finding]:
    yield RULES["line.over-78"].finding(1, "found before the failure")
    raise ValueError("a check that cannot cope")


def _works(parsed: ParsedMessage) -> Iterator[Finding]:
    yield RULES["header.date-missing"].finding(None, "a later check still runs")


def test_a_check_that_raises_becomes_one_internal_finding_and_the_rest_still_run() -> None:
    report = LintReport.of(run_checks(parse(CLEAN_BASES["clean"]), (_breaks, _works)))
    assert report.rules() == {"line.over-78", "lint.internal", "header.date-missing"}
    (internal,) = report.by_rule("lint.internal")
    assert "_breaks" in internal.message and "ValueError" in internal.message
    assert internal.citation == "no clause"
