"""Baseline files: known deviations with written reasons, and errors that say where the file is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.report.baseline import BaselineError, Deviation, load_baseline

CASE = "smtp/rfc5321/4.1.4-order-of-commands::mail-inside-transaction-refused"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "baseline.json"
    path.write_text(text, encoding="utf-8")
    return path


def test_deviations_are_loaded_by_case_id(tmp_path: Path) -> None:
    data = {
        "target": "postfix 3.8",
        "deviations": [
            {
                "id": CASE,
                "reason": "  accepts a second MAIL; RFC 5321 §4.1.4 does not oblige it to refuse  ",
                "observed": "250",
                "clause": "RFC 5321 §4.1.4",
            },
            {"id": "pop3/rfc1939/5-stat::counts-octets", "reason": "counts LF line ends"},
        ],
    }
    path = write(tmp_path, json.dumps(data))
    baseline = load_baseline(path)
    assert baseline.path == path
    assert baseline.target == "postfix 3.8"
    assert baseline.deviations[CASE] == Deviation(
        CASE, "accepts a second MAIL; RFC 5321 §4.1.4 does not oblige it to refuse", "250", "RFC 5321 §4.1.4"
    )
    assert baseline.deviations["pop3/rfc1939/5-stat::counts-octets"].observed == ""


def test_empty_baseline(tmp_path: Path) -> None:
    baseline = load_baseline(write(tmp_path, '{"deviations": []}'))
    assert baseline.deviations == {}
    assert baseline.target == ""


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(BaselineError, match=r"nope\.json: no such file$"):
        load_baseline(path)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('{\n  "deviations": [\n    {"id": "x" "reason": "y"}\n  ]\n}\n', 3),
        ('{\n  "deviations": [],\n}\n', 3),
        ("", 1),
        ('{"deviations": []}\n\n\ntrailing\n', 4),
    ],
)
def test_invalid_json_names_file_and_line(tmp_path: Path, text: str, line: int) -> None:
    path = write(tmp_path, text)
    with pytest.raises(BaselineError) as raised:
        load_baseline(path)
    assert str(raised.value).startswith(f"{path}:{line}: not valid JSON: ")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ([], ["expected an object with a list 'deviations'"]),
        ({"deviations": {}}, ["expected an object with a list 'deviations'"]),
        ({"target": "x"}, ["expected an object with a list 'deviations'"]),
        ({"deviations": ["x"]}, ["deviations[0]: expected an object with 'id' and 'reason'"]),
        ({"deviations": [{"reason": "a real reason here"}]}, ["deviations[0]: missing 'id'"]),
        ({"deviations": [{"id": "", "reason": "a real reason here"}]}, ["deviations[0]: missing 'id'"]),
        (
            {"deviations": [{"id": CASE, "reason": "a real reason here"}, {"id": "b::c"}]},
            ["deviations[1] (b::c): a deviation needs a written 'reason'"],
        ),
        ({"deviations": [{"id": CASE, "reason": "  too short  "}]}, ["deviations[0]", "needs a written 'reason'"]),
        ({"deviations": [{"id": CASE, "reason": 42}]}, ["needs a written 'reason'"]),
        (
            {"deviations": [{"id": CASE, "reason": "a real reason here"}, {"id": CASE, "reason": "another reason"}]},
            [f"deviations[1]: {CASE} is listed twice"],
        ),
    ],
)
def test_unusable_entries_name_file_and_entry(tmp_path: Path, data: object, words: list[str]) -> None:
    path = write(tmp_path, json.dumps(data))
    with pytest.raises(BaselineError) as raised:
        load_baseline(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: ")
    for word in words:
        assert word in message
