"""CaseRunner against scripted loopback servers: verdicts, failures that name their step, no hangs.

Each test starts a ScriptedServer that behaves in one precise way (answers, stays silent,
closes, switches to TLS) and checks the runner's verdict and what it sent on the wire.
"""

from __future__ import annotations

import gc
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from harness.runner import CaseResult, CaseRunner, missing_requirements
from harness.targets import Target
from tests.harness.support import (
    Action,
    Close,
    Pause,
    Receive,
    ScriptedServer,
    Send,
    Snapshot,
    StartTls,
    free_port,
    loopback_target,
    one_case,
)

CLIENT = b"client.mailconform.test"  # Target.client_name: what the harness says in EHLO
SMTP_GREETED = (
    Send(b"220 mx.example.test ESMTP ready\r\n"),
    Receive(b"EHLO " + CLIENT + b"\r\n"),
    Send(b"250-mx.example.test greets you\r\n250-8BITMIME\r\n250 STARTTLS\r\n"),
)
POP3_GREETING = Send(b"+OK POP3 server ready\r\n")
IMAP_GREETING = Send(b"* OK IMAP4rev1 server ready\r\n")


def case_text(steps: str, *, protocol: str = "smtp", options: str = "") -> str:
    return (
        f"spec: RFC5321 §4.1.4 Order of Commands\nprotocol: {protocol}\n\n"
        f"== the-case MUST {options}\n~ what the case checks\n{steps}"
    )


def line_of(text: str, wanted: str, occurrence: int = 1) -> int:
    """1-based number of the `occurrence`-th line of `text` equal to `wanted`."""
    numbers = [n for n, line in enumerate(text.splitlines(), start=1) if line == wanted]
    return numbers[occurrence - 1]


def run(text: str, target: Target) -> CaseResult:
    return CaseRunner(one_case(text), target).run()


def smtp_target(server: ScriptedServer) -> Target:
    return loopback_target({"smtp": server.port})


# -- verdicts -------------------------------------------------------------------------------------


def test_matching_replies_pass_and_variables_are_substituted() -> None:
    text = case_text("C: MAIL FROM:<$alice>\nS: 250\nC: RCPT TO:<$bob>\nS: 2xx\n")
    script = (
        *SMTP_GREETED,
        Receive(b"MAIL FROM:<alice@example.test>\r\n"),
        Send(b"250 2.1.0 Ok\r\n"),
        Receive(b"RCPT TO:<bob@example.test>\r\n"),
        Send(b"251 2.1.5 Will forward\r\n"),
    )
    with ScriptedServer(script) as server:
        result = run(text, smtp_target(server))
    assert result.outcome == "passed", result.reason
    assert result.failure is None
    assert bytes(server.received[0]) == (
        b"EHLO " + CLIENT + b"\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\n"
    )
    assert "state greeted reached" in result.log


def test_wrong_code_fails_with_step_line_expected_and_received() -> None:
    text = case_text("C: NOOP\nS: 250\nC: MAIL FROM:<$alice>\nS: 503\n")
    script = (
        *SMTP_GREETED,
        Receive(b"NOOP\r\n"),
        Send(b"250 OK\r\n"),
        Receive(b"MAIL FROM:<alice@example.test>\r\n"),
        Send(b"250 2.1.0 Ok\r\n"),
    )
    with ScriptedServer(script) as server:
        result = run(text, smtp_target(server))
    assert result.outcome == "failed"
    failure = result.failure
    assert failure is not None
    assert failure.line == line_of(text, "S: 503")
    assert failure.step == "S: 503"
    assert failure.expected == "503"
    assert failure.received == "250 2.1.0 Ok"
    assert "250" in failure.message and "503" in failure.message
    assert result.reason == failure.message
    assert "MAIL FROM:<alice@example.test>" in result.log


def test_negated_expectation_fails_when_the_forbidden_reply_comes() -> None:
    text = case_text("C: NOOP\nS!: 5xx\nC: NOOP\nS!: 2xx\n")
    script = (*SMTP_GREETED, Receive(b"NOOP\r\n"), Send(b"250 OK\r\n"), Receive(b"NOOP\r\n"), Send(b"250 OK\r\n"))
    with ScriptedServer(script) as server:
        result = run(text, smtp_target(server))
    assert result.failure is not None
    assert result.failure.line == line_of(text, "S!: 2xx")
    assert result.failure.expected == "anything but: 2xx"
    assert result.failure.received == "250 OK"


def test_silent_server_fails_by_step_timeout_without_hanging() -> None:
    text = case_text("! timeout 0.5\nC: NOOP\nS: 250\n")
    with ScriptedServer((*SMTP_GREETED, Receive(b"NOOP\r\n"))) as server:
        started = time.monotonic()
        result = run(text, smtp_target(server))
        elapsed = time.monotonic() - started
    assert result.failure is not None
    assert result.failure.line == line_of(text, "S: 250")
    assert "within 0.5 s" in result.failure.message
    assert 0.5 <= elapsed < 4  # the target's own step timeout is 5 s


def test_server_closing_early_fails_naming_the_close() -> None:
    text = case_text("C: NOOP\nS: 250\n")
    with ScriptedServer((*SMTP_GREETED, Receive(b"NOOP\r\n"), Close())) as server:
        result = run(text, smtp_target(server))
    assert result.failure is not None
    assert result.failure.line == line_of(text, "S: 250")
    assert "closed" in result.failure.message
    assert "closed" in result.failure.received


def test_connection_reset_by_the_server_fails_the_step_and_leaks_no_socket() -> None:
    text = case_text("S: 220\nC: NOOP\nS: 250\n", options="state=connected")
    # closing with the client's NOOP unread makes the server's kernel answer with a reset
    with ScriptedServer((Send(b"220 hello\r\n"), Pause(0.3), Close())) as server:
        result = run(text, smtp_target(server))
    gc.collect()  # an unclosed socket would warn here, and warnings are errors in this project
    assert result.failure is not None
    assert result.failure.line == line_of(text, "S: 250")
    assert "reset" in result.failure.message or "closed" in result.failure.message


def test_unreachable_endpoint_fails_the_case_at_its_first_line() -> None:
    text = case_text("C: NOOP\nS: 250\n")
    result = run(text, loopback_target({"smtp": free_port()}))
    assert result.failure is not None
    assert result.failure.line == one_case(text).line
    assert "cannot connect" in result.failure.message


def test_refused_greeting_is_a_failed_precondition() -> None:
    text = case_text("C: NOOP\nS: 250\n")
    with ScriptedServer((Send(b"554 5.3.2 go away\r\n"),)) as server:
        result = run(text, smtp_target(server))
    assert result.failure is not None
    assert "precondition failed" in result.failure.message
    assert "554" in result.failure.received


def test_connection_to_a_protocol_the_target_lacks_fails() -> None:
    text = case_text("C: NOOP\nS: 250\n@box pop3\nC: STAT\nS: +OK\n")
    with ScriptedServer((*SMTP_GREETED, Receive(b"NOOP\r\n"), Send(b"250 OK\r\n"))) as server:
        result = run(text, smtp_target(server))
    assert result.failure is not None
    assert result.failure.line == line_of(text, "@box pop3")
    assert "no pop3 endpoint" in result.failure.message


# -- <EOF> and <SILENT> ---------------------------------------------------------------------------


def test_eof_passes_when_the_server_closes() -> None:
    text = case_text("C: QUIT\nS: 221\nS: <EOF>\n")
    with ScriptedServer((*SMTP_GREETED, Receive(b"QUIT\r\n"), Send(b"221 2.0.0 Bye\r\n"), Close())) as server:
        result = run(text, smtp_target(server))
    assert result.outcome == "passed", result.reason


def test_eof_fails_when_more_arrives_before_the_close() -> None:
    text = case_text("C: QUIT\nS: 221\nS: <EOF>\n")
    script = (*SMTP_GREETED, Receive(b"QUIT\r\n"), Send(b"221 Bye\r\n250 one more thing\r\n"), Close())
    with ScriptedServer(script) as server:
        result = run(text, smtp_target(server))
    assert result.failure is not None
    assert result.failure.line == line_of(text, "S: <EOF>")
    assert "sent more before closing" in result.failure.message
    assert "250 one more thing" in result.failure.received


def test_eof_fails_when_the_server_keeps_the_connection_open() -> None:
    text = case_text("! timeout 0.3\nC: QUIT\nS: 221\nS: <EOF>\n")
    with ScriptedServer((*SMTP_GREETED, Receive(b"QUIT\r\n"), Send(b"221 Bye\r\n"))) as server:
        result = run(text, smtp_target(server))
    assert result.failure is not None
    assert result.failure.line == line_of(text, "S: <EOF>")
    assert "did not close" in result.failure.message


def test_silent_passes_while_the_server_waits_for_more_input() -> None:
    text = case_text("C: DATA\nS: 354\nB: Subject: unfinished\\r\\n\nS: <SILENT>\n")
    script = (*SMTP_GREETED, Receive(b"DATA\r\n"), Send(b"354 go on\r\n"), Receive(b"unfinished\r\n"))
    with ScriptedServer(script) as server:
        started = time.monotonic()
        result = run(text, smtp_target(server))
        elapsed = time.monotonic() - started
    assert result.outcome == "passed", result.reason
    assert 1.0 <= elapsed < 4  # README: 1 s unless `! timeout` says otherwise (the step timeout is 5 s)


def test_silent_listens_for_the_timeout_set_by_the_directive() -> None:
    text = case_text("! timeout 0.1\nC: NOOP\nS: <SILENT>\n")
    with ScriptedServer((*SMTP_GREETED, Receive(b"NOOP\r\n"))) as server:
        started = time.monotonic()
        result = run(text, smtp_target(server))
        elapsed = time.monotonic() - started
    assert result.outcome == "passed", result.reason
    assert elapsed < 0.9


def test_silent_fails_when_the_server_replies() -> None:
    text = case_text("! timeout 0.5\nC: NOOP\nS: <SILENT>\n")
    with ScriptedServer((*SMTP_GREETED, Receive(b"NOOP\r\n"), Send(b"250 OK\r\n"))) as server:
        result = run(text, smtp_target(server))
    assert result.failure is not None
    assert result.failure.line == line_of(text, "S: <SILENT>")
    assert "replied where it must wait" in result.failure.message
    assert result.failure.received.startswith("250 OK")


# -- STARTTLS -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ssl.SSLContext, str]]:
    """A server context with a certificate for "localhost" and the file of the CA that signed it."""
    authority = trustme.CA()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert("localhost").configure_cert(server_context)
    ca_file = Path(tmp_path_factory.mktemp("tls")) / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    yield server_context, str(ca_file)


def test_starttls_handshake_then_commands_go_over_tls(tls: tuple[ssl.SSLContext, str]) -> None:
    context, ca_file = tls
    text = case_text("C: STARTTLS\nS: 220\n! starttls\nC: EHLO $client\nS: 250\n")
    script = (
        *SMTP_GREETED,
        Receive(b"STARTTLS\r\n"),
        Send(b"220 2.0.0 go ahead\r\n"),
        StartTls(context),
        Receive(b"EHLO " + CLIENT + b"\r\n"),
        Send(b"250-mx.example.test\r\n250 AUTH PLAIN\r\n"),
    )
    with ScriptedServer(script) as server:
        target = loopback_target({"smtp": server.port}, ca_file=ca_file, server_name="localhost")
        result = run(text, target)
    assert result.outcome == "passed", result.reason
    assert "TLS established" in result.log
    assert server.errors == []
    # the EHLO after the handshake reached the server through TLS, as the only octets after STARTTLS
    assert bytes(server.received[0]).endswith(b"STARTTLS\r\nEHLO " + CLIENT + b"\r\n")


def test_plaintext_after_the_go_ahead_fails_the_starttls_step(tls: tuple[ssl.SSLContext, str]) -> None:
    _, ca_file = tls
    text = case_text("C: STARTTLS\nS: 220\n! starttls\nC: EHLO $client\nS: 250\n")
    script = (*SMTP_GREETED, Receive(b"STARTTLS\r\n"), Send(b"220 go ahead\r\n250 injected\r\n"))
    with ScriptedServer(script) as server:
        target = loopback_target({"smtp": server.port}, ca_file=ca_file, server_name="localhost")
        result = run(text, target)
    assert result.failure is not None
    assert result.failure.line == line_of(text, "! starttls")
    assert "plaintext after its TLS go-ahead" in result.failure.message
    assert "250 injected" in result.failure.received


def test_plaintext_arriving_during_the_handshake_fails_it(tls: tuple[ssl.SSLContext, str]) -> None:
    _, ca_file = tls
    text = case_text("C: STARTTLS\nS: 220\n! starttls\nC: EHLO $client\nS: 250\n")
    script = (
        *SMTP_GREETED,
        Receive(b"STARTTLS\r\n"),
        Send(b"220 go ahead\r\n"),
        Pause(0.2),
        Send(b"250 not TLS at all\r\n"),
    )
    with ScriptedServer(script) as server:
        target = loopback_target({"smtp": server.port}, ca_file=ca_file, server_name="localhost")
        result = run(text, target)
    assert result.failure is not None
    assert result.failure.line == line_of(text, "! starttls")
    assert "TLS handshake failed" in result.failure.message


def test_starttls_or_close_passes_when_the_server_closes_instead(tls: tuple[ssl.SSLContext, str]) -> None:
    """The server ends the connection after its go-ahead: nothing later can have run, the case passes."""
    _, ca_file = tls
    text = case_text("B: STLS\\r\\nUSER x\\r\\n\nS: +OK\n! starttls-or-close\nC: PASS y\nS: -ERR\n", protocol="pop3")
    script = (POP3_GREETING, Receive(b"USER x\r\n"), Send(b"+OK begin TLS\r\n"), Close())
    with ScriptedServer(script) as server:
        target = loopback_target({"pop3": server.port}, ca_file=ca_file, server_name="localhost")
        result = run(text, target)
    assert result.outcome == "passed", result.reason
    assert "instead of TLS" in result.log


def test_plain_starttls_fails_when_the_server_closes(tls: tuple[ssl.SSLContext, str]) -> None:
    _, ca_file = tls
    text = case_text("B: STLS\\r\\nUSER x\\r\\n\nS: +OK\n! starttls\nC: PASS y\nS: -ERR\n", protocol="pop3")
    script = (POP3_GREETING, Receive(b"USER x\r\n"), Send(b"+OK begin TLS\r\n"), Close())
    with ScriptedServer(script) as server:
        target = loopback_target({"pop3": server.port}, ca_file=ca_file, server_name="localhost")
        result = run(text, target)
    assert result.failure is not None
    assert result.failure.line == line_of(text, "! starttls")


def test_starttls_or_close_still_fails_on_plaintext_during_the_handshake(tls: tuple[ssl.SSLContext, str]) -> None:
    """A server answering the pipelined plaintext did not close: that is what the case must catch."""
    _, ca_file = tls
    text = case_text("B: STLS\\r\\nUSER x\\r\\n\nS: +OK\n! starttls-or-close\nC: PASS y\nS: -ERR\n", protocol="pop3")
    script = (POP3_GREETING, Receive(b"USER x\r\n"), Send(b"+OK begin TLS\r\n"), Pause(0.2), Send(b"+OK x\r\n"))
    with ScriptedServer(script) as server:
        target = loopback_target({"pop3": server.port}, ca_file=ca_file, server_name="localhost")
        result = run(text, target)
    assert result.failure is not None
    assert result.failure.line == line_of(text, "! starttls-or-close")


def test_starttls_or_close_handshakes_when_the_server_speaks_tls(tls: tuple[ssl.SSLContext, str]) -> None:
    context, ca_file = tls
    text = case_text("C: STLS\nS: +OK\n! starttls-or-close\nC: NOOP\nS: +OK\n", protocol="pop3")
    script = (
        POP3_GREETING,
        Receive(b"STLS\r\n"),
        Send(b"+OK begin TLS\r\n"),
        StartTls(context),
        Receive(b"NOOP\r\n"),
        Send(b"+OK\r\n"),
    )
    with ScriptedServer(script) as server:
        target = loopback_target({"pop3": server.port}, ca_file=ca_file, server_name="localhost")
        result = run(text, target)
    assert result.outcome == "passed", result.reason
    assert "TLS established" in result.log


def test_implicit_tls_endpoint_speaking_plaintext_fails_the_case(tls: tuple[ssl.SSLContext, str]) -> None:
    _, ca_file = tls
    text = case_text("C: NOOP\nS: 250\n")
    with ScriptedServer((Send(b"220 plaintext greeting where TLS was promised\r\n"),)) as server:
        target = loopback_target({"smtp": server.port}, tls="implicit", ca_file=ca_file, server_name="localhost")
        result = run(text, target)
    assert result.outcome == "failed"
    assert result.failure is not None
    assert "TLS handshake failed" in result.failure.message


# -- connections ----------------------------------------------------------------------------------


def test_steps_after_at_name_run_on_that_connection() -> None:
    text = case_text("C: MAIL FROM:<$alice>\nS: 250\n@second\nC: NOOP\nS: 250\n@main\nC: RSET\nS: 250\n")
    main = (
        *SMTP_GREETED,
        Receive(b"MAIL FROM:<alice@example.test>\r\n"),
        Send(b"250 Ok\r\n"),
        Receive(b"RSET\r\n"),
        Send(b"250 Ok\r\n"),
    )
    second = (*SMTP_GREETED, Receive(b"NOOP\r\n"), Send(b"250 Ok\r\n"))
    with ScriptedServer(main, second) as server:
        result = run(text, smtp_target(server))
    assert result.outcome == "passed", result.reason
    assert bytes(server.received[0]) == b"EHLO " + CLIENT + b"\r\nMAIL FROM:<alice@example.test>\r\nRSET\r\n"
    assert bytes(server.received[1]) == b"EHLO " + CLIENT + b"\r\nNOOP\r\n"
    assert " second >> " in result.log


def test_connection_of_another_protocol_starts_in_the_state_asked_for() -> None:
    text = case_text("C: NOOP\nS: 250\n@box pop3 state=authenticated as=bob\nC: STAT\nS: +OK 0 0\n")
    smtp = (*SMTP_GREETED, Receive(b"NOOP\r\n"), Send(b"250 Ok\r\n"))
    pop3 = (
        POP3_GREETING,
        Receive(b"USER bob\r\n"),
        Send(b"+OK\r\n"),
        Receive(b"PASS bob-secret\r\n"),
        Send(b"+OK maildrop locked\r\n"),
        Receive(b"STAT\r\n"),
        Send(b"+OK 0 0\r\n"),
    )
    with ScriptedServer(smtp) as smtp_server, ScriptedServer(pop3) as pop3_server:
        target = loopback_target({"smtp": smtp_server.port, "pop3": pop3_server.port})
        result = run(text, target)
    assert result.outcome == "passed", result.reason


def test_reconnect_opens_a_fresh_connection_in_the_starting_state() -> None:
    text = case_text("C: NOOP\nS: 250\n! reconnect\nC: NOOP\nS: 250\n")
    script = (*SMTP_GREETED, Receive(b"NOOP\r\n"), Send(b"250 Ok\r\n"))
    with ScriptedServer(script, script) as server:
        result = run(text, smtp_target(server))
    assert result.outcome == "passed", result.reason
    assert bytes(server.received[1]) == b"EHLO " + CLIENT + b"\r\nNOOP\r\n"


def test_deliver_puts_messages_in_the_mailbox_through_smtp() -> None:
    text = case_text("! deliver bob 2\nC: NOOP\nS: 250\n")
    main = (*SMTP_GREETED, Receive(b"NOOP\r\n"), Send(b"250 Ok\r\n"))
    fixture: list[Action] = [*SMTP_GREETED]
    for _ in range(2):
        fixture += [Receive(b"MAIL FROM:<alice@example.test>\r\n"), Send(b"250 Ok\r\n")]
        fixture += [Receive(b"RCPT TO:<bob@example.test>\r\n"), Send(b"250 Ok\r\n")]
        fixture += [Receive(b"DATA\r\n"), Send(b"354 go on\r\n"), Receive(b"\r\n.\r\n"), Send(b"250 queued\r\n")]
    with ScriptedServer(main, fixture) as server:
        result = run(text, smtp_target(server))
    assert result.outcome == "passed", result.reason
    delivered = bytes(server.received[1])
    assert delivered.count(b"RCPT TO:<bob@example.test>\r\n") == 2
    assert b"run42" in delivered  # fixture messages carry the run id


# -- POP3 captures, IMAP groups and literals ------------------------------------------------------


def pop3_uidl_script(second_uid: bytes) -> tuple[Send | Receive, ...]:
    """RFC 1939 §7 UIDL example, reached through STAT and LIST."""
    return (
        POP3_GREETING,
        Receive(b"STAT\r\n"),
        Send(b"+OK 2 320\r\n"),
        Receive(b"LIST 2\r\n"),
        Send(b"+OK 2 200\r\n"),
        Receive(b"UIDL 2\r\n"),
        Send(b"+OK 2 QhdPYR:00WBw1Ph7x7\r\n"),
        Receive(b"UIDL\r\n"),
        Send(b"+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 " + second_uid + b"\r\n.\r\n"),
    )


POP3_CAPTURES = "C: STAT\nS: +OK $count $size\nC: LIST $count\nS: +OK $count *\nC: UIDL $count\nS: +OK $count $uid\n"
POP3_CAPTURES += "C: UIDL\nS: +OK\nS| ...\nS| $count $uid\n"


def test_pop3_captures_feed_later_commands_and_must_match_again() -> None:
    text = case_text(POP3_CAPTURES, protocol="pop3")
    with ScriptedServer(pop3_uidl_script(b"QhdPYR:00WBw1Ph7x7")) as server:
        result = run(text, loopback_target({"pop3": server.port}))
    assert result.outcome == "passed", result.reason
    assert b"LIST 2\r\n" in server.received[0]
    assert b"UIDL 2\r\n" in server.received[0]


def test_pop3_capture_that_changes_fails_the_body_match() -> None:
    text = case_text(POP3_CAPTURES, protocol="pop3")
    with ScriptedServer(pop3_uidl_script(b"another-uid")) as server:
        result = run(text, loopback_target({"pop3": server.port}))
    assert result.failure is not None
    assert result.failure.line == line_of(text, "S: +OK")
    assert "body does not match" in result.failure.message
    assert "| $count $uid" in result.failure.expected


def test_imap_group_takes_untagged_responses_in_any_order_up_to_the_tag() -> None:
    text = case_text("C: a1 SELECT INBOX\nS: * 2 EXISTS\nS: * FLAGS (*)\nS: a1 OK *\n", protocol="imap")
    script = (
        IMAP_GREETING,
        Receive(b"a1 SELECT INBOX\r\n"),
        Send(b"* FLAGS (\\Seen \\Deleted)\r\n* 0 RECENT\r\n* 2 EXISTS\r\n"),
        Pause(0.1),
        Send(b"a1 OK [READ-WRITE] SELECT completed\r\n"),
    )
    with ScriptedServer(script) as server:
        result = run(text, loopback_target({"imap": server.port}))
    assert result.outcome == "passed", result.reason


def test_imap_synchronising_literal_waits_for_the_continuation() -> None:
    text = case_text(
        "S: * OK *\nC: a1 APPEND INBOX {}\nL: Subject: hello\nL:\nL: hi\nS: + *\nS: a1 OK *\n",
        protocol="imap",
        options="state=connected",
    )
    literal = b"Subject: hello\r\n\r\nhi\r\n"  # each L: line ends in CRLF
    command = b"a1 APPEND INBOX {%d}\r\n" % len(literal)
    script = (
        IMAP_GREETING,
        Receive(b"}\r\n"),
        Pause(0.2),
        Snapshot(),
        Send(b"+ Ready for literal data\r\n"),
        Receive(b"hi\r\n\r\n"),  # RFC 3501 §7.5: the CRLF ending the command follows the literal
        Send(b"a1 OK APPEND completed\r\n"),
    )
    with ScriptedServer(script) as server:
        result = run(text, loopback_target({"imap": server.port}))
    assert result.outcome == "passed", result.reason
    assert server.snapshots[0] == [command]  # nothing of the literal before the "+"
    assert bytes(server.received[0]) == command + literal + b"\r\n"


def test_imap_non_synchronising_literal_is_sent_at_once() -> None:
    text = case_text(
        "S: * OK *\nC: a1 APPEND INBOX {}+\nL: hi\nS: a1 OK *\n", protocol="imap", options="state=connected"
    )
    wire = b"a1 APPEND INBOX {4+}\r\nhi\r\n\r\n"  # RFC 7888 §3: no continuation is awaited
    script = (IMAP_GREETING, Receive(wire), Send(b"a1 OK APPEND completed\r\n"))
    with ScriptedServer(script) as server:
        result = run(text, loopback_target({"imap": server.port}))
    assert result.outcome == "passed", result.reason
    assert bytes(server.received[0]) == wire


def test_unframeable_reply_fails_the_step() -> None:
    text = case_text("C: NOOP\nS: 250\n")
    with ScriptedServer((*SMTP_GREETED, Receive(b"NOOP\r\n"), Send(b"hello there\r\n"))) as server:
        result = run(text, smtp_target(server))
    assert result.failure is not None
    assert result.failure.line == line_of(text, "S: 250")
    assert "cannot be framed" in result.failure.message


# -- requirements ---------------------------------------------------------------------------------


def test_missing_requirements_lists_what_the_endpoint_does_not_advertise() -> None:
    case = one_case(case_text("C: NOOP\nS: 250\n", options="requires=PIPELINING,chunking"))
    assert missing_requirements(case, {"smtp": frozenset({"PIPELINING", "8BITMIME"})}) == ["chunking"]
    assert missing_requirements(case, {"smtp": frozenset({"PIPELINING", "CHUNKING"})}) == []
    assert missing_requirements(case, {}) == ["PIPELINING", "chunking"]
