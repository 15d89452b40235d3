"""Baselines: a target's known deviations, each with a written reason.

A deviation in the baseline is reported as an expected failure (xfailed) rather than
a failure, so a team can gate on "nothing new broke" while the known gaps stay
visible; a listed case that now passes is reported as fixed (xpassed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class BaselineError(ValueError):
    """A baseline file is unusable; the message names the file and the entry."""


@dataclass(frozen=True)
class Deviation:
    case_id: str
    reason: str
    observed: str = ""
    clause: str = ""


@dataclass(frozen=True)
class Baseline:
    path: Path
    target: str
    deviations: dict[str, Deviation]


def load_baseline(path: Path) -> Baseline:
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"{path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("deviations"), list):
        raise BaselineError(f"{path}: expected an object with a list 'deviations'")
    deviations: dict[str, Deviation] = {}
    for index, entry in enumerate(data["deviations"]):
        where = f"{path}: deviations[{index}]"
        if not isinstance(entry, dict):
            raise BaselineError(f"{where}: expected an object with 'id' and 'reason'")
        case_id, reason = entry.get("id"), entry.get("reason")
        if not isinstance(case_id, str) or not case_id:
            raise BaselineError(f"{where}: missing 'id' (the case id, e.g. smtp/rfc5321/4.1.4-order::slug)")
        if not isinstance(reason, str) or len(reason.strip()) < 10:
            raise BaselineError(f"{where} ({case_id}): a deviation needs a written 'reason'")
        if case_id in deviations:
            raise BaselineError(f"{where}: {case_id} is listed twice")
        deviations[case_id] = Deviation(
            case_id, reason.strip(), str(entry.get("observed", "")), str(entry.get("clause", ""))
        )
    return Baseline(path, str(data.get("target", "")), deviations)
