"""`! send-corpus` and `! stored-intact` (suites/README.md): the MIME suite's steps, and every
error they can raise as `file:line: what`, checked before a byte is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.runner import missing_endpoints, missing_requirements
from harness.transcript.model import Directive
from harness.transcript.parser import TranscriptError, parse_transcript
from tests.harness.support import loopback_target

SUITE = Path("suites/mime/x.mt")
ROUND_TRIP = "! send-corpus plain-7bit\nS: 250\n! stored-intact plain-7bit\n"
SEND = "C: MAIL FROM:<$alice>\nS: 250\nC: RCPT TO:<$bob>\nS: 250\nC: DATA\nS: 354\n"  # lines 6-11


def text(steps: str, options: str = "") -> str:
    return f"spec: RFC5321 §4.5.2 Transparency\nprotocol: smtp\n\n== c MUST {options}\n~ x\n{steps}"


def error_of(steps: str, options: str = "") -> str:
    with pytest.raises(TranscriptError) as raised:
        parse_transcript(text(steps, options), SUITE)
    return str(raised.value)


def test_corpus_steps_parse() -> None:
    (case,) = parse_transcript(text(SEND + ROUND_TRIP), SUITE).cases
    assert case.steps[6] == Directive(12, "send-corpus", ("plain-7bit",))
    assert case.steps[8] == Directive(14, "stored-intact", ("plain-7bit",))


def test_an_unknown_shape_is_named_with_the_known_ones() -> None:
    message = error_of(SEND + "! send-corpus plain-8bit\n")
    assert message.startswith("suites/mime/x.mt:12: '! send-corpus': no corpus message 'plain-8bit'; the shapes are ")
    assert "plain-7bit" in message and "seed-jpeg" in message


@pytest.mark.parametrize(
    ("shape", "options", "missing"),
    [
        ("utf8-8bit", "", "8BITMIME (RFC 6152 §3)"),
        ("smtputf8", "requires=SMTPUTF8", "8BITMIME (RFC 6152 §3)"),
        ("smtputf8", "requires=8BITMIME", "SMTPUTF8 (RFC 6531 §3.2)"),
    ],
)
def test_eight_bit_shapes_need_the_extension_required(shape: str, options: str, missing: str) -> None:
    """A client must not send 8-bit data to a server that did not announce 8BITMIME, so the case
    must say so and be skipped there instead."""
    assert error_of(SEND + f"! send-corpus {shape}\n", options) == (
        f"suites/mime/x.mt:12: corpus message '{shape}' may go only to a server announcing {missing}:"
        f" add requires={missing.split()[0]} to the case"
    )


def test_the_eight_bit_case_is_skipped_on_a_7bit_only_server() -> None:
    (case,) = parse_transcript(text(SEND + "! send-corpus utf8-8bit\nS: 250\n", "requires=8BITMIME"), SUITE).cases
    assert missing_requirements(case, {"smtp": frozenset({"PIPELINING", "SIZE"})}) == ["8BITMIME"]
    assert missing_requirements(case, {"smtp": frozenset({"8BITMIME"})}) == []


def test_stored_intact_needs_the_message_sent_first() -> None:
    assert error_of(SEND + "! send-corpus plain-7bit\nS: 250\n! stored-intact dot-lines\n") == (
        "suites/mime/x.mt:14: '! stored-intact dot-lines' needs an earlier '! send-corpus dot-lines' in the case"
    )


def test_send_corpus_runs_only_on_an_smtp_connection() -> None:
    assert error_of("@box pop3\n! send-corpus plain-7bit\n") == (
        "suites/mime/x.mt:7: '! send-corpus' sends mail data: it runs on an smtp or submission connection"
    )


def test_stored_intact_reads_back_over_pop3_so_a_target_without_it_skips() -> None:
    (case,) = parse_transcript(text(SEND + ROUND_TRIP), SUITE).cases
    assert missing_endpoints(case, loopback_target({"smtp": 2525})) == ["pop3"]
    assert missing_endpoints(case, loopback_target({"smtp": 2525, "pop3": 2110})) == []
