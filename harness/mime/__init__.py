"""Messages themselves: a corpus of well-formed shapes and a linter for RFC 5322 and MIME.

`build_corpus` gives the messages the transparency suites deliver and compare; `lint_message`
judges any message, clause by clause (`mailconform lint` on the command line).
"""

from __future__ import annotations

from harness.mime.corpus import CorpusMessage, build_corpus
from harness.mime.findings import Finding, LintReport, Rule, Severity
from harness.mime.lint import lint_message
from harness.mime.rules import ALL_RULES, RULES

__all__ = [
    "ALL_RULES",
    "RULES",
    "CorpusMessage",
    "Finding",
    "LintReport",
    "Rule",
    "Severity",
    "build_corpus",
    "lint_message",
]
