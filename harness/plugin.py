"""The pytest plugin: suite files become items, a target is bound, verdicts become reports.

pytest brings selection (-k, -m), parallelism (xdist), JUnit and Allure; this module
adds what conformance needs on top: RFC citations as markers and node ids, a target
started once per worker, requirement levels that decide what fails a run, baselines
of known deviations, and conformance.json as the record of the run.
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pytest

from harness import allure_support
from harness.capabilities import CapabilityError, discover_all
from harness.nexthop import CaptureHop, HopError
from harness.nexthop.record import HopRecorder
from harness.report.baseline import Baseline, BaselineError, load_baseline
from harness.report.conformance import CaseRecord, Run, record_from_properties, write_run
from harness.report.markdown import render_markdown, section_lines, summary_lines
from harness.runner import CaseResult, CaseRunner, StepFailure, missing_endpoints, missing_requirements, needs_relay
from harness.session import ConnectFailed
from harness.targets import (
    REFERENCE_LEGACY_DOMAIN,
    REFERENCE_RELAY_DOMAIN,
    ReferenceServer,
    RelaySetup,
    Target,
    TargetError,
    external_target,
)
from harness.transcript.model import PROTOCOLS, Case, Level
from harness.transcript.parser import TranscriptError, parse_transcript
from harness.transcript.quotes import quote_problem

SUITE_SUFFIX: Final = ".mt"
SUITES_ROOT: Final = Path(__file__).resolve().parent.parent / "suites"
PROPERTY: Final = "mailconform"
LEVEL_MARKERS: Final = {level: level.value.lower() for level in Level}

target_key = pytest.StashKey["TargetHolder"]()
records_key = pytest.StashKey[dict[str, CaseRecord]]()
started_key = pytest.StashKey[tuple[float, str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mailconform", "mail conformance (mailconform)")
    for protocol in PROTOCOLS:
        group.addoption(
            f"--{protocol}",
            metavar="HOST:PORT",
            default=None,
            help=f"test an external {protocol} server at HOST:PORT instead of the reference server",
        )
    group.addoption(
        "--tls",
        choices=("plain", "starttls", "implicit"),
        default=None,
        help="how to reach external endpoints: plain, STARTTLS before authenticating, or implicit TLS",
    )
    group.addoption(
        "--target-file",
        metavar="TOML",
        default=None,
        help="target description: endpoints, accounts, domain, CA file, capability overrides",
    )
    group.addoption(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="start the reference server with this deliberate defect (repeatable)",
    )
    group.addoption(
        "--strict-levels",
        dest="mc_strict",
        action="store_true",
        default=False,
        help="SHOULD/MAY/SPEC failures fail the run too",
    )
    group.addoption(
        "--baseline",
        metavar="JSON",
        default=None,
        help="known deviations of this target: reported as xfailed, and as fixed when they pass",
    )
    group.addoption(
        "--spec",
        action="append",
        default=[],
        metavar="PREFIX",
        help="run only cases whose protocol/rfcN/section or suite path starts with PREFIX",
    )
    group.addoption(
        "--report-dir",
        metavar="DIR",
        default=None,
        help="write conformance.json and conformance.md here at the end of the run",
    )
    group.addoption(
        "--step-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long a step waits for a reply (default 10, or the target file's step_timeout)",
    )


def pytest_configure(config: pytest.Config) -> None:
    for marker in (*LEVEL_MARKERS.values(), *PROTOCOLS):
        config.addinivalue_line("markers", f"{marker}: mailconform cases of this level or protocol")
    config.addinivalue_line("markers", "xdist_group(name): run in one pytest-xdist worker under --dist loadgroup")
    config.stash[records_key] = {}
    config.pluginmanager.register(Recorder(config), "mailconform-recorder")
    config.stash[started_key] = (time.monotonic(), datetime.now(UTC).isoformat(timespec="seconds"))
    try:
        config.stash[target_key] = TargetHolder(config)
    except (TargetError, BaselineError) as exc:
        raise pytest.UsageError(str(exc)) from None


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Fail fast on unreachable external endpoints: one line each, before anything is collected."""
    holder = session.config.stash[target_key]
    if _is_worker(session.config) or holder.external is None:
        return
    problems = holder.unreachable()
    if problems:
        pytest.exit("target unreachable:\n" + "\n".join(problems), returncode=3)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == SUITE_SUFFIX:
        return TranscriptFile.from_parent(parent, path=file_path)
    return None


class TranscriptFile(pytest.File):
    def collect(self) -> Iterator[TranscriptItem]:
        try:
            relpath = self.path.resolve().relative_to(SUITES_ROOT)
        except ValueError:
            relpath = Path(self.path.name)
        try:
            transcript = parse_transcript(self.path.read_text(encoding="utf-8"), self.path, relpath)
        except TranscriptError as exc:
            raise pytest.Collector.CollectError(str(exc)) from None
        except UnicodeDecodeError as exc:
            raise pytest.Collector.CollectError(f"{self.path}:1: not UTF-8 text ({exc.reason})") from None
        for case in transcript.cases:
            rfcs = [case.citation.rfc, *(c.rfc for c in case.also)]
            problem = quote_problem(case.quote, rfcs)
            if problem:
                raise pytest.Collector.CollectError(f"{self.path}:{case.line}: case '{case.slug}': {problem}")
            yield TranscriptItem.from_parent(self, name=case.slug, case=case)


class CaseFailed(Exception):
    def __init__(self, result: CaseResult) -> None:
        super().__init__(result.reason)
        self.result = result


class TranscriptItem(pytest.Item):
    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.add_marker(LEVEL_MARKERS[case.level])
        self.add_marker(case.protocol)
        for citation in (case.citation, *case.also):
            self.extra_keyword_matches.add(f"rfc{citation.rfc}")
        self.result: CaseResult | None = None

    def runtest(self) -> None:
        holder = self.config.stash[target_key]
        target, capabilities = holder.get()
        case = self.case
        allure_support.label_case(case)
        absent = missing_endpoints(case, target)
        if absent:
            raise pytest.skip.Exception(
                f"the target has no {', '.join(absent)} endpoint, which this case also uses", _use_item_location=True
            )
        try:
            hop = holder.relay_hop() if needs_relay(case) else None
        except HopError as exc:  # the case cannot start: a precondition, reported like a failed state
            failure = StepFailure(case.line, "capture next hop", "a capture next hop", str(exc), str(exc), True)
            self.result = CaseResult("failed", str(exc), failure)
            raise CaseFailed(self.result) from None
        if needs_relay(case) and hop is None:
            raise pytest.skip.Exception(
                "the target file has no [relay] section: relay cases need the target to route a test domain"
                " to the harness's capture next hop",
                _use_item_location=True,
            )
        missing = missing_requirements(case, capabilities)
        if missing:
            raise pytest.skip.Exception(
                f"the {case.protocol} server does not advertise {', '.join(missing)}", _use_item_location=True
            )
        result = CaseRunner(case, target, holder.step_timeout, hop=hop).run()
        self.result = result
        allure_support.attach_log(result.log)
        if result.outcome != "passed":
            raise CaseFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            return format_failure(self.case, excinfo.value.result, _shown_path(self.path))
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return (
            self.path,
            self.case.line - 1,
            f"{self.case.case_id} [{self.case.level.value} {self.case.citation}]",
        )


def _shown_path(path: Path) -> str:
    """The suite file as the user can open it: relative to the working directory when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def format_failure(case: Case, result: CaseResult, shown_path: str | None = None) -> str:
    """Requirement, then where and how the transcript diverged, then the session log."""
    lines = [f"{case.level.value} {case.citation}: {case.requirement}", ""]
    failure = result.failure
    if failure is not None:
        lines.append(f"{shown_path or case.path}:{failure.line}: {failure.step}")
        lines.append(f"  {failure.message}")
        lines.append("")
        diff = difflib.unified_diff(
            failure.expected.splitlines(), failure.received.splitlines(), "expected", "received", lineterm=""
        )
        lines += list(diff) or [f"expected: {failure.expected}", f"received: {failure.received}"]
    lines += ["", "session log:", result.log or "(empty)"]
    return "\n".join(lines)


class TargetHolder:
    """The target of this process: built lazily, once (per xdist worker), stopped at exit."""

    def __init__(self, config: pytest.Config) -> None:
        opt = config.option
        self.strict: bool = opt.mc_strict
        self.step_timeout: float | None = opt.step_timeout
        self.baseline: Baseline | None = load_baseline(Path(opt.baseline)) if opt.baseline else None
        self.faults: list[str] = list(opt.fault)
        endpoints = {p: getattr(opt, p) for p in PROTOCOLS if getattr(opt, p)}
        self.external: Target | None = None
        if endpoints or opt.target_file:
            if self.faults:
                raise TargetError("--fault applies to the reference server only, not to an external target")
            self.external = external_target(endpoints, opt.tls, Path(opt.target_file) if opt.target_file else None)
        self._server: ReferenceServer | None = None
        self._hop: CaptureHop | None = None
        self._hop_error: str | None = None
        self._target: Target | None = None
        self._capabilities: dict[str, frozenset[str]] | None = None
        self._error: str | None = None

    def describe(self) -> dict[str, Any]:
        if self._target is not None:
            return self._target.describe()
        if self.external is not None:
            return self.external.describe()
        return {
            "name": "reference" + (f" (faults: {', '.join(self.faults)})" if self.faults else ""),
            "endpoints": {},
        }

    def unreachable(self) -> list[str]:
        assert self.external is not None
        problems: list[str] = []
        for endpoint in self.external.endpoints.values():
            import socket

            try:
                socket.create_connection((endpoint.host, endpoint.port), timeout=5).close()
            except OSError as exc:
                problems.append(f"  {endpoint}: {exc.strerror or exc}")
        return problems

    def relay_hop(self) -> HopRecorder | None:
        """What the capture next hop received; None when the target has no relay set up.

        The reference server's hop starts with it, on free ports, one per worker. An external
        target's hop listens where its target file says, which one process only can do: it
        starts with the first relay case of this process (relay cases of an external target
        are grouped onto one xdist worker), and a failure to listen fails every relay case.
        """
        if self._hop is None and self._hop_error is None and self._target is not None:
            relay = self._target.relay
            if self.external is not None and relay is not None:
                try:
                    self._hop = CaptureHop({"relay": relay.capture, "legacy": relay.legacy_capture}).start()
                except HopError as exc:
                    self._hop_error = (
                        f"{exc} (another process holds the capture address? relay cases of an"
                        " external target need one xdist worker: --dist loadgroup, or -n 0)"
                    )
        if self._hop_error is not None:
            raise HopError(self._hop_error)
        return self._hop.recorder if self._hop is not None else None

    def get(self) -> tuple[Target, dict[str, frozenset[str]]]:
        if self._error is not None:
            pytest.fail(self._error, pytrace=False)
        if self._target is None:
            try:
                if self.external is not None:
                    self._target = self.external
                else:
                    self._hop = CaptureHop({"relay": ("127.0.0.1", 0), "legacy": ("127.0.0.1", 0)}).start()
                    setup = RelaySetup(
                        REFERENCE_RELAY_DOMAIN,
                        REFERENCE_LEGACY_DOMAIN,
                        self._hop.address("relay"),
                        self._hop.address("legacy"),
                    )
                    self._server = ReferenceServer(self.faults, relay=setup)
                    self._target = self._server.start()
                self._capabilities = discover_all(self._target)
            except HopError as exc:
                self._error = f"target not usable: {exc}"
                pytest.fail(self._error, pytrace=False)
            except (TargetError, CapabilityError, ConnectFailed) as exc:
                self._error = f"target not usable: {exc}"
                pytest.fail(self._error, pytrace=False)
        assert self._target is not None and self._capabilities is not None
        return self._target, self._capabilities

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._hop is not None:
            self._hop.stop()
            self._hop = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report: pytest.TestReport = yield
    if not isinstance(item, TranscriptItem):
        return report
    case = item.case
    holder = item.config.stash[target_key]
    blocking = case.level.blocking or holder.strict
    deviation = holder.baseline.deviations.get(case.case_id) if holder.baseline else None
    props = case_properties(case, blocking)
    if item.result is not None and item.result.failure is not None:
        props["step_line"] = item.result.failure.line
        props["precondition"] = item.result.failure.precondition
    verdict = ""
    if report.when == "call":
        if report.failed and deviation is not None:
            report.outcome = "skipped"
            report.wasxfail = f"known deviation: {deviation.reason}"
            verdict = "xfailed"
        elif report.failed and not blocking:
            report.outcome = "skipped"
            report.wasxfail = f"{case.level.value}-level deviation, not blocking without --strict"
            verdict = "failed"
        elif report.passed and deviation is not None:
            report.wasxfail = f"fixed: listed in the baseline as a known deviation ({deviation.reason})"
            verdict = "xpassed"
    props["verdict"] = verdict
    props["reason"] = item.result.reason if item.result is not None else ""
    if deviation is not None:
        props["baseline_reason"] = deviation.reason
    report.user_properties.append((PROPERTY, json.dumps(props)))
    return report


def case_properties(case: Case, blocking: bool) -> dict[str, Any]:
    return {
        "id": case.case_id,
        "protocol": case.protocol,
        "rfc": case.citation.rfc,
        "section": case.citation.section,
        "also": [str(c) for c in case.also],
        "level": case.level.value,
        "title": case.title,
        "blocking": blocking,
        "requirement": case.requirement,
        "file": f"suites/{case.path.as_posix()}",
        "line": case.line,
    }


class Recorder:
    """Keeps one record per case from the reports: in the controller for xdist workers' reports too."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = next((json.loads(str(v)) for k, v in report.user_properties if k == PROPERTY), None)
        if props is None or (report.when != "call" and report.outcome == "passed"):
            return
        records = self.config.stash[records_key]
        if report.when == "teardown" and props["id"] in records:
            return
        outcome, reason = _outcome(report, props)
        records[props["id"]] = record_from_properties(props, outcome, reason, report.duration)


def _outcome(report: pytest.TestReport, props: dict[str, Any]) -> tuple[str, str]:
    verdict = props.get("verdict", "")
    reason = props.get("reason", "")
    if verdict == "xfailed":
        return "xfailed", f"known deviation: {props.get('baseline_reason', '')}; observed: {reason}"
    if verdict == "xpassed":
        return "xpassed", f"fixed: {props.get('baseline_reason', '')}"
    if verdict == "failed":
        return "failed", reason
    if report.skipped:
        longrepr = report.longrepr
        text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        return "skipped", text.removeprefix("Skipped: ")
    if report.failed:
        return "failed", reason or _first_line(report.longreprtext)
    return "passed", ""


def _first_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), "")


RELAY_GROUP: Final = "mailconform-relay"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """--spec prefixes, and for an external target only the protocols it has endpoints for.

    An external target's relay cases share one capture hop at fixed addresses: they are put
    in one xdist group, so that under `--dist loadgroup` a single worker runs them all.
    """
    prefixes: list[str] = config.option.spec
    external = config.stash[target_key].external
    offered = set(external.endpoints) if external is not None else set(PROTOCOLS)
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        if external is not None and isinstance(item, TranscriptItem) and needs_relay(item.case):
            item.add_marker(pytest.mark.xdist_group(RELAY_GROUP))
        if isinstance(item, TranscriptItem) and (
            item.case.protocol not in offered or (prefixes and not _selected(item.case, prefixes))
        ):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _selected(case: Case, prefixes: list[str]) -> bool:
    names = [case.path.with_suffix("").as_posix()]
    for citation in (case.citation, *case.also):
        names.append(f"{case.protocol}/rfc{citation.rfc}/{citation.section}")
    return any(name.startswith(prefix.strip("/")) for name in names for prefix in prefixes)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    config.stash[target_key].stop()
    if _is_worker(config):
        return
    report_dir = config.option.report_dir
    records = config.stash[records_key]
    if report_dir is None or (not records and not session.testscollected):
        return
    run = build_run(config)
    directory = Path(report_dir)
    write_run(run, directory / "conformance.json")
    (directory / "conformance.md").write_text(render_markdown(run.to_json()), encoding="utf-8")


def build_run(config: pytest.Config) -> Run:
    started_monotonic, started_iso = config.stash[started_key]
    holder = config.stash[target_key]
    return Run(
        target=holder.describe(),
        started=started_iso,
        duration=time.monotonic() - started_monotonic,
        strict=holder.strict,
        baseline=str(holder.baseline.path) if holder.baseline else None,
        cases=list(config.stash[records_key].values()),
    )


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if _is_worker(config) or not config.stash[records_key]:
        return
    run = build_run(config).to_json()
    terminalreporter.section("mailconform: results per RFC section")
    for line in section_lines(run):
        terminalreporter.write_line(line)
    terminalreporter.section("mailconform")
    for line in summary_lines(run):
        terminalreporter.write_line(line)
