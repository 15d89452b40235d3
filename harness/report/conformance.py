"""conformance.json: the one record of a run that every other report is built from.

The schema is documented in reports/README.md. Keep it additive: reports built from
older runs (the regression comparison) must still read.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

SCHEMA: Final = "mailconform/conformance/1"
OUTCOMES: Final = ("passed", "failed", "skipped", "xfailed", "xpassed")


@dataclass
class CaseRecord:
    id: str
    protocol: str
    rfc: int
    section: str
    level: str
    title: str
    outcome: str
    reason: str = ""
    duration: float = 0.0
    blocking: bool = False  # a failure that fails the run (MUST, or any level under --strict)
    also: list[str] = field(default_factory=list)
    requirement: str = ""
    file: str = ""
    line: int = 0
    step_line: int | None = None
    precondition: bool = False  # the failure came while reaching the starting state, not in the case's steps


@dataclass
class Run:
    target: dict[str, Any]
    started: str
    duration: float
    strict: bool
    baseline: str | None
    cases: list[CaseRecord]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "target": self.target,
            "started": self.started,
            "duration": round(self.duration, 3),
            "strict": self.strict,
            "baseline": self.baseline,
            "summary": summarise(self.cases),
            "cases": [asdict(c) for c in sorted(self.cases, key=lambda c: c.id)],
        }


def summarise(cases: Iterable[CaseRecord]) -> dict[str, Any]:
    by_protocol: dict[str, Counter[str]] = {}
    by_level: dict[str, Counter[str]] = {}
    total: Counter[str] = Counter()
    blocking = 0
    for case in cases:
        by_protocol.setdefault(case.protocol, Counter())[case.outcome] += 1
        by_level.setdefault(case.level, Counter())[case.outcome] += 1
        total[case.outcome] += 1
        blocking += case.outcome == "failed" and case.blocking
    return {
        "total": dict(total),
        "by_protocol": {p: dict(c) for p, c in sorted(by_protocol.items())},
        "by_level": {lv: dict(c) for lv, c in sorted(by_level.items())},
        "blocking_failures": blocking,
    }


def write_run(run: Run, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(run.to_json(), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def load_run(path: Path) -> dict[str, Any]:
    data: Any = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f"{path}: not a {SCHEMA} file")
    return data


def record_from_properties(props: Mapping[str, Any], outcome: str, reason: str, duration: float) -> CaseRecord:
    return CaseRecord(
        id=str(props["id"]),
        protocol=str(props["protocol"]),
        rfc=int(props["rfc"]),
        section=str(props["section"]),
        level=str(props["level"]),
        title=str(props.get("title", "")),
        outcome=outcome,
        reason=reason,
        duration=round(duration, 4),
        blocking=bool(props.get("blocking", False)),
        also=list(props.get("also", [])),
        requirement=str(props.get("requirement", "")),
        file=str(props.get("file", "")),
        line=int(props.get("line", 0)),
        step_line=props.get("step_line"),
        precondition=bool(props.get("precondition", False)),
    )
