"""The SMTP load generator: it delivers, it pipelines by RFC 2920, it stays on loopback. Not timed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from benchmarks.smtp_load import (
    END_OF_DATA,
    Endpoint,
    LoadSpec,
    MessageFactory,
    NotLoopback,
    ProtocolError,
    body_lines,
    dot_stuff,
    latency_summary,
    main,
    parse_endpoint,
    parse_octets,
    parse_reply_line,
    percentile,
    read_reply,
    run_load,
)
from tests.harness.support import stop_child

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 20.0
STUB_TIMEOUT = 5.0  # as long as the serve_stub fixture lets a stub session last (conftest.py)


# --- the durable aiosmtpd baseline, as a child process on a free port -----------------------


@dataclass(frozen=True)
class Baseline:
    port: int
    maildir: Path


@pytest.fixture
def baseline(tmp_path: Path) -> Iterator[Baseline]:
    ready = tmp_path / "ready.json"
    maildir = tmp_path / "Maildir"
    command = [sys.executable, "-m", "benchmarks.aiosmtpd_durable", "--port", "0", "--maildir", str(maildir)]
    command += ["--ready-file", str(ready), "--max-seconds", "120"]
    with (tmp_path / "server.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not ready.exists():
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "aiosmtpd-durable did not start"
            time.sleep(0.05)
        yield Baseline(json.loads(ready.read_text())["listeners"]["smtp"]["port"], maildir)
    finally:
        stop_child(process, grace=10)


@pytest.mark.parametrize("pipelining", [False, True], ids=["lockstep", "pipelining-asked"])
def test_delivers_every_message_into_the_maildir(baseline: Baseline, pipelining: bool) -> None:
    size = 4096
    spec = LoadSpec(
        endpoint=parse_endpoint(f"127.0.0.1:{baseline.port}"),
        connections=3,
        messages=25,
        size=size,
        pipelining=pipelining,
        max_seconds=30,
    )
    result = asyncio.run(run_load(spec))
    assert (result.sent, result.failed) == (25, 0)
    assert not result.pipelined  # aiosmtpd does not offer PIPELINING: RFC 2920 §3.1 says wait for it
    assert len(result.latencies) == 25 and result.seconds > 0
    stored = sorted((baseline.maildir / "new").iterdir())
    assert len(stored) == 25
    assert list((baseline.maildir / "tmp").iterdir()) == []
    for path in stored:
        content = path.read_bytes()
        # RFC 5321 §4.5.2: the receiver deletes the doubled dot, so the stored message is the one
        # that was composed, with its exact size; some of its lines do start with a period.
        assert len(content) == size
        assert b"\r\n." in content and b"\r\n.." not in content
        assert content.endswith(b"\r\n") and not content.endswith(b"\r\n.\r\n")
    headers = [path.read_bytes().split(b"\r\n\r\n")[0].split(b"\r\n") for path in stored]
    assert len({line for lines in headers for line in lines if line.startswith(b"Message-ID:")}) == 25


def test_summary_has_the_documented_keys(baseline: Baseline) -> None:
    endpoint = parse_endpoint(f"localhost:{baseline.port}")
    spec = LoadSpec(endpoint=endpoint, connections=2, messages=4, size=1024)
    summary = asyncio.run(run_load(spec)).summary()
    assert {"msgs_per_s", "p50_ms", "p99_ms", "sent", "failed", "seconds"} <= summary.keys()
    assert summary["sent"] == 4 and summary["failed"] == 0


# --- loopback only ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "server", ["192.0.2.1:25", "10.0.0.1:2525", "[2001:db8::1]:25", "example.com:25", "0.0.0.0:25", "[::]:25"]
)
def test_refuses_hosts_that_are_not_loopback(server: str) -> None:
    with pytest.raises(NotLoopback):
        parse_endpoint(server)


def test_refuses_a_hand_built_endpoint_that_is_not_loopback() -> None:
    with pytest.raises(NotLoopback):
        LoadSpec(endpoint=Endpoint("mx.example.com", "192.0.2.1", 25))


def test_command_line_refuses_a_remote_host(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--server", "192.0.2.1:25", "--messages", "1"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "loopback" in captured.err


@pytest.mark.parametrize(
    ("server", "address", "port"),
    [
        ("127.0.0.1:2525", "127.0.0.1", 2525),
        ("127.8.9.10:25", "127.8.9.10", 25),
        ("[::1]:587", "::1", 587),
        ("localhost:2525", "127.0.0.1", 2525),
        ("LocalHost:2525", "127.0.0.1", 2525),
    ],
)
def test_accepts_loopback(server: str, address: str, port: int) -> None:
    endpoint = parse_endpoint(server)
    assert (endpoint.address, endpoint.port) == (address, port)


@pytest.mark.parametrize("server", ["127.0.0.1", "127.0.0.1:", ":25", "127.0.0.1:0", "::1:65536", "1:x"])
def test_rejects_malformed_server_arguments(server: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_endpoint(server)


# --- pipelining and refusals against a scripted server ----------------------------------------


@dataclass
class StubServer:
    """A scripted SMTP server that offers PIPELINING and answers MAIL only once DATA has arrived.

    A client that waits for the MAIL reply before sending RCPT never gets one: so a delivery
    through this server proves the group went out without waiting (RFC 2920 §3.1).
    """

    rcpt_code: int = 250
    port: int = 0
    messages: list[bytes] = field(default_factory=list)
    groups: list[list[bytes]] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A client that waits for each reply stalls in MAIL until the session times out; its test
        sees nothing delivered."""
        writer.write(b"220 stub ESMTP\r\n")
        while line := await reader.readline():
            verb = line[:4].upper()
            if verb == b"EHLO":
                writer.write(b"250-stub\r\n250-PIPELINING\r\n250 SIZE 1000000\r\n")
            elif verb == b"MAIL":
                group = [line, await reader.readline(), await reader.readline()]
                self.groups.append(group)
                writer.write(b"250 2.1.0 ok\r\n")
                writer.write(b"%d rcpt\r\n" % self.rcpt_code)
                writer.write(b"354 go ahead\r\n")
                self.messages.append(await self._read_data(reader))
                writer.write(b"250 2.0.0 queued\r\n")
            elif verb == b"RSET":
                writer.write(b"250 ok\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                break
            else:
                writer.write(b"502 5.5.1 not here\r\n")

    @staticmethod
    async def _read_data(reader: asyncio.StreamReader) -> bytes:
        lines = []
        while (line := await reader.readline()) != END_OF_DATA:
            if not line:
                raise ConnectionError("closed inside DATA")
            lines.append(line[1:] if line.startswith(b".") else line)
        return b"".join(lines)


Serve = Callable[[StubServer], contextlib.AbstractAsyncContextManager[StubServer]]  # the serve_stub fixture


def test_pipelining_sends_mail_rcpt_data_as_one_group(serve_stub: Serve) -> None:
    async def scenario() -> tuple[StubServer, int, int, bool]:
        async with serve_stub(StubServer()) as stub:
            endpoint = parse_endpoint(f"127.0.0.1:{stub.port}")
            spec = LoadSpec(endpoint=endpoint, connections=2, messages=6, size=2000, pipelining=True)
            result = await run_load(spec)
            return stub, result.sent, result.failed, result.pipelined

    stub, sent, failed, pipelined = asyncio.run(scenario())
    assert (sent, failed, pipelined) == (6, 0, True)
    for mail, rcpt, data in stub.groups:
        assert mail.startswith(b"MAIL FROM:<") and b" SIZE=2000" in mail  # RFC 1870 §6, as offered
        assert rcpt.startswith(b"RCPT TO:<") and data == b"DATA\r\n"
    assert [len(message) for message in stub.messages] == [2000] * 6


def test_refused_recipient_counts_as_failed_and_sends_a_lone_dot(serve_stub: Serve) -> None:
    """RFC 2920 §3.1: DATA accepted after every RCPT failed -> "send a single dot"."""

    async def scenario() -> tuple[StubServer, int, int, dict[str, int]]:
        async with serve_stub(StubServer(rcpt_code=550)) as stub:
            endpoint = parse_endpoint(f"127.0.0.1:{stub.port}")
            spec = LoadSpec(endpoint=endpoint, connections=1, messages=3, size=1024, pipelining=True)
            result = await run_load(spec)
            return stub, result.sent, result.failed, dict(result.errors)

    stub, sent, failed, errors = asyncio.run(scenario())
    assert (sent, failed) == (0, 3)
    assert errors == {"RCPT 550": 3}
    assert stub.messages == [b""] * 3  # the empty message a lone dot ends


def test_stops_starting_messages_at_max_seconds(serve_stub: Serve) -> None:
    async def scenario() -> tuple[int, float]:
        async with serve_stub(StubServer()) as stub:
            endpoint = parse_endpoint(f"127.0.0.1:{stub.port}")
            spec = LoadSpec(
                endpoint=endpoint, connections=2, messages=10**9, size=512, pipelining=True, max_seconds=0.3
            )
            began = time.monotonic()
            result = await run_load(spec)
            return result.sent, time.monotonic() - began

    sent, elapsed = asyncio.run(scenario())
    assert 0 < sent < 10**9
    assert elapsed < STUB_TIMEOUT


# --- pure parts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [  # RFC 5321 §4.2.1 and its example of a multiline reply
        (b"250-First line\r\n", (250, False, b"First line")),
        (b"250-234 Text beginning with numbers\r\n", (250, False, b"234 Text beginning with numbers")),
        (b"250 The last line\r\n", (250, True, b"The last line")),
        (b"354\r\n", (354, True, b"")),  # "clients MUST be prepared for it to be omitted"
        (b"550 5.1.1 no\n", (550, True, b"5.1.1 no")),
    ],
)
def test_parse_reply_line(line: bytes, expected: tuple[int, bool, bytes]) -> None:
    assert parse_reply_line(line) == expected


@pytest.mark.parametrize("line", [b"25\r\n", b"abc ok\r\n", b"250xok\r\n", b"\r\n", b"150 old code\r\n"])
def test_parse_reply_line_refuses_non_replies(line: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_reply_line(line)


def _read(data: bytes) -> tuple[int, tuple[bytes, ...]]:
    async def scenario() -> tuple[int, tuple[bytes, ...]]:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        reply = await read_reply(reader)
        return reply.code, reply.lines

    return asyncio.run(scenario())


def test_read_reply_joins_a_multiline_reply() -> None:
    assert _read(b"250-First line\r\n250-Second line\r\n250 The last line\r\n250 next\r\n") == (
        250,
        (b"First line", b"Second line", b"The last line"),
    )


@pytest.mark.parametrize("data", [b"250-one\r\n251 two\r\n", b"250-one\r\n", b"250 cut off"])
def test_read_reply_refuses_mixed_codes_and_truncation(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        _read(data)


@pytest.mark.parametrize(
    ("text", "stuffed"),
    [  # RFC 5321 §4.5.2: a line whose first character is a period gets one more period
        (b"a\r\n.b\r\n", b"a\r\n..b\r\n"),
        (b".\r\n", b"..\r\n"),
        (b"a\r\n.\r\nb\r\n", b"a\r\n..\r\nb\r\n"),
        (b"a.b\r\n", b"a.b\r\n"),
        (b"..x\r\n", b"...x\r\n"),
    ],
)
def test_dot_stuff(text: bytes, stuffed: bytes) -> None:
    assert dot_stuff(text) == stuffed


@pytest.mark.parametrize("octets", [0, 2, 3, 79, 80, 81, 82, 160, 161, 1000, 102400])
def test_body_lines_add_up_and_stay_short(octets: int) -> None:
    lines = list(body_lines(octets))
    assert sum(map(len, lines)) == octets
    for line in lines:
        # RFC 5322 §2.1.1: no more than 78 characters plus CRLF; CR and LF only as the line end
        assert line.endswith(b"\r\n") and len(line) <= 80
        assert b"\r" not in line[:-2] and b"\n" not in line[:-2]


def test_body_lines_refuse_a_one_octet_body() -> None:
    with pytest.raises(ValueError, match="one-octet"):
        list(body_lines(1))


@pytest.mark.parametrize("size", [300, 1024, 102400])
def test_message_factory_makes_messages_of_the_exact_size(size: int) -> None:
    factory = MessageFactory(size, "a@example.test", "b@example.test")
    header = factory.header(3, 17)
    body = factory.body_wire[: -len(END_OF_DATA)].replace(b"\r\n..", b"\r\n.")
    assert len(header) + len(body) == size
    assert header.endswith(b"\r\n\r\n") and header.count(b"\r\n\r\n") == 1
    assert len(factory.header(3, 10**11)) == len(header)  # fixed-width numbering


def test_message_factory_refuses_a_size_below_its_header() -> None:
    with pytest.raises(ValueError, match="header"):
        MessageFactory(50, "a@example.test", "b@example.test")


@pytest.mark.parametrize("address", ["a@b>\r\nRSET", "no-at-sign", "a b@c", "<a@b>"])
def test_addresses_that_would_break_the_command_are_refused(address: str) -> None:
    with pytest.raises(ValueError, match="address"):
        LoadSpec(endpoint=parse_endpoint("127.0.0.1:25"), mail_from=address)


def test_percentile_is_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([1.0, 2.0, 3.0], 0.50) == 2.0
    assert percentile([], 0.5) is None


def test_latency_summary_is_p50_and_p99_in_rounded_milliseconds() -> None:
    seconds = [n / 10_000 for n in range(100, 0, -1)]  # 0.1 ms .. 10 ms, unsorted
    assert latency_summary(seconds) == {"p50_ms": 5.0, "p99_ms": 9.9}
    assert latency_summary([0.0012345678]) == {"p50_ms": 1.235, "p99_ms": 1.235}
    assert latency_summary([]) == {"p50_ms": None, "p99_ms": None}


@pytest.mark.parametrize(
    ("text", "octets"),
    [("1024", 1024), ("100K", 100 << 10), ("50M", 50 << 20), ("1k", 1024)],
)
def test_parse_octets(text: str, octets: int) -> None:
    assert parse_octets(text) == octets


@pytest.mark.parametrize("text", ["", "K", "1.5M", "10G", "-1"])
def test_parse_octets_refuses_other_forms(text: str) -> None:
    with pytest.raises(ValueError):
        parse_octets(text)
