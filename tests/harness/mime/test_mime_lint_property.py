"""The linter never fails: any octets in, a report out (issue 7 acceptance; hypothesis).

Two sources of input: arbitrary octets, which mostly exercise the parser's edge cases, and
corpus messages with random damage, which keep enough structure to reach the deeper checks
(multipart walking, encodings, encoded-words). Either way every finding must come from the
rule catalog with that rule's severity and a line inside the message, and no check may have
stopped on the input (`lint.internal`).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.mime import RULES, build_corpus, lint_message
from harness.mime.findings import LintReport
from harness.mime.lines import split_lines

CORPUS = [m.data for m in build_corpus("example.test", "alice@example.test", "bob@example.test")]
# Octets that matter to mail syntax, so mutations hit delimiters, folds, escapes and encoded-words.
SPECIAL = b'\r\n\t :=?-.<>@"()_\x00\x80\xc3\xff'


def assert_sound(data: bytes, report: LintReport) -> None:
    assert isinstance(report, LintReport)
    line_count = len(split_lines(data))
    for finding in report.findings:
        assert finding.rule != "lint.internal", finding.message
        rule = RULES[finding.rule]
        assert finding.severity == rule.severity
        assert finding.line is None or 1 <= finding.line <= line_count, (finding, line_count)
        assert finding.message and "\n" not in finding.message


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_octets_give_a_report(data: bytes) -> None:
    assert_sound(data, lint_message(data))


@st.composite
def damaged_corpus_message(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        position = draw(st.integers(min_value=0, max_value=len(data)))
        action = draw(st.sampled_from(["insert", "delete", "replace", "truncate", "duplicate"]))
        octet = draw(st.sampled_from(list(SPECIAL)) | st.integers(min_value=0, max_value=255))
        if action == "insert":
            data[position:position] = bytes([octet])
        elif action == "delete":
            del data[position : position + draw(st.integers(min_value=1, max_value=40))]
        elif action == "replace" and position < len(data):
            data[position] = octet
        elif action == "truncate":
            del data[position:]
        elif action == "duplicate":
            data[position:position] = data[position : position + draw(st.integers(min_value=1, max_value=200))]
    return bytes(data)


@settings(max_examples=250, deadline=None)
@given(damaged_corpus_message())
def test_damaged_corpus_messages_give_a_report(data: bytes) -> None:
    assert_sound(data, lint_message(data))
