"""Meta-tests: every fault of the reference server is caught by the suites, and only there.

For each named fault the suites run against a reference server with that one defect
switched on. The fault must make at least one case citing its clause fail (else the
suites cannot see that defect), and must change no case that does not cite the clause
(else a check depends on behaviour it does not claim to test). Finally every MUST case
must be failed by some fault: a MUST check that no defect can break proves nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

import pytest

from reference_server.faults import REGISTRY, Fault

ROOT: Final = Path(__file__).resolve().parents[2]
SUITES: Final = ("smtp", "pop3", "mime")
PARALLEL_RUNS: Final = 12  # a run spends ~90% of its time in <SILENT> waits and timeouts, not on the 2 cores
STEP_TIMEOUT: Final = "4"  # seconds; a faulty server that hangs a step costs this, not the default 10
RUN_TIMEOUT: Final = 600
PRECONDITION: Final = "@precondition"  # outcome suffix: failed before the case's own steps
# The suite that sees a fault, by the fault's prefix: its protocol's ("smtp.rset-ignored"), and for the
# relay faults (the outgoing queue and its SMTP client) the SMTP suite, whose relay cases watch what the
# server sends to the harness's capture next hop; for the storage transparency faults (mime.*) the MIME
# suite, which reads each message back. Faults of a protocol whose suites are not in SUITES yet
# are not run here.
FAULT_SUITES: Final = {"smtp": "smtp", "pop3": "pop3", "relay": "smtp", "mime": "mime"}
FAULTS: Final = sorted(name for name in REGISTRY if FAULT_SUITES.get(name.partition(".")[0]) in SUITES)


def suites_seeing(fault: str) -> tuple[str, ...]:
    """The suites a fault's run covers: its own protocol's. A defect of protocol P reaches another
    protocol's cases only through their fixtures (a delivery by SMTP), and a fixture that fails is a
    precondition failure, which this test ignores anyway; running them too would only cost time."""
    return (FAULT_SUITES[fault.partition(".")[0]],)


def case_suite(case: str) -> str:
    """'pop3/rfc1939/5-dele::dele-marks' -> 'pop3'."""
    return case.partition("/")[0]


# MUST cases that no fault of the reference server breaks, each with the reason.
UNBREAKABLE_MUST_CASES: Final[dict[str, str]] = {
    "smtp/rfc5321/4.1.1.1-ehlo::ehlo-answered-250": (
        "every case in state greeted, tls or authenticated starts with EHLO: a fault refusing EHLO fails"
        " all of them before their own steps (precondition) and so cannot single out this case"
    ),
    "smtp/rfc5321/4.1.1.1-ehlo::helo-answered-250": (
        "HELO is the opening step of about sixty cases in state connected, across most sections of RFC 5321:"
        " a fault refusing HELO fails them all in steps that check other clauses"
    ),
    "smtp/rfc4954/4-auth-command::plain-with-initial-response-235": (
        "the harness reaches state authenticated with exactly this command (AUTH PLAIN with an initial"
        " response): a fault refusing it fails every authenticated case before its own steps"
    ),
    "pop3/rfc1939/5-stat::stat-drop-listing-format": (
        "STAT is how the cases of nearly every section find the message count and the maildrop size: a"
        " fault in the drop listing fails cases of RFC 1939 §3, §6, §7 and RFC 2449, RFC 5034 in steps"
        " checking other clauses"
    ),
    "pop3/rfc1939/5-list::list-scan-listing-format": (
        "the scan listing (LIST and LIST msg) is how cases of RFC 1939 §4, §6 and §10 find message numbers"
        " and sizes: a fault in its format fails those cases in steps checking other clauses"
    ),
    "pop3/rfc2595/4-stls::stls-refused-in-transaction": (
        "the reference server allows plaintext login only after STLS (RFC 5034 §4 default), so every"
        " TRANSACTION session already runs under TLS and STLS is refused as 'TLS already active' (RFC 2595"
        " §4) whatever the state check says; the wrong-state defect can show only on a server that allows"
        " plaintext login"
    ),
    "pop3/rfc1939/7-user-pass::pass-without-user-refused": (
        "the case runs in state greeted, without TLS, where the reference server refuses every plaintext"
        " PASS (RFC 5034 §4 default) whatever came before it; the PASS-before-USER defect"
        " (pop3.pass-before-user-accepted) shows in rfc2595/4-stls::stls-pipelined-command-discarded"
    ),
}

# Faults whose only effect is on the stored message and that no case reads back yet, each with the
# reason; listed in suites/smtp/COVERAGE.md, "Pending retrieval (POP3)". Empty since the retrieval
# cases (suites that deliver, then read the message back over POP3) detect all of them.
UNDETECTABLE_WITHOUT_RETRIEVAL: Final[dict[str, str]] = {}

pytestmark = pytest.mark.xdist_group("meta-faults")


def run_suites(report_dir: Path, fault: str | None) -> dict[str, str]:
    """Run the suites (all of them clean, a fault's own with it) against the reference server;
    return case id -> outcome."""
    command = [
        sys.executable,
        "-m",
        "harness",
        "check",
        "--suite",
        ",".join(suites_seeing(fault) if fault else SUITES),
        "-n",
        "0",
        "--step-timeout",
        STEP_TIMEOUT,
        "--report-dir",
        str(report_dir),
    ]
    if fault:
        command += ["--fault", fault]
    done = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    result = report_dir / "conformance.json"
    if not result.exists():
        raise AssertionError(f"run with fault {fault} wrote no report:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    data: dict[str, Any] = json.loads(result.read_text())
    return {case["id"]: case["outcome"] + (PRECONDITION if case.get("precondition") else "") for case in data["cases"]}


def case_citations(report_dir: Path) -> dict[str, list[tuple[int, str]]]:
    data = json.loads((report_dir / "conformance.json").read_text())
    cited: dict[str, list[tuple[int, str]]] = {}
    for case in data["cases"]:
        pairs = [(case["rfc"], case["section"])]
        for also in case["also"]:  # "RFC 5321 §4.1.4"
            number, _, section = also.removeprefix("RFC ").partition(" §")
            pairs.append((int(number), section))
        cited[case["id"]] = pairs
    return cited


def cites(pairs: list[tuple[int, str]], fault: Fault) -> bool:
    number = int(fault.rfc.removeprefix("RFC").strip())
    return any(
        rfc == number and (section == fault.section or section.startswith(fault.section + "."))
        for rfc, section in pairs
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str | None, dict[str, str]]:
    base = tmp_path_factory.mktemp("fault-runs")
    names: list[str | None] = [None, *FAULTS]

    def one(name: str | None) -> tuple[str | None, dict[str, str]]:
        return name, run_suites(base / (name or "clean"), name)

    with ThreadPoolExecutor(PARALLEL_RUNS) as pool:
        results = dict(pool.map(one, names))
    results_citations = case_citations(base / "clean")
    results["__citations__"] = {k: json.dumps(v) for k, v in results_citations.items()}
    return results


def test_clean_run_passes_every_must_case(runs: dict[str | None, dict[str, str]]) -> None:
    clean = runs[None]
    assert clean, "the suites produced no cases"
    failing = [case for case, outcome in clean.items() if outcome == "failed"]
    assert not failing, f"the fault-free reference server fails: {failing}"


@pytest.mark.parametrize("name", FAULTS)
def test_fault_is_detected_and_nothing_else_changes(
    name: str, runs: dict[str | None, dict[str, str]], record_property: Callable[[str, object], None]
) -> None:
    fault = REGISTRY[name]
    clean, faulty = runs[None], runs[name]
    citations = {k: json.loads(v) for k, v in runs["__citations__"].items()}
    ran = suites_seeing(name)
    changed = {case for case in clean if case_suite(case) in ran and faulty.get(case) != clean[case]}
    detected = [case for case in changed if faulty.get(case) == "failed" and cites(citations[case], fault)]
    # A defect in the greeting, EHLO, TLS or login breaks every case that starts from there: those
    # cases fail before their own steps and say so; they are not checks depending on the clause.
    collateral = sorted(
        case for case in changed if not cites(citations[case], fault) and not faulty[case].endswith(PRECONDITION)
    )
    assert not collateral, f"{name} also changed cases that do not cite {fault.citation}: {collateral}"
    if name in UNDETECTABLE_WITHOUT_RETRIEVAL:
        assert not detected, f"{name} is detected now ({detected}): remove it from UNDETECTABLE_WITHOUT_RETRIEVAL"
        pytest.skip(f"{name} needs message retrieval: {UNDETECTABLE_WITHOUT_RETRIEVAL[name]}")
    assert detected, f"no case citing {fault.citation} fails with {name} ({fault.description})"
    record_property("fault_detected", f"{name}: {len(detected)} case(s) citing {fault.citation} fail")


def test_every_must_case_is_failed_by_some_fault(
    runs: dict[str | None, dict[str, str]], record_property: Callable[[str, object], None]
) -> None:
    failed_somewhere: set[str] = set()
    for name in FAULTS:
        failed_somewhere |= {case for case, outcome in runs[name].items() if outcome == "failed"}  # own steps
    data_dir_case_levels = _levels()
    unproven = sorted(
        case
        for case, level in data_dir_case_levels.items()
        if level == "MUST" and case not in failed_somewhere and case not in UNBREAKABLE_MUST_CASES
    )
    must = [case for case, level in data_dir_case_levels.items() if level == "MUST"]
    proven = sum(1 for case in must if case in failed_somewhere)
    record_property(
        "fault_summary",
        f"{len(FAULTS)} faults run; {proven} of {len(must)} MUST cases failed by some fault, "
        f"{len(UNBREAKABLE_MUST_CASES)} listed as unbreakable",
    )
    assert not unproven, f"MUST cases no fault can make fail: {unproven}"
    stale = sorted(
        case for case in UNBREAKABLE_MUST_CASES if case in failed_somewhere or case not in data_dir_case_levels
    )
    assert not stale, f"UNBREAKABLE_MUST_CASES entries that some fault breaks, or that no longer exist: {stale}"


def _levels() -> dict[str, str]:
    from harness.transcript.parser import parse_transcript

    levels: dict[str, str] = {}
    for suite in SUITES:
        for path in sorted((ROOT / "suites" / suite).rglob("*.mt")):
            transcript = parse_transcript(path.read_text(), path, path.relative_to(ROOT / "suites"))
            levels.update({case.case_id: case.level.value for case in transcript.cases})
    return levels
