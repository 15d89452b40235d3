"""conformance.md and the terminal summary, built from conformance.json data only."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

LEVEL_ORDER = ("MUST", "SHOULD", "MAY", "SPEC")
MARK = {"passed": "pass", "failed": "FAIL", "skipped": "skip", "xfailed": "known", "xpassed": "fixed"}


def _count_line(counts: dict[str, int]) -> str:
    order = ("passed", "failed", "xfailed", "xpassed", "skipped")
    return ", ".join(f"{counts[o]} {o}" for o in order if counts.get(o))


def section_lines(run: dict[str, Any]) -> list[str]:
    """One line per RFC section: what a user reads to see, clause by clause, where a server departs."""
    sections: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for case in run["cases"]:
        sections[(case["rfc"], case["section"])][case["outcome"]] += 1
    return [
        f"  RFC {rfc} §{section:<12} {_count_line(counts)}"
        for (rfc, section), counts in sorted(sections.items(), key=lambda kv: (kv[0][0], _key(kv[0][1])))
    ]


def summary_lines(run: dict[str, Any]) -> list[str]:
    """A short summary for the terminal: counts per protocol and level, each failure with its clause."""
    summary = run["summary"]
    lines = [f"mailconform: target {run['target'].get('name', '?')}: {_count_line(summary['total']) or 'no cases'}"]
    for protocol, counts in summary["by_protocol"].items():
        lines.append(f"  {protocol:<11} {_count_line(counts)}")
    for level in LEVEL_ORDER:
        if level in summary["by_level"]:
            lines.append(f"  {level:<11} {_count_line(summary['by_level'][level])}")
    failures = [c for c in run["cases"] if c["outcome"] == "failed"]
    for case in failures:
        flag = "" if case["blocking"] else " (not blocking)"
        lines.append(
            f"  FAILED {case['level']} RFC {case['rfc']} §{case['section']} {case['id']}{flag}: "
            f"{case['reason'].splitlines()[0] if case['reason'] else ''}"
        )
    lines.append(f"  blocking failures: {summary['blocking_failures']}")
    return lines


def render_markdown(run: dict[str, Any]) -> str:
    out = [f"# Conformance: {run['target'].get('name', '?')}", ""]
    out.append(
        f"Started {run['started']}, {run['duration']:.1f} s, strict={run['strict']}"
        + (f", baseline {run['baseline']}" if run["baseline"] else "")
    )
    out.append("")
    endpoints = run["target"].get("endpoints", {})
    if endpoints:
        out += ["| endpoint | address |", "|---|---|"]
        out += [f"| {p} | {a} |" for p, a in endpoints.items()]
        out.append("")
    out += ["## Totals", "", "```", *summary_lines(run), "```", "", "## By RFC section", ""]
    sections: dict[tuple[str, int, str], list[dict[str, Any]]] = defaultdict(list)
    for case in run["cases"]:
        sections[(case["protocol"], case["rfc"], case["section"])].append(case)
    out += ["| protocol | RFC § | MUST | SHOULD/MAY/SPEC | cases |", "|---|---|---|---|---|"]
    for (protocol, rfc, section), cases in sorted(
        sections.items(), key=lambda kv: (kv[0][0], kv[0][1], _key(kv[0][2]))
    ):
        must = [c for c in cases if c["level"] == "MUST"]
        other = [c for c in cases if c["level"] != "MUST"]
        out.append(f"| {protocol} | {rfc} §{section} | {_cell(must)} | {_cell(other)} | {len(cases)} |")
    problems = [c for c in run["cases"] if c["outcome"] in ("failed", "xfailed", "xpassed")]
    if problems:
        out += ["", "## Failures and known deviations", ""]
        for case in problems:
            out.append(
                f"- **{MARK[case['outcome']]}** `{case['id']}` ({case['level']}, RFC {case['rfc']} "
                f"§{case['section']}): {case['reason'].splitlines()[0] if case['reason'] else ''}"
            )
    return "\n".join(out) + "\n"


def _cell(cases: list[dict[str, Any]]) -> str:
    if not cases:
        return "—"
    counts: dict[str, int] = defaultdict(int)
    for case in cases:
        counts[MARK[case["outcome"]]] += 1
    return " ".join(f"{n} {k}" for k, n in sorted(counts.items()))


def _key(section: str) -> tuple[int | str, ...]:
    return tuple(int(p) if p.isdigit() else p for p in section.split("."))
