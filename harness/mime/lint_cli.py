"""`mailconform lint FILE|- [FILE ...] [--json] [--min-severity LEVEL] [--rules]`.

One line per finding, `FILE:LINE: severity rule-id (RFC n §s) message`, as compilers print
them so editors and CI annotate the right line. Exit status for scripts: 0 when no file has an
error, 1 when some file has one, 2 when a file cannot be read or the arguments are wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, TextIO

from harness.mime.findings import LintReport, Severity
from harness.mime.lint import lint_message
from harness.mime.rules import ALL_RULES

EXIT_CLEAN: Final = 0
EXIT_ERRORS: Final = 1
EXIT_UNUSABLE: Final = 2
STDIN: Final = "-"


@dataclass(frozen=True)
class _Result:
    source: str
    report: LintReport | None
    problem: str = ""  # why the input could not be read


def lint_main(argv: Sequence[str], stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        args = _parser().parse_args(list(argv))
    except SystemExit as exc:  # argparse has printed the usage or the help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_UNUSABLE
    if args.rules:
        _guard_pipe(lambda: _print_rules(out), out)
        return EXIT_CLEAN
    if not args.files:
        err.write("mailconform lint: give a FILE, or - for standard input\n")
        return EXIT_UNUSABLE
    minimum = Severity.parse(args.min_severity)
    results = [_lint(source) for source in args.files]
    _guard_pipe(lambda: _print_results(results, minimum, args.json, out, err), out)
    if any(r.report is None for r in results):
        return EXIT_UNUSABLE
    return EXIT_ERRORS if any(not r.report.ok for r in results if r.report is not None) else EXIT_CLEAN


def _print_rules(out: TextIO) -> None:
    for rule in ALL_RULES:
        citation = f"{rule.rfc} §{rule.section}" if rule.rfc else "no clause"
        out.write(f"{rule.id:30} {rule.severity.label:8} {citation:16} {rule.summary}\n")


def _print_results(results: list[_Result], minimum: Severity, as_json: bool, out: TextIO, err: TextIO) -> None:
    if as_json:
        json.dump({"files": [_as_json(r, minimum) for r in results]}, out, indent=2)
        out.write("\n")
    for result in results:
        if result.report is None:
            err.write(f"mailconform lint: {result.source}: {result.problem}\n")
        elif not as_json:
            for finding in result.report.at_least(minimum):
                out.write(finding.render(result.source) + "\n")


def _guard_pipe(write: Callable[[], None], out: TextIO) -> None:
    """`mailconform lint ... | head`: a reader that leaves early is no error, and the exit status stands."""
    try:
        write()
        out.flush()
    except BrokenPipeError:
        if out is sys.stdout:  # keep the interpreter's flush at exit quiet too
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailconform lint",
        description="Check messages against RFC 5322 and MIME (RFC 2045-2047); every finding cites its clause.",
        epilog="Exit status: 0 no errors, 1 errors found, 2 unreadable input or bad arguments.",
    )
    parser.add_argument(
        "files", nargs="*", metavar="FILE", help="a message file (RFC 5322, CRLF line ends); - reads stdin"
    )
    parser.add_argument("--json", action="store_true", help="print the findings as one JSON document")
    parser.add_argument(
        "--min-severity",
        choices=[s.label for s in Severity],
        default=Severity.INFO.label,
        help="leave out findings below this severity (the exit status still counts every error)",
    )
    parser.add_argument("--rules", action="store_true", help="list every rule with its severity and clause, then exit")
    return parser


def _lint(source: str) -> _Result:
    try:
        if source == STDIN:
            data = sys.stdin.buffer.read()
        else:
            with open(source, "rb") as handle:
                data = handle.read()
    except OSError as exc:
        return _Result(source, None, exc.strerror or type(exc).__name__)
    return _Result(source, lint_message(data))


def _as_json(result: _Result, minimum: Severity) -> dict[str, object]:
    if result.report is None:
        return {"file": result.source, "error": result.problem}
    return {
        "file": result.source,
        "ok": result.report.ok,
        "findings": [f.as_dict() for f in result.report.at_least(minimum)],
    }
