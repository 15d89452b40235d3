"""The runner's relay steps against a real capture hop: waiting, H:/D: verdicts, failures that
show what the hop saw. The "relay" here is smtplib in a thread, handing mail to the hop the way
a relaying server's client would; the case's own connection goes to a silent scripted server."""

from __future__ import annotations

import dataclasses
import smtplib
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Final

import pytest

from harness.nexthop import CaptureHop
from harness.runner import CaseResult, CaseRunner
from harness.targets import RelaySetup, Target
from tests.harness.support import ScriptedServer, loopback_target, one_case

TIMEOUT: Final = 5.0
HEAD = "spec: RFC5321 §6.1 Reliable Delivery\nprotocol: smtp\nstate: connected\n\n== c MUST\n~ x\n"


@pytest.fixture
def hop() -> Iterator[CaptureHop]:
    with CaptureHop({"relay": ("127.0.0.1", 0), "legacy": ("127.0.0.1", 0)}) as started:
        yield started


@pytest.fixture
def target(hop: CaptureHop) -> Iterator[Target]:
    with ScriptedServer(()) as server:
        relay = RelaySetup("relay.test", "legacy.test", hop.address("relay"), hop.address("legacy"))
        yield dataclasses.replace(loopback_target({"smtp": server.port}), relay=relay)


def relay_later(
    hop: CaptureHop, sender: str, recipients: Sequence[str], body: bytes, delay: float = 0.2
) -> threading.Thread:
    """Hand a message to the hop after `delay` seconds, as a relay's client would."""

    def send() -> None:
        time.sleep(delay)
        with smtplib.SMTP(*hop.address("relay"), timeout=TIMEOUT) as client:
            client.sendmail(sender, list(recipients), body)

    thread = threading.Thread(target=send)
    thread.start()
    return thread


def run(steps: str, target: Target, hop: CaptureHop | None, send: bool = True) -> CaseResult:
    runner = CaseRunner(one_case(HEAD + steps), target, hop=hop.recorder if hop else None)
    if not send or hop is None:
        return runner.run()
    rcpt = f"rcpt-{runner.variables['case']}@relay.test"
    thread = relay_later(hop, "", [rcpt], b"Received: by relay\r\nSubject: here\r\n\r\n.dot\r\n")
    try:
        return runner.run()
    finally:
        thread.join(TIMEOUT)


def test_hop_wait_takes_the_message_and_lines_check_it(hop: CaptureHop, target: Target) -> None:
    result = run(
        "! hop-wait rcpt-$case@$relay_domain 5\n"
        "H: MAIL FROM:<>*\n"
        "H: RCPT TO:<rcpt-$case@$relay_domain>\n"
        "H!: * (pipelined)\n"
        "D: Received: *\n"
        "D: Subject: here\n"
        "D: .dot\n"
        "D!: (?i)return-path:.* (re)\n",
        target,
        hop,
    )
    assert result.outcome == "passed", result.reason
    assert "hop -- message accepted on the relay listener" in result.log
    assert "mail data as it arrived (dot-stuffed)" in result.log and "'..dot\\r\\n'" in result.log


def test_data_lines_out_of_order_fail_at_their_line(hop: CaptureHop, target: Target) -> None:
    result = run("! hop-wait rcpt-$case@$relay_domain 5\nD: Subject: here\nD: Received: *\n", target, hop)
    assert result.outcome == "failed" and result.failure is not None
    assert result.failure.line == 9
    assert result.failure.message == "no data line after the one matched before matches"
    assert result.failure.received.splitlines()[:2] == ["Received: by relay", "Subject: here"]


def test_negated_line_that_matches_fails(hop: CaptureHop, target: Target) -> None:
    result = run("! hop-wait rcpt-$case@$relay_domain 5\nH!: MAIL FROM:<>*\n", target, hop)
    assert result.failure is not None and result.failure.line == 8
    assert result.failure.expected == "anything but: MAIL FROM:<>*"


def test_hop_wait_timeout_reports_what_the_hop_saw(hop: CaptureHop, target: Target) -> None:
    runner = CaseRunner(one_case(HEAD + "! hop-wait reject-$case@$relay_domain 1\n"), target, hop=hop.recorder)
    address = f"reject-{runner.variables['case']}@relay.test"
    thread = relay_later(hop, "s@origin.example", [address, "other@relay.test"], b"Subject: x\r\n\r\nx\r\n", 0.0)
    try:
        started = time.monotonic()
        result = runner.run()
    finally:
        thread.join(TIMEOUT)
    assert 0.9 <= time.monotonic() - started < TIMEOUT
    assert result.failure is not None and result.failure.line == 7
    assert result.failure.message == f"no message for {address} reached the next hop within 1 s"
    assert f"<< RCPT TO:<{address}>" in result.failure.received.replace("rcpt TO", "RCPT TO")
    assert ">> 550 5.1.1" in result.failure.received


def test_hop_wait_waits_the_step_timeout_by_default(hop: CaptureHop, target: Target) -> None:
    started = time.monotonic()
    result = run("! timeout 0.5\n! hop-wait nobody-$case@$relay_domain\n", target, hop, send=False)
    assert result.failure is not None and "within 0.5 s" in result.failure.message
    assert time.monotonic() - started < TIMEOUT


def test_hop_none_fails_when_a_message_arrives(hop: CaptureHop, target: Target) -> None:
    result = run("! hop-none rcpt-$case@$relay_domain 3\n", target, hop)
    assert result.failure is not None and result.failure.line == 7
    assert "reached the next hop" in result.failure.message


def test_hop_none_passes_when_nothing_arrives(hop: CaptureHop, target: Target) -> None:
    result = run("! hop-none rcpt-$case@$relay_domain 0.3\n", target, hop, send=False)
    assert result.outcome == "passed", result.reason


def test_without_a_hop_a_relay_step_fails_and_says_why(target: Target) -> None:
    result = run("! hop-none rcpt-$case@$relay_domain 0.3\n", target, None)
    assert result.failure is not None and result.failure.message == "the target has no capture next hop"


def test_case_token_differs_between_runs(target: Target) -> None:
    case = one_case(HEAD + "! sleep 0.01\n")
    tokens = {CaseRunner(case, target).variables["case"] for _ in range(20)}
    assert len(tokens) == 20 and all(t.isalnum() and t == t.lower() for t in tokens)
