"""conformance.json (the record of a run) and what is rendered from it alone: markdown and the summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.report.conformance import (
    SCHEMA,
    CaseRecord,
    Run,
    load_run,
    record_from_properties,
    summarise,
    write_run,
)
from harness.report.markdown import render_markdown, summary_lines


def record(case_id: str, outcome: str, *, level: str = "MUST", section: str = "4.1.4", **more: Any) -> CaseRecord:
    protocol = more.pop("protocol", "smtp")
    rfc = more.pop("rfc", 5321)
    return CaseRecord(case_id, protocol, rfc, section, level, "Order of Commands", outcome, **more)


RECORDS = [
    record("smtp/b::passes", "passed", blocking=True),
    record("smtp/a::must-fails", "failed", reason="reply code 250, expected 503\nmore", blocking=True),
    record("smtp/c::should-fails", "failed", level="SHOULD", reason="reply code 250, expected 503", blocking=False),
    record("smtp/d::known", "xfailed", reason="known deviation: x", blocking=True),
    record("pop3/e::fixed", "xpassed", protocol="pop3", rfc=1939, section="5", reason="fixed: y", blocking=True),
    record("pop3/f::skipped", "skipped", protocol="pop3", rfc=1939, section="5", level="MAY", reason="no STLS"),
]


def test_summary_counts_by_outcome_protocol_and_level() -> None:
    summary = summarise(RECORDS)
    assert summary["total"] == {"passed": 1, "failed": 2, "xfailed": 1, "xpassed": 1, "skipped": 1}
    assert summary["by_protocol"] == {
        "pop3": {"xpassed": 1, "skipped": 1},
        "smtp": {"passed": 1, "failed": 2, "xfailed": 1},
    }
    assert summary["by_level"]["SHOULD"] == {"failed": 1}
    assert summary["by_level"]["MUST"] == {"passed": 1, "failed": 1, "xfailed": 1, "xpassed": 1}
    assert summary["blocking_failures"] == 1  # the SHOULD failure and the known deviation do not block


def test_run_record_has_the_documented_fields() -> None:
    run = Run(
        {"name": "external", "endpoints": {"smtp": "127.0.0.1:2525 (plain)"}},
        "2026-01-02T03:04:05+00:00",
        1.23456,
        False,
        None,
        list(RECORDS),
    )
    data = run.to_json()
    assert data["schema"] == SCHEMA
    assert data["target"]["name"] == "external"
    assert data["started"] == "2026-01-02T03:04:05+00:00"
    assert data["duration"] == 1.235
    assert data["strict"] is False and data["baseline"] is None
    assert [c["id"] for c in data["cases"]] == sorted(c.id for c in RECORDS)
    for case in data["cases"]:
        assert {"id", "protocol", "rfc", "section", "level", "outcome", "reason", "duration", "blocking"} <= set(case)


def test_write_and_load_round_trip(tmp_path: Path) -> None:
    run = Run({"name": "t"}, "2026-01-02T03:04:05+00:00", 0.5, True, "baseline.json", RECORDS[:2])
    path = tmp_path / "deep" / "conformance.json"
    write_run(run, path)
    assert load_run(path) == json.loads(json.dumps(run.to_json()))
    assert not list(path.parent.glob("*.tmp"))


def test_load_run_rejects_other_files(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"schema": "something/else"}', encoding="utf-8")
    with pytest.raises(ValueError, match=f"not a {SCHEMA} file"):
        load_run(path)


def test_record_from_plugin_properties() -> None:
    props = {
        "id": "smtp/x::y",
        "protocol": "smtp",
        "rfc": "5321",
        "section": "4.1.4",
        "level": "SHOULD",
        "title": "Order",
        "blocking": False,
        "also": ["RFC 2920 §3.1"],
        "requirement": "SMTP servers SHOULD process these normally",
        "file": "suites/smtp/x.mt",
        "line": 7,
        "step_line": 12,
    }
    made = record_from_properties(props, "failed", "reply code 503, expected 250", 0.123456)
    assert made == CaseRecord(
        "smtp/x::y",
        "smtp",
        5321,
        "4.1.4",
        "SHOULD",
        "Order",
        "failed",
        "reply code 503, expected 250",
        0.1235,
        False,
        ["RFC 2920 §3.1"],
        "SMTP servers SHOULD process these normally",
        "suites/smtp/x.mt",
        7,
        12,
    )


# -- rendering from a hand-written run --------------------------------------------------------------


def case(case_id: str, section: str, level: str, outcome: str, reason: str = "") -> dict[str, Any]:
    protocol, rfc = ("imap", 3501) if case_id.startswith("imap") else ("smtp", 5321)
    return {
        "id": case_id,
        "protocol": protocol,
        "rfc": rfc,
        "section": section,
        "level": level,
        "outcome": outcome,
        "reason": reason,
        "blocking": level == "MUST",
    }


RUN: dict[str, Any] = {
    "schema": SCHEMA,
    "target": {
        "name": "mx.example.test",
        "endpoints": {"smtp": "192.0.2.1:25 (starttls)", "imap": "192.0.2.1:993 (implicit)"},
    },
    "started": "2026-01-02T03:04:05+00:00",
    "duration": 12.34,
    "strict": False,
    "baseline": "reports/baselines/mx.json",
    "summary": {
        "total": {"passed": 3, "failed": 2, "xfailed": 1},
        "by_protocol": {"imap": {"passed": 1}, "smtp": {"passed": 2, "failed": 2, "xfailed": 1}},
        "by_level": {"MUST": {"passed": 3, "failed": 1, "xfailed": 1}, "SHOULD": {"failed": 1}},
        "blocking_failures": 1,
    },
    "cases": [
        case("imap/rfc3501/6.1.1::caps", "6.1.1", "MUST", "passed"),
        case("smtp/rfc5321/4.1.10::a", "4.1.10", "MUST", "passed"),
        case("smtp/rfc5321/4.1.4::b", "4.1.4", "MUST", "failed", "reply code 250, expected 503\nsecond line"),
        case("smtp/rfc5321/4.1.4::c", "4.1.4", "SHOULD", "failed", "reply code 503, expected 250"),
        case("smtp/rfc5321/4.1.4::d", "4.1.4", "MUST", "xfailed", "known deviation: accepts it"),
        case("smtp/rfc5321/4.1.4::e", "4.1.4", "MUST", "passed"),
    ],
}


def test_summary_lines() -> None:
    lines = summary_lines(RUN)
    assert lines[0] == "mailconform: target mx.example.test: 3 passed, 2 failed, 1 xfailed"
    assert "  imap        1 passed" in lines
    assert "  smtp        2 passed, 2 failed, 1 xfailed" in lines
    assert "  MUST        3 passed, 1 failed, 1 xfailed" in lines
    assert "  FAILED MUST RFC 5321 §4.1.4 smtp/rfc5321/4.1.4::b: reply code 250, expected 503" in lines
    assert "  FAILED SHOULD RFC 5321 §4.1.4 smtp/rfc5321/4.1.4::c (not blocking): reply code 503, expected 250" in lines
    assert lines[-1] == "  blocking failures: 1"


def test_markdown_matrix_and_failures() -> None:
    text = render_markdown(RUN)
    lines = text.splitlines()
    assert lines[0] == "# Conformance: mx.example.test"
    assert "Started 2026-01-02T03:04:05+00:00, 12.3 s, strict=False, baseline reports/baselines/mx.json" in lines
    assert "| smtp | 192.0.2.1:25 (starttls) |" in lines
    assert "| imap | 192.0.2.1:993 (implicit) |" in lines
    rows = [line for line in lines if line.startswith(("| imap | 3501", "| smtp | 5321"))]
    assert rows == [
        "| imap | 3501 §6.1.1 | 1 pass | — | 1 |",
        "| smtp | 5321 §4.1.4 | 1 FAIL 1 known 1 pass | 1 FAIL | 4 |",  # sections sort by number: 4 < 10
        "| smtp | 5321 §4.1.10 | 1 pass | — | 1 |",
    ]
    assert "- **FAIL** `smtp/rfc5321/4.1.4::b` (MUST, RFC 5321 §4.1.4): reply code 250, expected 503" in lines
    assert "- **known** `smtp/rfc5321/4.1.4::d` (MUST, RFC 5321 §4.1.4): known deviation: accepts it" in lines
    assert "second line" not in text
    assert text.endswith("\n")


def test_markdown_of_a_clean_run_has_no_failure_section() -> None:
    run = {**RUN, "baseline": None, "target": {"name": "t"}, "cases": RUN["cases"][:2]}
    text = render_markdown(run)
    assert "## Failures and known deviations" not in text
    assert "baseline" not in text.splitlines()[2]
    assert "| endpoint | address |" not in text
