"""`mailconform lint`: one line per finding, JSON, severity filter, exit status for scripts."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.mime import ALL_RULES, build_corpus
from harness.mime.lint_cli import lint_main
from tests.harness.mime.bad_messages import CLEAN_BASES, CRLF, clean

REPOSITORY = Path(__file__).resolve().parents[3]
BAD_LF = clean(body=b"Hello.\nWorld." + CRLF)  # bare LF on line 7 (RFC 5322 §2.3)
ONLY_WARNING = clean(body=b"w" * 80 + CRLF)  # an 80-character line on line 7 (SHOULD, §2.1.1)


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = lint_main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    written = {}
    for name, data in {"clean": CLEAN_BASES["clean"], "bad": BAD_LF, "warn": ONLY_WARNING}.items():
        path = tmp_path / f"{name}.eml"
        path.write_bytes(data)
        written[name] = str(path)
    return written


def test_clean_file_exits_0_and_prints_nothing(files: dict[str, str]) -> None:
    assert run(files["clean"]) == (0, "", "")


def test_error_is_one_line_with_file_line_severity_rule_and_clause(files: dict[str, str]) -> None:
    code, out, err = run(files["bad"])
    assert code == 1 and err == ""
    assert out == f"{files['bad']}:7: error line.bare-lf (RFC 5322 §2.3) line ends in a bare LF, not CRLF\n"


def test_warnings_alone_exit_0_and_min_severity_hides_them(files: dict[str, str]) -> None:
    code, out, _ = run(files["warn"])
    assert code == 0 and out.startswith(f"{files['warn']}:7: warning line.over-78 (RFC 5322 §2.1.1) ")
    assert run("--min-severity", "error", files["warn"]) == (0, "", "")


def test_min_severity_does_not_change_the_exit_status(files: dict[str, str]) -> None:
    code, out, _ = run("--min-severity", "error", files["bad"], files["warn"])
    assert code == 1 and out.count("\n") == 1 and "line.bare-lf" in out


def test_finding_without_a_line_omits_the_line_number(tmp_path: Path) -> None:
    path = tmp_path / "no-date.eml"
    path.write_bytes(b"From: a@example.test\r\nMessage-ID: <x@example.test>\r\n\r\nHi.\r\n")
    code, out, _ = run(str(path))
    assert (
        code == 1
        and out
        == f"{path}: error header.date-missing (RFC 5322 §3.6) no Date field (the origination date is required)\n"
    )


def test_json_lists_every_file_with_its_findings(files: dict[str, str]) -> None:
    code, out, _ = run("--json", files["clean"], files["bad"])
    assert code == 1
    document = json.loads(out)
    assert [entry["file"] for entry in document["files"]] == [files["clean"], files["bad"]]
    assert document["files"][0] == {"file": files["clean"], "ok": True, "findings": []}
    (finding,) = document["files"][1]["findings"]
    assert finding == {
        "rule": "line.bare-lf",
        "severity": "error",
        "rfc": "RFC 5322",
        "section": "2.3",
        "citation": "RFC 5322 §2.3",
        "line": 7,
        "message": "line ends in a bare LF, not CRLF",
    }


def test_unreadable_input_exits_2_and_still_lints_the_rest(files: dict[str, str], tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.eml")
    code, out, err = run(files["bad"], missing, str(tmp_path))
    assert code == 2
    assert "line.bare-lf" in out
    assert err.splitlines() == [
        f"mailconform lint: {missing}: No such file or directory",
        f"mailconform lint: {tmp_path}: Is a directory",
    ]


def test_no_file_is_a_usage_error() -> None:
    assert run() == (2, "", "mailconform lint: give a FILE, or - for standard input\n")


@pytest.mark.parametrize("argv", [["--min-severity", "fatal", "x.eml"], ["--no-such-option", "x.eml"]])
def test_bad_arguments_exit_2_with_the_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(*argv)[0] == 2
    assert "usage: mailconform lint" in capsys.readouterr().err  # argparse writes to the process's stderr


def test_rules_lists_the_catalog() -> None:
    code, out, _ = run("--rules")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == [rule.id for rule in ALL_RULES]
    assert "RFC 2046 §5.1.1" in out


def test_stdin_through_the_mailconform_command() -> None:
    corpus = {m.name: m.data for m in build_corpus("example.test", "a@example.test", "b@example.test")}
    for data, expected in ((corpus["mixed-related"], 0), (BAD_LF, 1)):
        result = subprocess.run(
            [sys.executable, "-m", "harness", "lint", "-"],
            input=data,
            cwd=REPOSITORY,
            capture_output=True,
            timeout=60,
        )
        assert result.returncode == expected, result.stderr
    assert result.stdout.decode().startswith("-:7: error line.bare-lf ")
