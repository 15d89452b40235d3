"""`H:` and `D:` lines: what the capture next hop received, matched against globs.

A relay case cannot see the relay's client side on its own connection; it looks at the
message the capture hop accepted (`! hop-wait`). `H:` lines read the commands of the hop
session that brought it, `D:` lines the mail data after unstuffing. Positive lines match in
order, each after the line the previous one matched, so `D: Received: *` then
`D: Subject: x` says "a Received: field before the Subject"; a negated line must match
none of the lines. Command globs ignore case, as SMTP verbs and keywords do (RFC 5321
§2.4); data globs do not (a regex says `(?i)` where header field names are meant).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from harness.nexthop.record import HopMessage
from harness.patterns import compile_pattern, match_pattern

SHOWN_LINES: Final = 60  # lines of the hop's side shown in a failure report


@dataclass(frozen=True)
class HopJudgement:
    mismatch: str | None  # None: the line is satisfied
    received: str  # what the hop got, as shown in a report
    cursor: int  # where the next positive line of the same kind starts looking
    captures: dict[str, str]


def hop_subjects(message: HopMessage, kind: str) -> list[tuple[str, bool]]:
    """The lines an `H:` (kind "H") or `D:` (kind "D") line is matched against, with the
    pipelined mark of each command (always False for data lines)."""
    if kind == "H":
        return [(command.text, command.pipelined) for command in message.commands]
    return [(line, False) for line in message.lines]


def judge_hop_line(
    message: HopMessage,
    kind: str,
    pattern_text: str,
    *,
    negate: bool,
    pipelined: bool,
    cursor: int,
    bound: Mapping[str, str],
) -> HopJudgement:
    pattern = compile_pattern(pattern_text)
    subjects = hop_subjects(message, kind)
    ignore_case = kind == "H"
    what = "command" if kind == "H" else "data line"
    shown = _show(subjects, kind)
    if negate:
        for text, early in subjects:
            if pipelined and not early:
                continue
            if match_pattern(pattern, text, bound, ignore_case=ignore_case) is not None:
                mark = " (pipelined)" if early else ""
                return HopJudgement(
                    f"the next hop received a {what} that must not be sent: {text}{mark}", shown, cursor, {}
                )
        return HopJudgement(None, shown, cursor, {})
    for index in range(cursor, len(subjects)):
        text, early = subjects[index]
        if pipelined and not early:
            continue
        captures = match_pattern(pattern, text, bound, ignore_case=ignore_case)
        if captures is not None:
            return HopJudgement(None, shown, index + 1, captures)
    where = "" if cursor == 0 else " after the one matched before"
    kind_text = "pipelined command" if pipelined else what
    return HopJudgement(f"no {kind_text}{where} matches", shown, cursor, {})


def _show(subjects: list[tuple[str, bool]], kind: str) -> str:
    lines = [f"{text}{' (pipelined)' if early else ''}" for text, early in subjects[:SHOWN_LINES]]
    if len(subjects) > SHOWN_LINES:
        lines.append(f"... {len(subjects) - SHOWN_LINES} more lines")
    if not lines:
        return "(no commands)" if kind == "H" else "(empty message)"
    return "\n".join(lines)
