"""The POP3 load generator: both load shapes against a scripted server, STLS, loopback only. Not timed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pytest
import trustme

from benchmarks.pop3_load import (
    Credentials,
    Endpoint,
    LoadError,
    LoadResult,
    LoadSpec,
    Mode,
    NotLoopback,
    ProtocolError,
    Response,
    ResponseBuffer,
    main,
    parse_account,
    parse_drop_listing,
    parse_endpoint,
    parse_scan_listings,
    parse_status_line,
    run_load,
)
from benchmarks.run_pop3 import Measurement, Report, bench_accounts, bench_message, reference_config
from reference_server.config import parse_config_text

STUB_TIMEOUT = 5.0  # as long as the serve_stub fixture lets a stub session last (conftest.py)
PASSWORD = "bobpw"

# The maildrop every stub serves: message content as stored, CRLF line ends (RFC 1939 §11). Lines
# that start with the termination octet, one that is nothing but it, and one at the very start.
MAILDROP = (
    b"Subject: one\r\n\r\nplain text\r\n",
    b"Subject: two\r\n\r\n.\r\n..two dots\r\n.one dot\r\n",
    b".first line is a dot\r\nsecond\r\n",
    b"Subject: four\r\n\r\n" + b"x" * 70 + b"\r\n" + b".y\r\n" * 300,
    b"Subject: five\r\n\r\nend.\r\n",
)


def stuffed(content: bytes) -> bytes:
    """RFC 1939 §3: a line that begins with the termination octet gets one more in front."""
    lines = content.splitlines(keepends=True)
    return b"".join(b"." + line if line.startswith(b".") else line for line in lines)


# --- a scripted POP3 server --------------------------------------------------------------------


@dataclass
class StubPop3:
    """Just enough of RFC 1939 (and STLS, RFC 2595 §4) to serve a fixed maildrop to the load generator.

    It records what every session sent, so tests can check the command sequence. ``stuff=False``
    breaks the byte-stuffing rule and ``list_offset`` makes LIST lie about sizes: the two ways a
    server could send something other than the message it listed.
    """

    maildrop: tuple[bytes, ...] = MAILDROP
    stuff: bool = True
    list_offset: int = 0
    tls: ssl.SSLContext | None = None
    after_stls: bytes = b""
    close_on_retr: int | None = None
    port: int = 0
    sessions: list[list[bytes]] = field(default_factory=list)
    users: list[bytes] = field(default_factory=list)
    tls_sessions: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        commands: list[bytes] = []
        self.sessions.append(commands)
        authorized = False
        writer.write(b"+OK stub POP3 ready\r\n")
        while line := await reader.readline():
            verb, _, argument = line.rstrip(b"\r\n").partition(b" ")
            commands.append(verb.upper() + (b" " + argument if verb.upper() == b"RETR" else b""))
            reply, closing = await self._answer(verb.upper(), argument, authorized, writer)
            authorized = authorized or (verb.upper() == b"PASS" and reply.startswith(b"+OK"))
            writer.write(reply)
            if closing:
                break

    async def _answer(
        self, verb: bytes, argument: bytes, authorized: bool, writer: asyncio.StreamWriter
    ) -> tuple[bytes, bool]:
        if verb == b"STLS" and self.tls is not None and not authorized:
            writer.write(b"+OK begin TLS\r\n" + self.after_stls)
            await writer.drain()
            await writer.start_tls(self.tls)
            self.tls_sessions += 1
            return b"", False
        if verb == b"USER":
            self.users.append(argument)
            return b"+OK\r\n", False
        if verb == b"PASS":
            right = argument == PASSWORD.encode()
            return (b"+OK maildrop ready\r\n" if right else b"-ERR [AUTH] no\r\n"), False
        if verb == b"QUIT":
            return b"+OK bye\r\n", True
        if not authorized:
            return b"-ERR not in TRANSACTION state\r\n", False
        if verb == b"STAT":
            return b"+OK %d %d\r\n" % (len(self.maildrop), sum(map(len, self.maildrop))), False
        if verb == b"LIST":
            listings = b"".join(
                b"%d %d\r\n" % (number, len(content) + self.list_offset)
                for number, content in enumerate(self.maildrop, 1)
            )
            return b"+OK scan listings follow\r\n" + listings + b".\r\n", False
        if verb == b"RETR" and argument.isdigit() and 1 <= int(argument) <= len(self.maildrop):
            if self.close_on_retr is not None and len(self.sessions) <= self.close_on_retr:
                return b"+OK message follows\r\nSubject: cut", True  # the connection ends mid-message
            content = self.maildrop[int(argument) - 1]
            wire = stuffed(content) if self.stuff else content
            return b"+OK %d octets\r\n" % len(content) + wire + b".\r\n", False
        if verb == b"RETR":
            return b"-ERR no such message\r\n", False
        return b"-ERR unknown command\r\n", False


def spec_for(stub: StubPop3, **options: object) -> LoadSpec:
    endpoint = parse_endpoint(f"127.0.0.1:{stub.port}")
    password = str(options.pop("password", PASSWORD))
    credentials = Credentials("bob", password)
    return LoadSpec(endpoint=endpoint, credentials=credentials, **options)  # type: ignore[arg-type]


Serve = Callable[[StubPop3], contextlib.AbstractAsyncContextManager[StubPop3]]  # the serve_stub fixture


class RunAgainst(Protocol):
    """The run_against fixture: one load generator run against ``stub`` while it is served."""

    def __call__(self, stub: StubPop3, **options: object) -> LoadResult: ...


@pytest.fixture
def run_against(serve_stub: Serve) -> RunAgainst:
    def run(stub: StubPop3, **options: object) -> LoadResult:
        async def scenario() -> LoadResult:
            async with serve_stub(stub):
                return await run_load(spec_for(stub, **options))

        return asyncio.run(scenario())

    return run


# --- RETR mode ---------------------------------------------------------------------------------


def test_retr_mode_logs_in_once_per_connection_and_retrieves_random_messages(run_against: RunAgainst) -> None:
    stub = StubPop3()
    result = run_against(stub, mode="retr", connections=3, max_operations=60, max_seconds=30)
    assert (result.ops, result.failed, dict(result.errors)) == (60, 0, {})
    assert result.maildrop == len(MAILDROP) and len(result.latencies) == 60 and result.seconds > 0
    assert len(stub.sessions) == 3
    retrieved: list[int] = []
    for commands in stub.sessions:
        # RFC 1939: USER/PASS once, LIST once, then only RETRs, and a QUIT that deletes nothing
        assert commands[:3] == [b"USER", b"PASS", b"LIST"] and commands[-1] == b"QUIT"
        assert all(command.startswith(b"RETR ") for command in commands[3:-1])
        retrieved += [int(command.split()[1]) for command in commands[3:-1]]
    assert len(retrieved) == 60 and set(retrieved) <= set(range(1, len(MAILDROP) + 1))
    assert len(set(retrieved)) > 1  # random picks, not message 1 over and over
    assert result.octets == sum(len(MAILDROP[number - 1]) for number in retrieved)


def test_retr_mode_picks_the_same_messages_for_the_same_seed(run_against: RunAgainst) -> None:
    def picks(seed: int) -> list[list[bytes]]:
        stub = StubPop3()
        run_against(stub, mode="retr", connections=1, max_operations=30, seed=seed)
        return stub.sessions

    assert picks(7) == picks(7)
    assert picks(7) != picks(8)


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ({"stuff": False}, "RETR size differs from LIST"),  # RFC 1939 §3: the server must byte-stuff
        ({"list_offset": 1}, "RETR size differs from LIST"),  # RFC 1939 §5: LIST gives the exact size
    ],
)
def test_a_message_not_of_its_listed_size_counts_as_failed(
    fault: dict[str, object], reason: str, run_against: RunAgainst
) -> None:
    # Messages 2 and 3 have dot-started lines (message 4 too); an unstuffed message 2 would end
    # early at its lone "." line, so the maildrop is cut down to the ones that do not.
    stub = StubPop3(maildrop=(MAILDROP[0], MAILDROP[2]), **fault)  # type: ignore[arg-type]
    result = run_against(stub, mode="retr", connections=1, max_operations=20)
    assert result.failed >= 1 and result.ops + result.failed == 20
    assert all(key.startswith(reason) for key in result.errors)
    if fault.get("list_offset"):
        assert result.ops == 0


@pytest.mark.parametrize("mode", ["retr", "poll"])
def test_workers_take_the_accounts_in_turn(mode: str, run_against: RunAgainst) -> None:
    stub = StubPop3()
    more = (Credentials("carol", PASSWORD), Credentials("dave", PASSWORD))
    result = run_against(stub, mode=mode, connections=3, max_operations=9, more_accounts=more)
    assert (result.ops, result.failed) == (9, 0)
    assert set(stub.users) == {b"bob", b"carol", b"dave"}
    if mode == "retr":  # one login per connection; in poll mode every session logs in as its worker's account
        assert sorted(stub.users) == [b"bob", b"carol", b"dave"]


def test_retr_mode_refuses_to_start_when_login_fails(run_against: RunAgainst) -> None:
    with pytest.raises(LoadError, match=r"PASS -ERR \[AUTH\]"):
        run_against(StubPop3(), mode="retr", connections=2, password="wrong")


def test_retr_mode_refuses_an_empty_maildrop(run_against: RunAgainst) -> None:
    with pytest.raises(LoadError, match="empty"):
        run_against(StubPop3(maildrop=()), mode="retr", connections=2)


def test_retr_mode_reconnects_after_a_broken_connection(run_against: RunAgainst) -> None:
    stub = StubPop3(close_on_retr=1)  # the first session dies in its first RETR; later ones work
    result = run_against(stub, mode="retr", connections=1, max_operations=10)
    assert result.failed == 1 and result.ops == 9
    assert list(result.errors) == ["connection: ProtocolError"]
    assert len(stub.sessions) == 2


def test_stops_starting_operations_at_max_seconds(run_against: RunAgainst) -> None:
    result = run_against(StubPop3(), mode="retr", connections=2, max_operations=10**9, max_seconds=0.3)
    assert 0 < result.ops < 10**9 and result.seconds < STUB_TIMEOUT


# --- poll mode ---------------------------------------------------------------------------------


def test_poll_mode_runs_whole_sessions(run_against: RunAgainst) -> None:
    stub = StubPop3()
    result = run_against(stub, mode="poll", connections=3, max_operations=12)
    assert (result.ops, result.failed) == (12, 0)
    # RFC 1939 §10's sample session, minus DELE: every session the same, each a new connection
    assert stub.sessions == [[b"USER", b"PASS", b"STAT", b"LIST", b"RETR 1", b"QUIT"]] * 12
    assert result.octets == 12 * len(MAILDROP[0]) and result.maildrop == 0


def test_poll_mode_counts_refused_logins_as_failed(run_against: RunAgainst) -> None:
    result = run_against(StubPop3(), mode="poll", connections=2, max_operations=4, password="wrong")
    assert (result.ops, result.failed) == (0, 4)
    assert dict(result.errors) == {"PASS -ERR [AUTH] no": 4}


def test_poll_mode_counts_an_empty_maildrop_as_failed(run_against: RunAgainst) -> None:
    result = run_against(StubPop3(maildrop=()), mode="poll", connections=1, max_operations=2)
    assert (result.ops, result.failed) == (0, 2)


# --- STLS --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.mark.parametrize("mode", ["retr", "poll"])
def test_stls_negotiates_tls_before_the_login(
    ca: trustme.CA, tmp_path: Path, mode: str, run_against: RunAgainst
) -> None:
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    stub = StubPop3(tls=_server_tls(ca))
    result = run_against(stub, mode=mode, connections=2, max_operations=6, stls=True, cafile=str(cafile))
    assert (result.ops, result.failed) == (6, 0)
    assert stub.tls_sessions == len(stub.sessions) > 0
    assert all(commands[:3] == [b"STLS", b"USER", b"PASS"] for commands in stub.sessions)


def test_stls_with_the_wrong_ca_fails(tmp_path: Path, ca: trustme.CA, run_against: RunAgainst) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    with pytest.raises(LoadError, match="SSL"):
        run_against(StubPop3(tls=_server_tls(ca)), mode="retr", connections=1, stls=True, cafile=str(other))


def test_stls_refused_when_the_server_does_not_offer_it(run_against: RunAgainst) -> None:
    with pytest.raises(LoadError, match="STLS -ERR"):
        run_against(StubPop3(tls=None), mode="retr", connections=1, stls=True)


def test_data_injected_between_stls_and_the_handshake_is_refused(ca: trustme.CA, run_against: RunAgainst) -> None:
    # RFC 2595 §4: "A TLS negotiation begins immediately after the CRLF at the end of the +OK"
    stub = StubPop3(tls=_server_tls(ca), after_stls=b"+OK injected\r\n")
    with pytest.raises(LoadError, match="between STLS"):
        run_against(stub, mode="retr", connections=1, stls=True)


# --- command line --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["retr", "poll"])
def test_command_line_prints_the_documented_json(
    mode: str, capsys: pytest.CaptureFixture[str], serve_stub: Serve
) -> None:
    async def scenario() -> int:
        async with serve_stub(StubPop3()) as stub:
            arguments = ["--server", f"localhost:{stub.port}", "--user", "bob", "--password", PASSWORD]
            arguments += ["--mode", mode, "--connections", "2", "--operations", "8"]
            return await asyncio.to_thread(main, arguments)

    assert asyncio.run(scenario()) == 0
    summary = json.loads(capsys.readouterr().out)
    assert {"ops_per_s", "p50_ms", "p99_ms", "ops", "failed", "seconds", "mode", "errors"} <= summary.keys()
    assert (summary["ops"], summary["failed"], summary["mode"]) == (8, 0, mode)
    assert summary["ops_per_s"] > 0 and summary["p99_ms"] >= summary["p50_ms"] > 0


def test_command_line_exits_2_when_the_run_cannot_start(capsys: pytest.CaptureFixture[str], serve_stub: Serve) -> None:
    async def scenario() -> int:
        async with serve_stub(StubPop3()) as stub:
            arguments = ["--server", f"127.0.0.1:{stub.port}", "--user", "bob", "--password", "wrong"]
            return await asyncio.to_thread(main, arguments)

    assert asyncio.run(scenario()) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "PASS -ERR" in captured.err


# --- loopback only -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "server", ["192.0.2.1:110", "10.0.0.1:2110", "[2001:db8::1]:110", "pop.example.com:110", "0.0.0.0:110"]
)
def test_refuses_hosts_that_are_not_loopback(server: str) -> None:
    with pytest.raises(NotLoopback):
        parse_endpoint(server)


def test_refuses_a_hand_built_endpoint_that_is_not_loopback() -> None:
    with pytest.raises(NotLoopback):
        LoadSpec(endpoint=Endpoint("pop.example.com", "192.0.2.1", 110), credentials=Credentials("bob", "pw"))


def test_command_line_refuses_a_remote_host_before_connecting(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--server", "192.0.2.1:110", "--user", "bob", "--password", "pw"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "loopback" in captured.err


@pytest.mark.parametrize(
    ("user", "password"),
    [("bob\r\nDELE 1", "pw"), ("bob", "pw\r\nDELE 1"), ("", "pw"), ("b ob", "pw"), ("bob", "")],
)
def test_credentials_that_would_break_the_command_are_refused(user: str, password: str) -> None:
    with pytest.raises(ValueError):
        Credentials(user, password)


def test_parse_account() -> None:
    assert parse_account("carol:pw:with:colons") == Credentials("carol", "pw:with:colons")
    with pytest.raises(ValueError, match="USER:PASSWORD"):
        parse_account("carol")


def test_a_password_may_contain_spaces() -> None:
    # RFC 1939 §7, PASS: "a POP3 server may treat spaces in the argument as part of the password"
    assert Credentials("bob", "correct horse").password == "correct horse"


# --- pure parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"+OK", (True, b"")),  # Dovecot's bare "+OK" (RFC 1939 §3: "possibly followed by")
        (b"+OK 2 320", (True, b"2 320")),
        (b"-ERR no such message", (False, b"no such message")),
        (b"-ERR", (False, b"")),
        (
            b"-ERR [IN-USE] Do you have another POP session running?",
            (False, b"[IN-USE] Do you have another POP"),
        ),
    ],
)
def test_parse_status_line(line: bytes, expected: tuple[bool, bytes]) -> None:
    ok, text = parse_status_line(line)
    assert ok == expected[0] and text.startswith(expected[1])


@pytest.mark.parametrize("line", [b"+ok", b"-err no", b"+OKAY", b"* OK imap", b"220 smtp", b""])
def test_parse_status_line_refuses_other_lines(line: bytes) -> None:
    # RFC 1939 §3: "Servers MUST send the "+OK" and "-ERR" in upper case."
    with pytest.raises(ProtocolError):
        parse_status_line(line)


def _take_all(chunks: list[bytes], multiline: list[bool]) -> list[Response]:
    buffer = ResponseBuffer()
    responses: list[Response] = []
    wanted = iter(multiline)
    current = next(wanted)
    for chunk in chunks:
        buffer.feed(chunk)
        while (response := buffer.take(current)) is not None:
            responses.append(response)
            current = next(wanted, False)
    assert len(buffer) == 0
    return responses


# RFC 1939 §3 and §5: a RETR whose message has a lone-dot line and a dot-started line, an empty
# LIST, a -ERR to a multi-line command (single line), and a single-line +OK.
WIRE = b"".join(
    [
        b"+OK 120 octets\r\nSubject: x\r\n\r\n..\r\n..dot\r\nend\r\n.\r\n",
        b"+OK\r\n.\r\n",
        b"-ERR no such message\r\n",
        b"+OK bye\r\n",
    ]
)


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 7, len(WIRE)])
def test_response_buffer_cuts_responses_wherever_the_chunks_split(chunk_size: int) -> None:
    chunks = [WIRE[i : i + chunk_size] for i in range(0, len(WIRE), chunk_size)]
    retr, empty, refusal, bye = _take_all(chunks, [True, True, True, False])
    assert (retr.ok, retr.text) == (True, b"120 octets")
    assert retr.lines() == [b"Subject: x", b"", b".", b".dot", b"end"]
    assert retr.content_octets() == len(b"Subject: x\r\n\r\n.\r\n.dot\r\nend\r\n")
    assert (empty.ok, empty.body, empty.lines(), empty.content_octets()) == (True, b"", [], 0)
    assert (refusal.ok, refusal.body, refusal.reason("RETR")) == (False, None, "RETR -ERR no such message")
    assert (bye.ok, bye.text) == (True, b"bye")


def test_content_octets_counts_a_stuffed_first_line() -> None:
    response = Response(True, b"", stuffed(MAILDROP[2]))
    assert response.content_octets() == len(MAILDROP[2])
    assert response.lines() == MAILDROP[2].split(b"\r\n")[:-1]


def test_response_buffer_refuses_an_overlong_status_line() -> None:
    # RFC 2449 §4: the first line of a response is at most 512 octets, CRLF included
    buffer = ResponseBuffer()
    buffer.feed(b"+OK " + b"x" * 506 + b"\r\n")  # exactly 512
    assert buffer.take(False) is not None
    buffer.feed(b"+OK " + b"x" * 507 + b"\r\n")
    with pytest.raises(ProtocolError, match="512"):
        buffer.take(False)


def test_response_buffer_refuses_an_endless_response() -> None:
    buffer = ResponseBuffer(max_response_octets=1000)
    buffer.feed(b"+OK\r\n" + b"x" * 900)
    assert buffer.take(True) is None
    with pytest.raises(ProtocolError, match="1000"):
        buffer.feed(b"x" * 200)


def test_drop_and_scan_listings() -> None:
    assert parse_drop_listing(b"2 320") == (2, 320)  # RFC 1939 §5 STAT example
    assert parse_scan_listings([b"1 120", b"2 200"]) == {1: 120, 2: 200}  # RFC 1939 §5 LIST example
    for bad in (b"", b"two 320", b"2"):
        with pytest.raises(ProtocolError):
            parse_drop_listing(bad)
    with pytest.raises(ProtocolError):
        parse_scan_listings([b"1 120", b"x"])


# --- the side-by-side runner's pure parts --------------------------------------------------------


@pytest.mark.parametrize("octets", [600, 4096, 100 * 1024])
def test_bench_messages_have_the_exact_size_and_short_crlf_lines(octets: int) -> None:
    message = bench_message(12, octets)
    assert len(message) == octets and message.endswith(b"\r\n")
    lines = message.split(b"\r\n")[:-1]
    # RFC 5322 §2.1.1: at most 78 characters; CR and LF only together, as the line end
    assert all(len(line) <= 78 and b"\r" not in line and b"\n" not in line for line in lines)
    if octets >= 94 * 80:
        assert any(line.startswith(b".") for line in lines)  # something for the server to byte-stuff
    assert len(bench_message(999_999, octets)) == octets  # fixed-width numbering


def test_the_reference_config_gives_every_account_a_login_and_a_pop3_listener() -> None:
    accounts = bench_accounts(2)
    config = parse_config_text(reference_config(accounts), "<bench>")
    assert [account.login for account in config.accounts] == ["pop3bench01", "pop3bench02"]
    assert {listener.protocol for listener in config.listeners} == {"smtp", "pop3"}
    directory = config.directory()
    assert directory.authenticate("pop3bench02", "pop3bench02pw") is not None
    assert directory.authenticate("pop3bench02", "pop3bench01pw") is None


def _measured(server: str, mode: Mode, ops: int) -> Measurement:
    return Measurement(server, mode, 0, LoadResult(mode, 10, True, ops=ops, seconds=1.0))


def test_ratios_compare_median_rounds_against_the_issue_targets() -> None:
    report = Report(settings={}, machine={})
    for ops in (100, 900, 400):  # median 400
        report.measurements.append(_measured("dovecot", "retr", ops))
    for ops in (150, 250, 10):  # median 150: 0.375x, under the 0.5x RETR target
        report.measurements.append(_measured("reference", "retr", ops))
    report.measurements += [_measured("dovecot", "poll", 50), _measured("reference", "poll", 100)]  # 2x: met
    assert report.ratios() == {
        "retr": {"ratio": 0.38, "target": 0.5, "met": False},
        "poll": {"ratio": 2.0, "target": 2.0, "met": True},
    }
