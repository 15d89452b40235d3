"""The relay additions to the transcript grammar (suites/README.md): `! hop-wait`, `! hop-none`,
`H:`/`H!:`/`D:`/`D!:` lines, `(pipelined)`, the relay variables, and escapes in `${repeat:...}`
of `B:` lines — every form, and every error as `file:line: what`."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.runner import needs_relay
from harness.transcript.model import Directive, HopExpect, Send, Step
from harness.transcript.parser import TranscriptError, parse_transcript
from harness.transcript.text import Repeat, parse_text, render

SUITE = Path("suites/smtp/relay.mt")
HEAD = "spec: RFC5321 §6.1 Reliable Delivery\nprotocol: submission\n\n== c MUST\n~ x\n"  # steps start at line 6


def steps_of(steps: str) -> tuple[Step, ...]:
    (case,) = parse_transcript(HEAD + steps, SUITE).cases
    return case.steps


def error_of(steps: str) -> TranscriptError:
    with pytest.raises(TranscriptError) as raised:
        parse_transcript(HEAD + steps, SUITE)
    return raised.value


def test_hop_steps_parse() -> None:
    steps = steps_of(
        "C: RCPT TO:<rcpt-$case@$relay_domain>\n"
        "! hop-wait rcpt-$case@$relay_domain|sender-$case@$legacy_domain 5\n"
        "H: MAIL FROM:<>*\n"
        "H!: * (pipelined)\n"
        "H: RCPT TO:<$who> (pipelined)\n"
        "D: Subject: $case\n"
        "D!: (?i)return-path:.* (re)\n"
        "C: NOOP $who\n"
        "! hop-none rcpt-$case@$relay_domain 2\n"
    )
    assert steps[1] == Directive(7, "hop-wait", ("rcpt-$case@$relay_domain|sender-$case@$legacy_domain", "5"))
    assert steps[2:7] == (
        HopExpect(8, "H", "MAIL FROM:<>*"),
        HopExpect(9, "H", "*", negate=True, pipelined=True),
        HopExpect(10, "H", "RCPT TO:<$who>", pipelined=True),
        HopExpect(11, "D", "Subject: $case"),
        HopExpect(12, "D", "(?i)return-path:.* (re)", negate=True),
    )
    assert steps[7] == Send(13, "NOOP $who")  # a capture of an H: line is usable afterwards
    assert steps[8] == Directive(14, "hop-none", ("rcpt-$case@$relay_domain", "2"))


@pytest.mark.parametrize(
    ("steps", "line", "words"),
    [
        ("H: DATA\n", 6, ["H: needs a message of the next hop", "! hop-wait ADDRESS"]),
        ("! hop-none a@b.example 1\nD!: x\n", 7, ["D!: needs a message of the next hop"]),
        ("! hop-wait a@b.example\nD: x (pipelined)\n", 7, ["(pipelined) marks commands: it belongs to H: lines"]),
        ("! hop-wait a@b.example\nH:\n", 7, ["empty H: line"]),
        ("! hop-wait a@b.example\nD: (unclosed (re)\n", 7, ["bad regular expression"]),
        ("! hop-wait a@b.example\nH: $ x\n", 7, ["starts no capture name"]),
        ("! hop-wait\n", 6, ["'! hop-wait' takes 1..2 arguments, got 0"]),
        ("! hop-none a@b.example\n", 6, ["'! hop-none' takes 2..2 arguments, got 1"]),
        ("! hop-wait a@b.example soon\n", 6, ["timeout 'soon' is not a number of seconds"]),
        ("! hop-none a@b.example 0\n", 6, ["must be more than 0"]),
        ("! hop-wait nobody\n", 6, ["'nobody' is not an address"]),
        ("! hop-wait a@b.example|\n", 6, ["empty address"]),
        ("! hop-wait $rcpt@b.example\n", 6, ["variable $rcpt is neither a target variable nor captured"]),
        ("! hop-wait ${repeat:x}@b\n", 6, ["expected ${repeat:N:text}"]),
        ("X: y\n", 6, ["a case holds > ~ C: B: L: S: S!: S| ! @ H: H!: D: D!: lines"]),
    ],
)
def test_malformed_hop_lines_name_file_line_and_problem(steps: str, line: int, words: list[str]) -> None:
    error = error_of(steps)
    assert str(error).startswith(f"{SUITE}:{line}: "), str(error)
    for word in words:
        assert word in error.message, error.message


def test_relay_variables_and_case_are_known() -> None:
    steps = steps_of("C: RCPT TO:<x-$case@$relay_domain> <y@${legacy_domain}>\n")
    assert isinstance(steps[0], Send)


def test_needs_relay_sees_hop_steps_and_relay_domains() -> None:
    def case(steps: str) -> bool:
        (found,) = parse_transcript(HEAD + steps, SUITE).cases
        return needs_relay(found)

    assert case("C: RCPT TO:<a@$relay_domain>\n")
    assert case("B: RCPT TO:<a@$legacy_domain>\\r\\n\n")
    assert case("! hop-none a@b.example 1\n")
    assert not case("C: RCPT TO:<a-$case@$domain>\nS: 250\n")


def test_repeat_in_raw_lines_takes_escapes() -> None:
    (piece,) = parse_text("${repeat:3:Received: x\\r\\n}", raw=True)
    assert piece == Repeat(3, b"Received: x\r\n")
    assert render([piece], {}) == b"Received: x\r\n" * 3
    # in C: lines a backslash is an ordinary character, as before
    assert parse_text("${repeat:2:a\\r}", raw=False) == [Repeat(2, b"a\\r")]


def test_bad_escape_inside_a_raw_repeat_is_an_error() -> None:
    with pytest.raises(TranscriptError, match=r"relay.mt:6: unknown escape '\\q'"):
        parse_transcript(HEAD + "B: ${repeat:2:\\q}\n", SUITE)
