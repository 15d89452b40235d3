"""The pytest plugin end to end, against a server this project did not write (aiosmtpd from PyPI).

Each test runs `python -m pytest -p harness.plugin` in a subprocess on transcripts written to a
temporary directory, as a user would run it against their own server, and judges the exit code,
the terminal output and the reports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import pytest

from tests.harness.support import free_port, smtp_child

pytest.importorskip("aiosmtpd")

ROOT: Final = Path(__file__).resolve().parents[2]
RUN_TIMEOUT: Final = 60.0  # one pytest run in a subprocess; a hang fails the test instead of the suite

GOOD = """\
spec: RFC5321 §4.1.4 Order of Commands
protocol: smtp

== ehlo-resets-the-transaction MUST
> If it is issued after the session begins and the EHLO command is
> acceptable to the SMTP server, the SMTP server MUST clear all buffers
> and reset the state exactly as if a RSET command had been issued.
C: MAIL FROM:<$alice>
S: 250
C: EHLO $client
S: 250 has=8BITMIME lacks=STARTTLS
C: MAIL FROM:<$alice>
S: 250

== noop-without-ehlo SHOULD state=connected
> SMTP servers SHOULD process these normally (that is, not return a 503
> code) even if no EHLO command has yet been received
S: 220
C: NOOP
S: 2xx
C: QUIT
S: 221
S: <EOF>

== noop-replies-250 SPEC cite="RFC5321 §4.1.1.9" title="NOOP (NOOP)"
> It specifies no action other than that the receiver send a "250 OK" reply.
C: NOOP
S: 250

== helo-still-answered SPEC cite="RFC821 §4.1.1"
~ a server still answers HELO
C: HELO $client
S: 250
"""

REQUIREMENT: Final = 'It specifies no action other than that the receiver send a "250 OK" reply.'
WRONG = f"""\
spec: RFC5321 §4.1.1.9 NOOP (NOOP)
protocol: smtp

== noop-answers-503 MUST
> {REQUIREMENT}
C: NOOP
S: 503
"""
WRONG_STEP_LINE: Final = 7

SHOULD_WRONG = """\
spec: RFC5321 §4.1.4 Order of Commands
protocol: smtp

== noop-without-ehlo-wrongly-503 SHOULD state=connected
> SMTP servers SHOULD process these normally (that is, not return a 503
> code) even if no EHLO command has yet been received
S: 220
C: NOOP
S: 503
"""

MALFORMED = """\
spec: RFC5321 §4.1.4 Order of Commands
protocol: smtp

== unknown-variable MUST
~ uses a variable nobody defines
C: RCPT TO:<$rcpt>
S: 250
"""


@pytest.fixture(scope="module")
def smtp_endpoint() -> Iterator[str]:
    """aiosmtpd on a free loopback port, up until the module's tests are done."""
    port = free_port()
    with smtp_child([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}"], port, "aiosmtpd"):
        yield f"127.0.0.1:{port}"


def write(directory: Path, **files: str) -> list[str]:
    """Write `name=text` transcripts as name.mt; return their paths."""
    paths = []
    for name, text in files.items():
        path = directory / f"{name}.mt"
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
    return paths


def run_pytest(cwd: Path, *args: str, everything: bool = False) -> tuple[int, str]:
    """Run pytest with the plugin as a user would; (exit code, stdout and stderr).

    Other installed plugins (allure, xdist, hypothesis) load only when `everything` is asked
    for: they cost most of a run's start-up and only some tests are about them.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if not everything:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "harness.plugin",
        f"--rootdir={ROOT}",
        "-c",
        str(ROOT / "pyproject.toml"),
        "-p",
        "no:cacheprovider",
        "--step-timeout=5",
        *args,
    ]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)
    return done.returncode, done.stdout + done.stderr


def conformance(directory: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / "conformance.json").read_text(encoding="utf-8"))
    return data


def outcomes(directory: Path) -> dict[str, str]:
    return {case["id"]: case["outcome"] for case in conformance(directory)["cases"]}


def by_slug(directory: Path) -> dict[str, dict[str, Any]]:
    return {case["id"].split("::")[-1]: case for case in conformance(directory)["cases"]}


def test_passing_transcript_writes_junit_and_conformance_json(tmp_path: Path, smtp_endpoint: str) -> None:
    files = write(tmp_path, good=GOOD)
    code, output = run_pytest(
        tmp_path,
        *files,
        f"--smtp={smtp_endpoint}",
        "--report-dir=reports",
        "--junitxml=reports/junit.xml",
        everything=True,
    )
    assert code == 0, output
    suite = ET.parse(tmp_path / "reports" / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "0", "0")
    data = conformance(tmp_path / "reports")
    assert data["target"]["name"] == "external"
    assert data["target"]["endpoints"] == {"smtp": f"{smtp_endpoint} (plain)"}
    assert datetime.fromisoformat(data["started"]).tzinfo is not None
    assert isinstance(data["duration"], float) and data["duration"] >= 0
    cases = by_slug(tmp_path / "reports")
    assert set(cases) == {"ehlo-resets-the-transaction", "noop-without-ehlo", "noop-replies-250", "helo-still-answered"}
    for case in cases.values():
        assert case["outcome"] == "passed"
        assert case["protocol"] == "smtp"
        assert case["reason"] == ""
        assert isinstance(case["duration"], float)
    cited = {slug: (case["rfc"], case["section"], case["level"]) for slug, case in cases.items()}
    assert cited == {
        "ehlo-resets-the-transaction": (5321, "4.1.4", "MUST"),
        "noop-without-ehlo": (5321, "4.1.4", "SHOULD"),
        "noop-replies-250": (5321, "4.1.1.9", "SPEC"),
        "helo-still-answered": (821, "4.1.1", "SPEC"),
    }
    assert (tmp_path / "reports" / "conformance.md").read_text(encoding="utf-8").startswith("# Conformance: external")


def test_wrong_expectation_fails_with_requirement_step_diff_and_log(tmp_path: Path, smtp_endpoint: str) -> None:
    files = write(tmp_path, wrong=WRONG)
    code, output = run_pytest(tmp_path, *files, f"--smtp={smtp_endpoint}", "--report-dir=reports")
    assert code == 1, output
    assert f"MUST RFC 5321 §4.1.1.9: {REQUIREMENT}" in output
    assert f"wrong.mt:{WRONG_STEP_LINE}: S: 503" in output
    assert "reply code 250, expected 503" in output
    lines = output.splitlines()
    assert "--- expected" in lines and "+++ received" in lines
    assert "-503" in lines
    assert any(line.startswith("+250") for line in lines)
    assert "session log:" in lines
    assert any(">> b'NOOP\\r\\n'" in line for line in lines)
    assert any("<< b'250" in line for line in lines)
    case = by_slug(tmp_path / "reports")["noop-answers-503"]
    assert (case["outcome"], case["blocking"], case["step_line"]) == ("failed", True, WRONG_STEP_LINE)
    assert case["reason"] == "reply code 250, expected 503"


def test_malformed_transcript_is_a_collection_error_without_traceback(tmp_path: Path) -> None:
    files = write(tmp_path, malformed=MALFORMED)
    code, output = run_pytest(tmp_path, *files)
    assert code == 2, output  # pytest: interrupted by a collection error
    path = tmp_path / "malformed.mt"
    assert f"{path}:6: variable $rcpt is neither a target variable nor captured by an earlier S: line" in output
    assert "Traceback" not in output
    assert "harness/" not in output  # no frame of the engine is shown
    assert "TranscriptError" not in output


def test_unreachable_endpoints_stop_the_run_early(tmp_path: Path) -> None:
    files = write(tmp_path, good=GOOD)
    smtp, pop3 = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    code, output = run_pytest(tmp_path, *files, f"--smtp={smtp}", f"--pop3={pop3}", "--report-dir=reports")
    assert time.monotonic() - started < 10
    assert code == 3, output
    assert "target unreachable" in output
    named = {line.split()[1] for line in output.splitlines() if line.startswith("  ") and "(plain): " in line}
    assert named == {smtp, pop3}
    assert "Connection refused" in output
    assert not (tmp_path / "reports" / "conformance.json").exists()


def test_should_failure_does_not_fail_the_run_unless_strict(tmp_path: Path, smtp_endpoint: str) -> None:
    files = write(tmp_path, should=SHOULD_WRONG)
    code, output = run_pytest(tmp_path, *files, f"--smtp={smtp_endpoint}", "--report-dir=lenient")
    assert code == 0, output
    case = by_slug(tmp_path / "lenient")["noop-without-ehlo-wrongly-503"]
    assert (case["outcome"], case["blocking"], case["level"]) == ("failed", False, "SHOULD")
    assert conformance(tmp_path / "lenient")["summary"]["blocking_failures"] == 0

    code, output = run_pytest(tmp_path, *files, f"--smtp={smtp_endpoint}", "--report-dir=strict", "--strict-levels")
    assert code == 1, output
    case = by_slug(tmp_path / "strict")["noop-without-ehlo-wrongly-503"]
    assert (case["outcome"], case["blocking"]) == ("failed", True)
    assert conformance(tmp_path / "strict")["strict"] is True


def test_baseline_turns_known_failures_into_xfailed_and_reports_fixed_ones(tmp_path: Path, smtp_endpoint: str) -> None:
    files = write(tmp_path, wrong=WRONG, good=GOOD)
    code, output = run_pytest(tmp_path, *files, f"--smtp={smtp_endpoint}", "--report-dir=before")
    assert code == 1, output
    before = outcomes(tmp_path / "before")
    failing = next(case_id for case_id, outcome in before.items() if outcome == "failed")
    passing = next(case_id for case_id in before if case_id.endswith("::noop-replies-250"))
    baseline = tmp_path / "baseline.json"
    deviations = [
        {"id": failing, "reason": "answers NOOP with 250, as the RFC asks: this case is wrong on purpose"},
        {"id": passing, "reason": "used to answer 500 to NOOP in an older release"},
    ]
    baseline.write_text(json.dumps({"target": "aiosmtpd", "deviations": deviations}), encoding="utf-8")

    code, output = run_pytest(
        tmp_path, *files, f"--smtp={smtp_endpoint}", "--report-dir=after", f"--baseline={baseline}"
    )
    assert code == 0, output
    after = outcomes(tmp_path / "after")
    assert after[failing] == "xfailed"
    assert after[passing] == "xpassed"
    assert {outcome for case_id, outcome in after.items() if case_id not in (failing, passing)} == {"passed"}
    assert conformance(tmp_path / "after")["baseline"] == str(baseline)


@pytest.mark.parametrize(
    ("selection", "selected"),
    [
        (["--spec", "smtp/rfc5321/4.1.1"], {"noop-replies-250"}),
        (["-m", "must"], {"ehlo-resets-the-transaction"}),
        (["-k", "rfc5321"], {"ehlo-resets-the-transaction", "noop-without-ehlo", "noop-replies-250"}),
    ],
)
def test_selection_by_spec_prefix_marker_and_keyword(
    tmp_path: Path, smtp_endpoint: str, selection: list[str], selected: set[str]
) -> None:
    files = write(tmp_path, good=GOOD)
    code, output = run_pytest(tmp_path, *files, f"--smtp={smtp_endpoint}", "--report-dir=reports", *selection)
    assert code == 0, output
    assert set(by_slug(tmp_path / "reports")) == selected


def test_parallel_run_gives_the_same_outcomes_as_a_serial_one(tmp_path: Path, smtp_endpoint: str) -> None:
    files = write(tmp_path, good=GOOD, wrong=WRONG, should=SHOULD_WRONG)
    serial_code, serial_output = run_pytest(tmp_path, *files, f"--smtp={smtp_endpoint}", "--report-dir=serial")
    parallel_code, parallel_output = run_pytest(
        tmp_path, *files, f"--smtp={smtp_endpoint}", "--report-dir=parallel", "-n", "2", everything=True
    )
    assert serial_code == parallel_code == 1, serial_output + parallel_output
    serial = outcomes(tmp_path / "serial")
    assert len(serial) == 6
    assert sorted(serial.values()) == ["failed", "failed", "passed", "passed", "passed", "passed"]
    assert outcomes(tmp_path / "parallel") == serial
    assert "2 workers" in parallel_output
