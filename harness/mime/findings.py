"""What the linter reports: findings with a severity and the RFC clause they rest on.

A finding is data, not text, so the CLI, the JSON output and the transparency suites can each
render or filter it; the one-line rendering lives here so every consumer prints the same thing.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace


class Severity(enum.IntEnum):
    """Ordered so that `finding.severity >= Severity.WARNING` filters as a reader expects."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r}; use one of {names}") from None


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    rfc: str  # "RFC 5322"
    section: str  # "2.1.1"
    line: int | None  # 1-based; None when the defect is an absence (a missing field)
    message: str

    @property
    def citation(self) -> str:
        """`RFC 5322 §2.1.1`; a finding about the linter itself (lint.internal) cites no clause."""
        return f"{self.rfc} §{self.section}" if self.rfc else "no clause"

    def render(self, source: str) -> str:
        """`FILE:LINE: severity rule (RFC n §s) message`; a finding without a line drops the LINE."""
        where = f"{source}:{self.line}:" if self.line is not None else f"{source}:"
        return f"{where} {self.severity.label} {self.rule} ({self.citation}) {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity.label,
            "rfc": self.rfc,
            "section": self.section,
            "citation": self.citation,
            "line": self.line,
            "message": self.message,
        }


@dataclass(frozen=True)
class Rule:
    """One check the linter can make; `section` is the clause a finding cites unless it names a narrower one."""

    id: str
    severity: Severity
    rfc: str
    section: str
    summary: str

    def finding(self, line: int | None, message: str, *, section: str | None = None) -> Finding:
        return Finding(self.id, self.severity, self.rfc, section or self.section, line, _one_line(message))


def _one_line(message: str) -> str:
    """Messages quote the input; its control characters and undecodable octets are shown escaped."""
    if message.isprintable():
        return message
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)


class Tally:
    """The first occurrence of each per-line defect, and how many lines have it.

    A file with LF line ends has a bare LF on every line; one finding that names the first
    line and the count says as much as thousands would, and keeps the report readable.
    """

    def __init__(self, unit: str = "lines") -> None:
        self._unit = unit
        self._first: dict[tuple[str, str], Finding] = {}
        self._count: dict[tuple[str, str], int] = {}
        self._last_line: dict[tuple[str, str], int | None] = {}

    def add(self, rule: Rule, line: int | None, message: str, *, section: str | None = None) -> None:
        finding = rule.finding(line, message, section=section)
        key = (rule.id, finding.section)
        if self._last_line.get(key, -1) == line and line is not None:
            return  # one line with the defect twice is still one line
        self._last_line[key] = line
        self._first.setdefault(key, finding)
        self._count[key] = self._count.get(key, 0) + 1

    def findings(self) -> Iterator[Finding]:
        for key, first in self._first.items():
            count = self._count[key]
            if count == 1:
                yield first
            else:
                yield replace(first, message=f"{first.message} (first of {count} {self._unit})")


@dataclass(frozen=True)
class LintReport:
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        return self.at_least(Severity.ERROR)

    @property
    def ok(self) -> bool:
        """True when nothing of severity error was found: the message conforms."""
        return not self.errors

    def at_least(self, severity: Severity) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity >= severity)

    def rules(self, severity: Severity = Severity.INFO) -> frozenset[str]:
        return frozenset(f.rule for f in self.at_least(severity))

    def by_rule(self, rule: str) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.rule == rule)

    @classmethod
    def of(cls, findings: Iterable[Finding]) -> LintReport:
        """Findings in reading order: by line (absences first), then by rule id."""
        ordered = sorted(findings, key=lambda f: (f.line if f.line is not None else 0, f.rule, f.message))
        return cls(tuple(ordered))
