"""Run one case against one target: steps in order, on named connections, to a verdict.

The runner knows no protocol: drivers frame replies and reach states. It turns
everything that can go wrong on the wire (timeouts, closes, TLS failures, replies that
cannot be framed) into a failed step with what was expected and what arrived, so a
misbehaving server costs one red case, never a hung or crashed run.
"""

from __future__ import annotations

import re
import secrets
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, NoReturn

from harness.connect import connect
from harness.drivers.base import Driver, SetupContext, SetupFailed
from harness.drivers.imap import ImapDriver
from harness.drivers.pop3 import Pop3Driver
from harness.drivers.smtp import SmtpDriver
from harness.expect.hop import judge_hop_line
from harness.mime.corpus import CorpusMessage, build_message
from harness.mime.transparency import compare_stored, stuff_dots
from harness.nexthop.record import HopMessage, HopRecorder
from harness.readers.errors import ReplyFramingError
from harness.session import Connection, SessionError, SessionLog, client_tls_context
from harness.targets import Target
from harness.transcript.model import (
    Case,
    Directive,
    Expect,
    ExpectClose,
    ExpectSilence,
    HopExpect,
    LiteralData,
    Send,
    Step,
    UseConnection,
)
from harness.transcript.parser import RELAY_VARIABLES
from harness.transcript.text import TextError, parse_text, render, variables_used

DEFAULT_CONNECTION: Final = "main"
SILENCE_DEFAULT: Final = 1.0  # seconds a <SILENT> step waits unless `! timeout` says otherwise
LITERAL_MARK: Final = re.compile(r"\{\}(\+?)$")
HOP_STEPS: Final = ("hop-wait", "hop-none")


def make_driver(protocol: str) -> Driver:
    if protocol in ("smtp", "submission"):
        return SmtpDriver(protocol)
    if protocol == "pop3":
        return Pop3Driver()
    if protocol == "imap":
        return ImapDriver()
    raise ValueError(f"no driver for protocol {protocol!r}")


@dataclass(frozen=True)
class StepFailure:
    line: int
    step: str  # the transcript line as written
    expected: str
    received: str
    message: str
    precondition: bool = False  # failed while reaching the case's starting state, before its own steps


@dataclass
class CaseResult:
    outcome: str  # passed | failed
    reason: str = ""
    failure: StepFailure | None = None
    log: str = ""
    duration: float = 0.0


class _Fail(Exception):
    def __init__(self, failure: StepFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class _EndedSafely(Exception):
    """The server ended the connection where the case allows it (`! starttls-or-close`): a pass."""


@dataclass
class _Open:
    connection: Connection
    driver: Driver
    reader: Any
    protocol: str
    state: str
    account: str


@dataclass
class CaseRunner:
    case: Case
    target: Target
    step_timeout: float | None = None
    log: SessionLog = field(default_factory=SessionLog)
    hop: HopRecorder | None = None  # the capture next hop, for relay cases

    def __post_init__(self) -> None:
        self.variables: dict[str, str] = self.target.variables()
        self.variables["case"] = "c" + secrets.token_hex(5)  # per case run: its relay addresses are its own
        self._hop_message: HopMessage | None = None  # what the last `! hop-wait` found
        self._hop_cursor: dict[str, int] = {"H": 0, "D": 0}
        self.connections: dict[str, _Open] = {}
        self.current = DEFAULT_CONNECTION
        self.timeout = self.case.timeout or self.step_timeout or self.target.step_timeout
        self.tls_context = client_tls_context(self.target.ca_file, self.target.verify_tls)
        self._timeout_set = False  # a `! timeout` also sets how long <SILENT> listens
        self._pending_literal: bytes | None = None  # an IMAP literal awaiting its continuation
        self._corpus: dict[str, CorpusMessage] = {}  # built on first use, for `! send-corpus`

    def run(self) -> CaseResult:
        started = time.monotonic()
        try:
            self._open(
                DEFAULT_CONNECTION,
                self.case.protocol,
                self.case.state,
                self.case.account,
                line=self.case.line,
            )
            steps = self.case.steps
            for index, step in enumerate(steps):
                self._step(step, steps[index + 1 :])
        except _EndedSafely:
            pass  # nothing sent after the go-ahead can have been executed on a connection that ended
        except _Fail as failed:
            return CaseResult(
                "failed",
                failed.failure.message,
                failed.failure,
                self.log.render(),
                time.monotonic() - started,
            )
        finally:
            for opened in self.connections.values():
                opened.connection.close()
        return CaseResult("passed", "", None, self.log.render(), time.monotonic() - started)

    # -- connections ---------------------------------------------------------------------------

    def _open(self, name: str, protocol: str, state: str, account: str, line: int) -> None:
        endpoint = self.target.endpoints.get(protocol)
        if endpoint is None:
            self._fail(
                line,
                f"@{name}",
                f"a {protocol} endpoint",
                "none configured",
                f"the target has no {protocol} endpoint",
            )
        driver = make_driver(protocol)
        reader = driver.new_reader()
        try:
            connection = connect(self.target, endpoint, name, self.log, self.tls_context, self.timeout)
        except SessionError as exc:  # refused, or implicit TLS that failed its handshake
            self._fail(line, f"connect {name}", f"a {protocol} connection", str(exc), str(exc))
        self.connections[name] = _Open(connection, driver, reader, protocol, state, account)
        context = SetupContext(endpoint, self.target.accounts[account], self.target.client_name, self.timeout)
        try:
            driver.setup(connection, reader, state, context)
        except (SetupFailed, SessionError, ReplyFramingError) as exc:
            self._fail_precondition(
                line,
                f"state {state}",
                f"the server lets the harness reach state '{state}'",
                str(exc),
                f"precondition failed on connection {name}: {exc}",
            )
        self.log.note(name, f"state {state} reached" if state != "connected" else "connected")

    # -- steps ---------------------------------------------------------------------------------

    def _step(self, step: Step, following: tuple[Step, ...]) -> None:
        if isinstance(step, UseConnection):
            self._use(step)
            return
        if isinstance(step, HopExpect):
            self._hop_expect(step)
            return
        if isinstance(step, Directive) and step.verb in HOP_STEPS:
            self._hop_directive(step)
            return
        opened = self.connections[self.current]
        try:
            if isinstance(step, Send):
                self._send(opened, step, following)
            elif isinstance(step, LiteralData):
                pass  # sent together with the C: line that announced it
            elif isinstance(step, Expect):
                self._expect(opened, step)
            elif isinstance(step, ExpectClose):
                self._expect_close(opened, step)
            elif isinstance(step, ExpectSilence):
                self._expect_silence(opened, step)
            elif isinstance(step, Directive):
                self._directive(opened, step)
        except SessionError as exc:
            self._fail(step.line, _describe(step), _expected(step), f"<{type(exc).__name__}: {exc}>", str(exc))
        except ReplyFramingError as exc:
            self._fail(
                step.line,
                _describe(step),
                _expected(step),
                f"<unframeable reply: {exc}>",
                f"the reply cannot be framed: {exc}",
            )

    def _use(self, step: UseConnection) -> None:
        if step.name not in self.connections:
            main = self.connections[DEFAULT_CONNECTION]
            self._open(
                step.name,
                step.protocol or main.protocol,
                step.state or self.case.state,
                step.account or self.case.account,
                step.line,
            )
        self.current = step.name

    def _render(self, step: Send | LiteralData, text: str, raw: bool) -> bytes:
        try:
            return render(parse_text(text, raw=raw), self.variables)
        except TextError as exc:
            self._fail(step.line, _describe(step), "", "", str(exc))

    def _send(self, opened: _Open, step: Send, following: tuple[Step, ...]) -> None:
        data = self._render(step, step.text, step.raw)
        mark = LITERAL_MARK.search(step.text)
        if mark and not step.raw:
            literal = next(s for s in following if isinstance(s, LiteralData))
            payload = b"".join(self._render(literal, line, False) + b"\r\n" for line in literal.lines)
            data = data[: -len(mark.group())] + f"{{{len(payload)}{mark.group(1)}}}".encode()
            # RFC 3501 §7.5: the CRLF that terminates the command follows the octets of the literal.
            self._pending_literal = payload + b"\r\n"
        if not step.raw:
            data += b"\r\n"
        opened.driver.on_send(opened.reader, data)
        opened.connection.send(data)
        if mark and not step.raw and mark.group(1) == "+" and self._pending_literal is not None:
            opened.connection.send(self._pending_literal)  # RFC 7888: no continuation awaited
            self._pending_literal = None

    def _expect(self, opened: _Open, step: Expect) -> None:
        judgement = opened.driver.expect(
            opened.connection, opened.reader, step.patterns, step.body, self.variables, self.timeout
        )
        expected = "\n".join((*step.patterns, *("| " + b for b in (step.body or ()))))
        if step.negate:
            if judgement.mismatch is None:
                self._fail(
                    step.line,
                    _describe(step),
                    f"anything but: {expected}",
                    judgement.received,
                    "the reply matches what the RFC forbids here",
                )
            return
        if judgement.mismatch is not None:
            self._fail(step.line, _describe(step), expected, judgement.received, judgement.mismatch)
        self.variables.update(judgement.captures)
        if self._pending_literal is not None and judgement.received.startswith("+"):
            opened.connection.send(self._pending_literal)  # the continuation request came: send the literal
            self._pending_literal = None

    def _expect_close(self, opened: _Open, step: ExpectClose) -> None:
        leftover = opened.driver.buffered(opened.reader)
        received = leftover + opened.connection.wait_for_close(self.timeout)
        if received:
            self._fail(
                step.line,
                "S: <EOF>",
                "the server closes the connection",
                received.decode("utf-8", "replace"),
                "the server sent more before closing",
            )

    def _expect_silence(self, opened: _Open, step: ExpectSilence) -> None:
        leftover = opened.driver.buffered(opened.reader)
        wait = self.timeout if self._timeout_set else min(SILENCE_DEFAULT, self.timeout)
        received = leftover + opened.connection.read_silence(wait)
        if received:
            self._fail(
                step.line,
                "S: <SILENT>",
                "no reply (the server waits for more input)",
                received.decode("utf-8", "replace"),
                "the server replied where it must wait",
            )

    def _directive(self, opened: _Open, step: Directive) -> None:
        verb = step.verb
        if verb in ("starttls", "starttls-or-close"):
            leftover = opened.driver.buffered(opened.reader)
            if leftover:
                self._fail(
                    step.line,
                    "! " + verb,
                    "nothing after the go-ahead before the TLS handshake",
                    leftover.decode("utf-8", "replace"),
                    "the server sent plaintext after its TLS go-ahead (RFC 3207 §4.2)",
                )
            try:
                opened.connection.start_tls(self.timeout)
            except SessionError as exc:
                if verb == "starttls-or-close" and _server_ended_handshake(exc):
                    self.log.note(self.current, f"the server ended the connection instead of TLS ({exc}): allowed")
                    raise _EndedSafely from None
                raise
        elif verb == "close":
            opened.connection.close()
        elif verb == "reconnect":
            opened.connection.close()
            del self.connections[self.current]
            self._open(self.current, opened.protocol, opened.state, opened.account, step.line)
        elif verb == "sleep":
            time.sleep(float(step.args[0]))
        elif verb == "timeout":
            self.timeout = float(step.args[0])
            self._timeout_set = True
        elif verb == "deliver":
            self._deliver(step)
        elif verb == "send-corpus":
            self._send_corpus(opened, step)
        elif verb == "stored-intact":
            self._stored_intact(step)

    def _deliver(self, step: Directive) -> None:
        from harness.deliver import DeliveryFailed, deliver_messages

        account = step.args[0]
        count = int(step.args[1])
        size = int(step.args[2]) if len(step.args) > 2 else 200
        try:
            deliver_messages(self.target, account, count, size, self.log, self.timeout, self.tls_context)
        except DeliveryFailed as exc:
            # Setting up the mailbox is a precondition, like reaching the starting state:
            # a broken fixture delivery says nothing about the clause the case checks.
            self._fail_precondition(
                step.line,
                _describe(step),
                f"{count} messages delivered to {account}",
                str(exc),
                f"fixture delivery failed: {exc}",
            )

    # -- the MIME corpus ----------------------------------------------------------------------

    def _corpus_message(self, shape: str) -> CorpusMessage:
        """The corpus message as this target's accounts send it, tagged with the case run ($case) so
        the copy read back cannot be another case's."""
        message = self._corpus.get(shape)
        if message is None:
            alice, bob = self.target.accounts["alice"].address, self.target.accounts["bob"].address
            message = build_message(shape, self.target.domain, alice, bob, tag=self.variables["case"])
            self._corpus[shape] = message
        return message

    def _send_corpus(self, opened: _Open, step: Directive) -> None:
        """The message as mail data: dot-stuffed (RFC 5321 §4.5.2), then <CRLF>.<CRLF> (§4.1.1.4)."""
        message = self._corpus_message(step.args[0])
        data = stuff_dots(message.transmitted) + b".\r\n"
        opened.connection.send(data)

    def _stored_intact(self, step: Directive) -> None:
        from harness.retrieve import RetrievalFailed, find_message

        message = self._corpus_message(step.args[0])
        message_id = message.message_id
        role = "bob"  # every corpus message goes to $bob
        try:
            found = find_message(self.target, role, message_id, self.log, self.timeout, self.tls_context)
        except RetrievalFailed as exc:
            # Reading the mailbox is how the check sees the stored copy, not the clause it checks.
            self._fail_precondition(
                step.line, _describe(step), f"{role}'s maildrop read over POP3", str(exc), f"retrieval failed: {exc}"
            )
        if found is None:
            self._fail(
                step.line,
                _describe(step),
                f"a message with Message-ID {message_id} in {role}'s maildrop",
                f"none among the newest messages after {self.timeout:g} s",
                f"the message accepted with 250 is not in {role}'s maildrop",
            )
        verdict = compare_stored(found.data, message.transmitted)
        self.log.note(
            "retrieve",
            f"message {found.number} of {found.maildrop_size} is {message_id}; trace fields above it:"
            f" {', '.join(verdict.trace) or 'none'}",
        )
        if not verdict.intact:
            self._fail(step.line, _describe(step), verdict.expected, verdict.received, verdict.difference)

    # -- the capture next hop ------------------------------------------------------------------

    def _hop_directive(self, step: Directive) -> None:
        if self.hop is None:
            self._fail(step.line, _describe(step), "a capture next hop", "none", "the target has no capture next hop")
        addresses = [self._render_arg(step, text) for text in step.args[0].split("|")]
        shown = " or ".join(addresses)
        if step.verb == "hop-wait":
            timeout = float(step.args[1]) if len(step.args) > 1 else self.timeout  # the step timeout
            found = self.hop.wait_for(addresses, timeout)
            if found is None:
                self._fail(
                    step.line,
                    _describe(step),
                    f"a message for {shown} accepted by the next hop",
                    self.hop.describe(addresses),
                    f"no message for {shown} reached the next hop within {timeout:g} s",
                )
            self._hop_message = found
            self._hop_cursor = {"H": 0, "D": 0}
            self._log_hop(found)
            return
        found = self.hop.wait_for(addresses, float(step.args[1]))
        if found is not None:
            self._log_hop(found)
            self._fail(
                step.line,
                _describe(step),
                f"no message for {shown} at the next hop",
                self.hop.describe(addresses),
                f"a message for {shown} reached the next hop",
            )
        self.log.note("hop", f"nothing for {shown} reached the next hop in {float(step.args[1]):g} s")

    def _render_arg(self, step: Directive, text: str) -> str:
        try:
            return render(parse_text(text, raw=False), self.variables).decode("utf-8")
        except TextError as exc:
            self._fail(step.line, _describe(step), "", "", str(exc))

    def _hop_expect(self, step: HopExpect) -> None:
        message = self._hop_message
        assert message is not None  # the parser puts a `! hop-wait` before every H:/D: line
        judgement = judge_hop_line(
            message,
            step.kind,
            step.pattern,
            negate=step.negate,
            pipelined=step.pipelined,
            cursor=self._hop_cursor[step.kind],
            bound=self.variables,
        )
        if judgement.mismatch is not None:
            expected = ("anything but: " if step.negate else "") + step.pattern
            self._fail(step.line, _describe(step), expected, judgement.received, judgement.mismatch)
        self._hop_cursor[step.kind] = judgement.cursor
        self.variables.update(judgement.captures)

    def _log_hop(self, message: HopMessage) -> None:
        """The captured session in the case's log, so a report shows what the relay sent."""
        self.log.note(
            "hop",
            f"message accepted on the {message.listener} listener (session {message.session}, from {message.peer})"
            f" for {', '.join(message.recipients)}, reverse-path <{message.reverse_path}>",
        )
        for command in message.commands:
            if command.pipelined:
                self.log.note("hop", "pipelined: the next command arrived before the reply to the one before it")
            self.log.add("hop", "<<", command.text.encode() + b"\r\n")
        self.log.note("hop", "mail data as it arrived (dot-stuffed):")
        self.log.add("hop", "<<", message.wire)

    def _fail(self, line: int, step: str, expected: str, received: str, message: str) -> NoReturn:
        raise _Fail(StepFailure(line, step, expected, received, message))

    def _fail_precondition(self, line: int, step: str, expected: str, received: str, message: str) -> NoReturn:
        raise _Fail(StepFailure(line, step, expected, received, message, precondition=True))


def _server_ended_handshake(failure: SessionError) -> bool:
    """Did the handshake fail because the server closed the connection or aborted TLS with an alert?

    Not a timeout, not a certificate the harness rejects, and not plaintext where TLS records
    belong ("wrong version number"): a server answering pipelined plaintext fails the step.
    `Connection.start_tls` keeps the underlying error as the exception context.
    """
    cause = failure.__context__
    if isinstance(cause, ssl.SSLEOFError | ssl.SSLZeroReturnError | ConnectionError):
        return True
    return isinstance(cause, ssl.SSLError) and "ALERT" in str(cause.reason or "").upper()


def _describe(step: Step) -> str:
    if isinstance(step, Send):
        return ("B: " if step.raw else "C: ") + step.text
    if isinstance(step, Expect):
        return ("S!: " if step.negate else "S: ") + step.patterns[0]
    if isinstance(step, Directive):
        return "! " + " ".join((step.verb, *step.args))
    if isinstance(step, HopExpect):
        return f"{step.kind}{'!' if step.negate else ''}: {step.pattern}" + (" (pipelined)" if step.pipelined else "")
    if isinstance(step, ExpectClose):
        return "S: <EOF>"
    if isinstance(step, ExpectSilence):
        return "S: <SILENT>"
    return type(step).__name__


def _expected(step: Step) -> str:
    if isinstance(step, Expect):
        return "\n".join(step.patterns)
    return _describe(step)


def missing_endpoints(case: Case, target: Target) -> list[str]:
    """Protocols a case opens connections for (`@name pop3`) that the target does not serve.

    An SMTP case that retrieves what it delivered needs a POP3 or IMAP endpoint too; against
    an MTA alone it is skipped with that reason rather than failed.
    """
    used = {case.protocol} | {s.protocol for s in case.steps if isinstance(s, UseConnection) and s.protocol}
    if any(isinstance(s, Directive) and s.verb == "stored-intact" for s in case.steps):
        used.add("pop3")  # the stored copy is read back over POP3
    return sorted(p for p in used if p not in target.endpoints and p != case.protocol)


def needs_relay(case: Case) -> bool:
    """Does the case use the capture next hop (its steps, or the domains routed to it)?"""
    for step in case.steps:
        if isinstance(step, HopExpect) or (isinstance(step, Directive) and step.verb in HOP_STEPS):
            return True
        if isinstance(step, Send) and RELAY_VARIABLES & set(variables_used(parse_text(step.text, raw=step.raw))):
            return True
    return False


def missing_requirements(case: Case, capabilities: Mapping[str, frozenset[str]]) -> list[str]:
    """Capabilities a case requires that the target's endpoint does not advertise."""
    offered = capabilities.get(case.protocol, frozenset())
    return [need for need in case.requires if need.upper() not in offered]
