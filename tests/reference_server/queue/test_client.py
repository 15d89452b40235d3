"""The relay's SMTP client against real servers on 127.0.0.1.

Three kinds of next hop: the reference server itself (delivering to its Maildirs, so the
stored bytes can be compared), aiosmtpd (a second, independent implementation), and a
scripted server defined here for what real servers will not do on demand -- refusals at
every step, dropped connections, garbage, replies that never come, reply injection.
"""

from __future__ import annotations

import asyncio
import contextlib
import mailbox
import re
import socket
import ssl
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Final, TypeVar

import pytest
import trustme
from aiosmtpd.smtp import SMTP as AioSMTP
from aiosmtpd.smtp import Envelope as AioEnvelope
from aiosmtpd.smtp import Session as AioSession

from reference_server.config import parse_config_text
from reference_server.faults import Faults
from reference_server.main import ReferenceServer
from reference_server.queue.client import (
    AttemptResult,
    ClientSettings,
    OutgoingMessage,
    RecipientResult,
    send_message,
)
from reference_server.storage.store import MaildirStore
from tests.reference_server.smtp_support import cheap_hashes, config_head

HOST: Final = "127.0.0.1"
HELO: Final = "relay.test"
T = TypeVar("T")

SETTINGS: Final = ClientSettings(
    helo_name=HELO, connect_timeout=5, command_timeout=5, data_timeout=5, data_block_timeout=5, quit_timeout=2
)

DROP: Final = b"<drop>"  # the scripted server closes the connection instead of replying
SILENT: Final = b"<silent>"  # the scripted server never replies (and waits for the client to go)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coroutine, 30))


def settings(**changes: Any) -> ClientSettings:
    return replace(SETTINGS, **changes)


def make_message(
    tmp_path: Path,
    content: bytes,
    recipients: tuple[str, ...] = ("bob@next.test",),
    reverse_path: str = "alice@origin.test",
    *,
    smtputf8: bool = False,
    name: str = "message.eml",
) -> OutgoingMessage:
    path = tmp_path / name
    path.write_bytes(content)
    eight_bit = any(octet > 127 for octet in content)
    return OutgoingMessage(reverse_path, recipients, path, len(content), eight_bit, smtputf8)


SIMPLE: Final = b"From: alice@origin.test\r\nSubject: hi\r\n\r\nHello.\r\n.hidden dot\r\n.\r\n..\r\nend\r\n"
SIMPLE_WIRE: Final = (
    b"From: alice@origin.test\r\nSubject: hi\r\n\r\nHello.\r\n..hidden dot\r\n..\r\n...\r\nend\r\n.\r\n"
)


def codes(result: AttemptResult) -> list[int | None]:
    return [r.code for r in result.results]


# --- a scripted next hop ---------------------------------------------------------------------


@dataclass
class Connection:
    """What one client connection did, as the scripted server saw it."""

    commands: list[bytes] = field(default_factory=list)
    tls: list[bool] = field(default_factory=list)  # was TLS active when each command arrived
    data: list[bytes] = field(default_factory=list)  # mail data as sent: dot-stuffed, terminator included
    early: list[tuple[bytes, bytes]] = field(default_factory=list)  # (command, input already there at its reply)
    eof: bool = False  # the client closed the connection


@dataclass
class Transaction:
    """Enough server state to answer RCPT and DATA the way a real server would."""

    mail: bool = False
    recipients: int = 0

    def update(self, verb: str, reply: bytes) -> None:
        if verb == "MAIL":
            self.mail = reply.startswith(b"2")
        elif verb == "RCPT" and reply.startswith(b"2"):
            self.recipients += 1


@dataclass
class Script:
    greeting: bytes = b"220 scripted.test ESMTP\r\n"
    extensions: tuple[str, ...] = ("PIPELINING", "SIZE 100000", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES")
    extensions_after_tls: tuple[str, ...] | None = None
    replies: Mapping[str, bytes] = field(default_factory=dict)  # "MAIL", "RCPT", "RCPT <addr>", "DATA", "." ...
    reply_delay: float = 0.0  # wait before each reply, then look whether more input came meanwhile
    tls_context: ssl.SSLContext | None = None


class ScriptedServer:
    """An SMTP server that answers as told, records everything, and stops itself."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.connections: list[Connection] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._session, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=3)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    def _reply(self, verb: str, line: bytes, tls: bool, state: Transaction) -> bytes:
        replies = self.script.replies
        if verb == "RCPT":
            match = re.search(rb"<(.*)>", line)
            address = match.group(1).decode("utf-8") if match else ""
            if f"RCPT {address}" in replies:
                return replies[f"RCPT {address}"]
        if verb in replies:
            return replies[verb]
        if verb == "EHLO":
            names = self.script.extensions
            if tls:
                after = self.script.extensions_after_tls
                names = after if after is not None else tuple(n for n in names if n != "STARTTLS")
            lines = ["scripted.test", *names]
            return b"".join(
                f"250{'-' if i < len(lines) - 1 else ' '}{text}\r\n".encode() for i, text in enumerate(lines)
            )
        if verb == "RCPT" and not state.mail:
            return b"503 5.5.1 need MAIL first\r\n"
        if verb == "DATA" and not state.recipients:
            return b"554 5.5.1 no valid recipients\r\n"
        defaults = {
            "HELO": b"250 scripted.test\r\n",
            "MAIL": b"250 2.1.0 ok\r\n",
            "RCPT": b"250 2.1.5 ok\r\n",
            "DATA": b"354 go ahead\r\n",
            ".": b"250 2.0.0 queued as 42\r\n",
            "QUIT": b"221 2.0.0 bye\r\n",
            "RSET": b"250 2.0.0 ok\r\n",
            "STARTTLS": b"220 2.0.0 ready for TLS\r\n",
        }
        return defaults.get(verb, b"500 5.5.1 unknown command\r\n")

    async def _read_more(self, reader: asyncio.StreamReader, buffer: bytearray) -> bool:
        data = await reader.read(65536)
        buffer += data
        return bool(data)

    async def _line(self, reader: asyncio.StreamReader, buffer: bytearray) -> bytes | None:
        while b"\r\n" not in buffer:
            if len(buffer) > 4096 or not await self._read_more(reader, buffer):
                return None
        end = buffer.index(b"\r\n") + 2
        line = bytes(buffer[:end])
        del buffer[:end]
        return line

    async def _data(self, reader: asyncio.StreamReader, buffer: bytearray) -> bytes | None:
        while True:
            if buffer.startswith(b".\r\n"):
                end = 3
                break
            found = buffer.find(b"\r\n.\r\n")
            if found >= 0:
                end = found + 5
                break
            if len(buffer) > 8 * 1024 * 1024 or not await self._read_more(reader, buffer):
                return None
        data = bytes(buffer[:end])
        del buffer[:end]
        return data

    async def _poll(self, reader: asyncio.StreamReader) -> bytes:
        try:
            return await asyncio.wait_for(reader.read(65536), 0.02)
        except TimeoutError:
            return b""

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        connection = Connection()
        self.connections.append(connection)
        buffer = bytearray()
        tls = False
        state = Transaction()
        try:
            if not await self._send(writer, reader, self.script.greeting):
                return
            while True:
                line = await self._line(reader, buffer)
                if line is None:
                    connection.eof = True
                    return
                connection.commands.append(line)
                connection.tls.append(tls)
                verb = re.split(rb"[ :\r]", line, maxsplit=1)[0].upper().decode("ascii", "replace")
                if self.script.reply_delay:
                    await asyncio.sleep(self.script.reply_delay)
                    buffer += await self._poll(reader)
                if buffer:
                    connection.early.append((line, bytes(buffer)))
                reply = self._reply(verb, line, tls, state)
                state.update(verb, reply)
                if not await self._send(writer, reader, reply) or verb == "QUIT":
                    return
                if verb == "STARTTLS" and reply.startswith(b"220") and self.script.tls_context is not None:
                    await writer.start_tls(self.script.tls_context)
                    tls = True
                elif verb == "DATA" and reply.startswith(b"354"):
                    data = await self._data(reader, buffer)
                    if data is None:
                        connection.eof = True
                        return
                    connection.data.append(data)
                    state = Transaction()
                    if not await self._send(writer, reader, self._reply(".", b".", tls, state)):
                        return
        except (OSError, ssl.SSLError):
            connection.eof = True
        finally:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()
            self._tasks.discard(task)

    async def _send(self, writer: asyncio.StreamWriter, reader: asyncio.StreamReader, reply: bytes) -> bool:
        """Send a reply; False when the session ends here (dropped, silent or 421)."""
        if reply == DROP:
            return False
        if reply == SILENT:
            while await reader.read(65536):
                pass
            return False
        writer.write(reply)
        await writer.drain()
        return not reply.startswith(b"421")


async def attempt(
    script: Script, message: OutgoingMessage, client: ClientSettings = SETTINGS
) -> tuple[AttemptResult, Connection]:
    async with ScriptedServer(script) as server:
        result = await send_message(HOST, server.port, message, client)
    assert len(server.connections) == 1, "one connection per attempt"
    return result, server.connections[0]


def scripted(
    script: Script, message: OutgoingMessage, client: ClientSettings = SETTINGS
) -> tuple[AttemptResult, Connection]:
    return run(attempt(script, message, client))


NO_PIPELINING: Final = ("SIZE 100000", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES")


# --- the transaction, step by step -------------------------------------------------------------


def test_lockstep_without_pipelining_one_command_at_a_time(tmp_path: Path) -> None:
    message = make_message(tmp_path, SIMPLE, ("bob@next.test", "carol@next.test"))
    result, seen = scripted(Script(extensions=NO_PIPELINING, reply_delay=0.2), message)
    assert result.results == (
        RecipientResult("bob@next.test", 250, "2.0.0", "queued as 42"),
        RecipientResult("carol@next.test", 250, "2.0.0", "queued as 42"),
    )
    assert all(r.delivered and not r.temporary and not r.permanent for r in result.results)
    assert seen.commands == [
        b"EHLO relay.test\r\n",
        b"MAIL FROM:<alice@origin.test> SIZE=%d\r\n" % len(SIMPLE),
        b"RCPT TO:<bob@next.test>\r\n",
        b"RCPT TO:<carol@next.test>\r\n",
        b"DATA\r\n",
        b"QUIT\r\n",
    ]
    assert seen.early == []  # nothing was sent before the reply to the command before it
    assert seen.data == [SIMPLE_WIRE]


def test_pipelining_sends_mail_rcpt_and_data_as_one_group(tmp_path: Path) -> None:
    message = make_message(tmp_path, SIMPLE, ("bob@next.test", "carol@next.test"))
    result, seen = scripted(Script(reply_delay=0.2), message)
    assert codes(result) == [250, 250]
    mail = b"MAIL FROM:<alice@origin.test> SIZE=%d\r\n" % len(SIMPLE)
    # RFC 2920 §3.1: the whole group was there before the reply to MAIL was sent.
    assert seen.early[0] == (mail, b"RCPT TO:<bob@next.test>\r\nRCPT TO:<carol@next.test>\r\nDATA\r\n")
    assert seen.commands[1:6] == [
        mail,
        b"RCPT TO:<bob@next.test>\r\n",
        b"RCPT TO:<carol@next.test>\r\n",
        b"DATA\r\n",
        b"QUIT\r\n",
    ]
    assert seen.data == [SIMPLE_WIRE]


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "lockstep"])
@pytest.mark.parametrize(
    ("replies", "expected", "data_sent"),
    [
        ({"MAIL": b"451 4.3.0 try later\r\n"}, [(451, "4.3.0", "try later")] * 3, False),
        ({"MAIL": b"550 5.7.1 go away\r\n"}, [(550, "5.7.1", "go away")] * 3, False),
        (
            {"RCPT c@next.test": b"550-5.1.1 no such\r\n550 5.1.1 user\r\n"},
            [(250, "2.0.0", "queued as 42"), (550, "5.1.1", "no such user"), (250, "2.0.0", "queued as 42")],
            True,
        ),
        (
            {"RCPT b@next.test": b"452 4.2.2 mailbox full\r\n", "RCPT d@next.test": b"551 user not local\r\n"},
            [(452, "4.2.2", "mailbox full"), (250, "2.0.0", "queued as 42"), (551, None, "user not local")],
            True,
        ),
        ({"RCPT": b"450 4.2.1 busy\r\n"}, [(450, "4.2.1", "busy")] * 3, False),
        ({"DATA": b"554 5.5.0 no data for you\r\n"}, [(554, "5.5.0", "no data for you")] * 3, False),
        ({".": b"452 4.3.1 disk full\r\n"}, [(452, "4.3.1", "disk full")] * 3, True),
        ({".": b"552 5.3.4 too big after all\r\n"}, [(552, "5.3.4", "too big after all")] * 3, True),
    ],
    ids=["mail-4xx", "mail-5xx", "rcpt-5xx-multiline", "rcpt-mixed", "rcpt-all-4xx", "data-5xx", "dot-4xx", "dot-5xx"],
)
def test_refusals_decide_the_recipients_they_concern(
    tmp_path: Path,
    pipelining: bool,
    replies: dict[str, bytes],
    expected: list[tuple[int, str | None, str]],
    data_sent: bool,
) -> None:
    extensions = ("PIPELINING", *NO_PIPELINING) if pipelining else NO_PIPELINING
    message = make_message(tmp_path, SIMPLE, ("b@next.test", "c@next.test", "d@next.test"))
    result, seen = scripted(Script(extensions=extensions, replies=replies), message)
    assert [(r.code, r.enhanced, r.text) for r in result.results] == expected
    for r, (code, _, _) in zip(result.results, expected, strict=True):
        assert r.permanent == (code >= 500) and r.temporary == (400 <= code < 500)
    assert seen.data == ([SIMPLE_WIRE] if data_sent else [])
    assert seen.commands[-1] == b"QUIT\r\n"
    if not pipelining:
        no_recipient = all(code >= 400 for code, _, _ in expected) and "DATA" not in replies and "." not in replies
        assert (b"DATA\r\n" in seen.commands) == (not no_recipient)


def test_pipelined_data_accepted_without_recipients_gets_a_lone_dot(tmp_path: Path) -> None:
    # RFC 2920 §3.1: "if the DATA command was accepted the client SMTP should send a single dot".
    message = make_message(tmp_path, SIMPLE, ("b@next.test", "c@next.test"))
    script = Script(replies={"RCPT": b"550 5.1.1 unknown\r\n", "DATA": b"354 oops, go on\r\n"})
    result, seen = scripted(script, message)
    assert [(r.code, r.enhanced) for r in result.results] == [(550, "5.1.1"), (550, "5.1.1")]
    assert seen.data == [b".\r\n"]
    assert seen.commands[-1] == b"QUIT\r\n"


def test_greeting_refused(tmp_path: Path) -> None:
    message = make_message(tmp_path, SIMPLE, ("b@next.test", "c@next.test"))
    result, seen = scripted(Script(greeting=b"554 5.3.2 no service here\r\n"), message)
    assert [(r.code, r.enhanced, r.text, r.permanent) for r in result.results] == [
        (554, "5.3.2", "no service here", True)
    ] * 2
    assert seen.commands == [b"QUIT\r\n"]


def test_greeting_421_is_temporary_and_closes(tmp_path: Path) -> None:
    message = make_message(tmp_path, SIMPLE)
    result, seen = scripted(Script(greeting=b"421 4.3.2 too busy\r\n"), message)
    (only,) = result.results
    assert (only.code, only.enhanced, only.temporary) == (421, "4.3.2", True)
    assert seen.commands == []


@pytest.mark.parametrize("refusal", [b"500 5.5.1 what?\r\n", b"502 5.5.1 not implemented\r\n", b"550 no\r\n"])
def test_helo_fallback_uses_no_extensions(tmp_path: Path, refusal: bytes) -> None:
    message = make_message(tmp_path, SIMPLE)
    result, seen = scripted(Script(replies={"EHLO": refusal}), message)
    assert codes(result) == [250]
    assert seen.commands == [
        b"EHLO relay.test\r\n",
        b"HELO relay.test\r\n",
        b"MAIL FROM:<alice@origin.test>\r\n",  # no SIZE=: HELO means no extensions
        b"RCPT TO:<bob@next.test>\r\n",
        b"DATA\r\n",
        b"QUIT\r\n",
    ]


def test_helo_refused_too(tmp_path: Path) -> None:
    message = make_message(tmp_path, SIMPLE)
    result, _ = scripted(Script(replies={"EHLO": b"502 no\r\n", "HELO": b"550 5.7.1 not you\r\n"}), message)
    assert [(r.code, r.enhanced, r.permanent) for r in result.results] == [(550, "5.7.1", True)]


def test_ehlo_421_does_not_fall_back(tmp_path: Path) -> None:
    message = make_message(tmp_path, SIMPLE)
    result, seen = scripted(Script(replies={"EHLO": b"421 4.4.5 closing\r\n"}), message)
    assert [(r.code, r.temporary) for r in result.results] == [(421, True)]
    assert seen.commands == [b"EHLO relay.test\r\n"]


# --- extensions decided locally ------------------------------------------------------------------


def test_size_over_the_limit_fails_without_mail(tmp_path: Path) -> None:
    message = make_message(tmp_path, SIMPLE * 10)
    result, seen = scripted(Script(extensions=("PIPELINING", "SIZE 100")), message)
    (only,) = result.results
    assert (only.code, only.enhanced, only.permanent) == (552, "5.3.4", True)
    assert "SIZE limit of 100" in only.text
    assert seen.commands == [b"EHLO relay.test\r\n", b"QUIT\r\n"]


def test_size_zero_means_no_limit(tmp_path: Path) -> None:
    message = make_message(tmp_path, SIMPLE * 10)
    result, seen = scripted(Script(extensions=("SIZE 0",)), message)
    assert codes(result) == [250]
    assert seen.commands[1] == b"MAIL FROM:<alice@origin.test> SIZE=%d\r\n" % (len(SIMPLE) * 10)


EIGHT_BIT: Final = "Subject: Grüße\r\n\r\nSchöne Grüße\r\n.dot\r\n".encode()


def test_eight_bit_with_8bitmime(tmp_path: Path) -> None:
    message = make_message(tmp_path, EIGHT_BIT)
    result, seen = scripted(Script(extensions=("8BITMIME",)), message)
    assert codes(result) == [250]
    assert seen.commands[1] == b"MAIL FROM:<alice@origin.test> BODY=8BITMIME\r\n"
    assert seen.data == [EIGHT_BIT.replace(b"\r\n.dot", b"\r\n..dot") + b".\r\n"]


def test_eight_bit_without_8bitmime_is_refused_locally(tmp_path: Path) -> None:
    message = make_message(tmp_path, EIGHT_BIT)
    result, seen = scripted(Script(extensions=("PIPELINING", "SIZE 100000")), message)
    (only,) = result.results
    assert (only.code, only.enhanced, only.permanent) == (554, "5.6.3", True)
    assert "8BITMIME" in only.text
    assert seen.commands == [b"EHLO relay.test\r\n", b"QUIT\r\n"]
    assert seen.data == []


def test_fault_8bit_to_7bit_server_sends_it_anyway(tmp_path: Path) -> None:
    message = make_message(tmp_path, EIGHT_BIT)
    client = settings(faults=Faults.of(["relay.8bit-to-7bit-server"]))
    result, seen = scripted(Script(extensions=("SIZE 100000",)), message, client)
    assert codes(result) == [250]
    assert seen.commands[1] == b"MAIL FROM:<alice@origin.test> SIZE=%d\r\n" % len(EIGHT_BIT)  # no BODY=
    assert seen.data == [EIGHT_BIT.replace(b"\r\n.dot", b"\r\n..dot") + b".\r\n"]


def test_smtputf8_used_when_offered(tmp_path: Path) -> None:
    message = make_message(tmp_path, EIGHT_BIT, ("δοκιμή@next.test",), "jörg@origin.test", smtputf8=True)
    result, seen = scripted(Script(extensions=("8BITMIME", "SMTPUTF8")), message)
    assert codes(result) == [250]
    assert seen.commands[1] == "MAIL FROM:<jörg@origin.test> BODY=8BITMIME SMTPUTF8\r\n".encode()
    assert seen.commands[2] == "RCPT TO:<δοκιμή@next.test>\r\n".encode()


def test_smtputf8_needed_but_not_offered(tmp_path: Path) -> None:
    # smtputf8 not flagged, but the address itself needs it (RFC 6531 §3.2).
    message = make_message(tmp_path, SIMPLE, ("δοκιμή@next.test",))
    result, seen = scripted(Script(extensions=("8BITMIME",)), message)
    (only,) = result.results
    assert (only.code, only.enhanced, only.permanent) == (553, "5.6.7", True)
    assert seen.commands == [b"EHLO relay.test\r\n", b"QUIT\r\n"]


def test_unsendable_recipient_is_refused_alone(tmp_path: Path) -> None:
    message = make_message(tmp_path, SIMPLE, ("b@next.test", "evil@next.test>\r\nRSET", "c@next.test"))
    result, seen = scripted(Script(), message)
    assert [(r.code, r.enhanced) for r in result.results] == [(250, "2.0.0"), (553, "5.1.3"), (250, "2.0.0")]
    assert not any(b"evil" in command for command in seen.commands)


def test_no_recipients_means_no_connection(tmp_path: Path) -> None:
    async def scenario() -> tuple[AttemptResult, int]:
        async with ScriptedServer(Script()) as server:
            result = await send_message(HOST, server.port, make_message(tmp_path, SIMPLE, ()), SETTINGS)
        return result, len(server.connections)

    result, connections = run(scenario())
    assert result.results == () and connections == 0


def test_missing_message_file_is_temporary_and_connects_nowhere(tmp_path: Path) -> None:
    message = replace(make_message(tmp_path, SIMPLE), path=tmp_path / "gone.eml")

    async def scenario() -> tuple[AttemptResult, int]:
        async with ScriptedServer(Script()) as server:
            result = await send_message(HOST, server.port, message, SETTINGS)
        return result, len(server.connections)

    result, connections = run(scenario())
    (only,) = result.results
    assert (only.code, only.enhanced, only.temporary) == (None, "4.3.0", True)
    assert "message file" in only.text
    assert connections == 0


# --- trouble on the wire ------------------------------------------------------------------------


def test_421_mid_session_leaves_everyone_temporary(tmp_path: Path) -> None:
    message = make_message(tmp_path, SIMPLE, ("a@next.test", "b@next.test", "c@next.test"))
    script = Script(extensions=NO_PIPELINING, replies={"RCPT b@next.test": b"421 4.3.2 shutting down\r\n"})
    result, seen = scripted(script, message)
    assert [(r.code, r.enhanced, r.temporary) for r in result.results] == [(421, "4.3.2", True)] * 3
    assert seen.commands[-1] == b"RCPT TO:<b@next.test>\r\n"  # then closed: no DATA, no QUIT


@pytest.mark.parametrize(("where", "waiting_for"), [("MAIL", "MAIL"), (".", "the end of the mail data")])
def test_dropped_connection(tmp_path: Path, where: str, waiting_for: str) -> None:
    message = make_message(tmp_path, SIMPLE, ("a@next.test", "b@next.test"))
    result, _ = scripted(Script(extensions=NO_PIPELINING, replies={where: DROP}), message)
    for r in result.results:
        assert (r.code, r.enhanced, r.temporary) == (None, "4.4.2", True)
        assert r.text == f"connection closed by {result.remote} while waiting for the reply to {waiting_for}"


@pytest.mark.parametrize(
    ("replies", "reason"),
    [
        ({"RCPT": b"hello, is it me you're looking for?\r\n"}, "malformed reply to RCPT: reply line does not start"),
        ({"EHLO": b"250-scripted.test\r\n251 PIPELINING\r\n"}, "malformed reply to EHLO: continuation line has code"),
        ({"MAIL": b"250 " + b"x" * 600 + b"\r\n"}, "malformed reply to MAIL: reply line longer than 512"),
        ({"DATA": b"699 what\r\n"}, "malformed reply to DATA: reply code 699"),
    ],
)
def test_malformed_replies_are_temporary_failures(tmp_path: Path, replies: dict[str, bytes], reason: str) -> None:
    message = make_message(tmp_path, SIMPLE)
    result, seen = scripted(Script(extensions=NO_PIPELINING, replies=replies), message)
    (only,) = result.results
    assert (only.code, only.enhanced, only.temporary) == (None, "4.5.0", True)
    assert only.text.startswith(reason)
    assert b"QUIT\r\n" not in seen.commands  # out of step: just close


def test_reply_of_the_wrong_class_is_a_protocol_error(tmp_path: Path) -> None:
    message = make_message(tmp_path, SIMPLE)
    result, _ = scripted(Script(extensions=NO_PIPELINING, replies={"RCPT": b"354 send data\r\n"}), message)
    (only,) = result.results
    assert (only.code, only.enhanced, only.temporary) == (None, "4.5.0", True)
    assert only.text == "unexpected reply to RCPT: 354 send data"


def test_timeouts(tmp_path: Path) -> None:
    message = make_message(tmp_path, SIMPLE)
    client = settings(data_timeout=0.3)
    result, seen = scripted(Script(replies={".": SILENT}), message, client)
    (only,) = result.results
    assert (only.code, only.enhanced, only.temporary) == (None, "4.4.2", True)
    assert only.text == "no reply to the end of the mail data within 0.3 s"
    assert seen.data == [SIMPLE_WIRE]

    result, _ = scripted(Script(greeting=SILENT), message, settings(command_timeout=0.3))
    assert [r.text for r in result.results] == ["no reply to the greeting within 0.3 s"]


def test_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    result = run(send_message(HOST, port, make_message(tmp_path, SIMPLE, ("a@x.test", "b@x.test")), SETTINGS))
    assert result.remote == f"{HOST}:{port}"
    assert [(r.code, r.enhanced, r.text, r.temporary) for r in result.results] == [
        (None, "4.4.1", "connection refused", True)
    ] * 2


def test_cancellation_propagates_and_closes_the_connection(tmp_path: Path) -> None:
    message = make_message(tmp_path, SIMPLE)

    async def scenario() -> Connection:
        async with ScriptedServer(Script(greeting=SILENT)) as server:
            task = asyncio.create_task(send_message(HOST, server.port, message, SETTINGS))
            while not server.connections:
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        return server.connections[0]

    connection = run(scenario())
    assert connection.commands == []


# --- STARTTLS -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    return context


def test_starttls_then_only_the_new_extensions(tmp_path: Path, server_tls: ssl.SSLContext) -> None:
    script = Script(
        extensions=("STARTTLS", "SIZE 100000"),
        extensions_after_tls=("PIPELINING", "8BITMIME", "SIZE 100000"),
        tls_context=server_tls,
    )
    message = make_message(tmp_path, EIGHT_BIT)  # refused before TLS (no 8BITMIME), fine after it
    result, seen = scripted(script, message)
    assert codes(result) == [250]
    assert seen.commands[:4] == [
        b"EHLO relay.test\r\n",
        b"STARTTLS\r\n",
        b"EHLO relay.test\r\n",  # RFC 3207 §4.2: the old extension list is discarded
        b"MAIL FROM:<alice@origin.test> SIZE=%d BODY=8BITMIME\r\n" % len(EIGHT_BIT),
    ]
    assert seen.tls[:4] == [False, False, True, True]
    assert seen.data == [EIGHT_BIT.replace(b"\r\n.dot", b"\r\n..dot") + b".\r\n"]


def test_starttls_with_a_verifying_context(tmp_path: Path, ca: trustme.CA, server_tls: ssl.SSLContext) -> None:
    verifying = ssl.create_default_context()
    ca.configure_trust(verifying)

    async def scenario() -> tuple[AttemptResult, Connection]:
        async with ScriptedServer(Script(extensions=("STARTTLS",), tls_context=server_tls)) as server:
            result = await send_message(
                "localhost",
                server.port,
                make_message(tmp_path, SIMPLE),
                settings(ssl_context=verifying, tls="required"),
            )
        return result, server.connections[0]

    result, seen = run(scenario())
    assert codes(result) == [250]
    assert seen.tls[-2:] == [True, True]


def test_tls_handshake_failure_is_temporary(tmp_path: Path, server_tls: ssl.SSLContext) -> None:
    other_ca = ssl.create_default_context()
    trustme.CA().configure_trust(other_ca)  # not the CA that signed the server's certificate

    async def scenario() -> AttemptResult:
        async with ScriptedServer(Script(extensions=("STARTTLS",), tls_context=server_tls)) as server:
            return await send_message(
                "localhost", server.port, make_message(tmp_path, SIMPLE), settings(ssl_context=other_ca)
            )

    (only,) = run(scenario()).results
    assert (only.code, only.enhanced, only.temporary) == (None, "4.7.5", True)
    assert only.text.startswith("TLS handshake failed")


def test_tls_required_but_not_offered(tmp_path: Path) -> None:
    result, seen = scripted(Script(), make_message(tmp_path, SIMPLE), settings(tls="required"))
    (only,) = result.results
    assert (only.code, only.enhanced, only.temporary) == (454, "4.7.0", True)
    assert "does not offer STARTTLS" in only.text
    assert seen.commands == [b"EHLO relay.test\r\n", b"QUIT\r\n"]  # never the message in clear


@pytest.mark.parametrize(("mode", "delivered"), [("opportunistic", True), ("required", False)])
def test_starttls_refused(tmp_path: Path, mode: str, delivered: bool) -> None:
    script = Script(extensions=("STARTTLS",), replies={"STARTTLS": b"454 4.7.0 TLS not available\r\n"})
    result, seen = scripted(script, make_message(tmp_path, SIMPLE), settings(tls=mode))
    (only,) = result.results
    assert only.delivered == delivered
    assert (b"DATA\r\n" in seen.commands) == delivered
    if not delivered:
        assert (only.code, only.enhanced, only.temporary) == (454, "4.7.0", True)


def test_tls_none_ignores_starttls(tmp_path: Path, server_tls: ssl.SSLContext) -> None:
    script = Script(extensions=("STARTTLS",), tls_context=server_tls)
    result, seen = scripted(script, make_message(tmp_path, SIMPLE), settings(tls="none"))
    assert codes(result) == [250]
    assert b"STARTTLS\r\n" not in seen.commands


def test_plaintext_after_the_220_to_starttls_is_refused(tmp_path: Path, server_tls: ssl.SSLContext) -> None:
    # An attacker on the path appends a reply after the 220; it must not be read as if sent under TLS.
    script = Script(
        extensions=("STARTTLS",), replies={"STARTTLS": b"220 go ahead\r\n250 injected\r\n"}, tls_context=None
    )
    result, seen = scripted(script, make_message(tmp_path, SIMPLE))
    (only,) = result.results
    assert (only.code, only.enhanced, only.temporary) == (None, "4.5.0", True)
    assert "after its 220 to STARTTLS" in only.text
    assert seen.commands == [b"EHLO relay.test\r\n", b"STARTTLS\r\n"]


# --- the relay.* faults this client owns ------------------------------------------------------------


def test_fault_pipelining_unannounced(tmp_path: Path) -> None:
    message = make_message(tmp_path, SIMPLE, ("b@next.test", "c@next.test"))
    client = settings(faults=Faults.of(["relay.pipelining-unannounced"]))
    result, seen = scripted(Script(extensions=NO_PIPELINING, reply_delay=0.2), message, client)
    assert codes(result) == [250, 250]
    assert seen.early[0][1] == b"RCPT TO:<b@next.test>\r\nRCPT TO:<c@next.test>\r\nDATA\r\n"


@pytest.mark.parametrize(("fault", "sent"), [(False, b"<>"), (True, b"<postmaster@relay.test>")])
def test_fault_null_sender_rewritten(tmp_path: Path, fault: bool, sent: bytes) -> None:
    message = make_message(tmp_path, SIMPLE, reverse_path="")
    client = settings(faults=Faults.of(["relay.null-sender-rewritten"] if fault else []))
    _, seen = scripted(Script(extensions=()), message, client)
    assert seen.commands[1] == b"MAIL FROM:" + sent + b"\r\n"


@pytest.mark.parametrize("fault", [False, True])
def test_fault_drops_last_recipient(tmp_path: Path, fault: bool) -> None:
    message = make_message(tmp_path, SIMPLE, ("a@next.test", "b@next.test", "c@next.test"))
    client = settings(faults=Faults.of(["relay.drops-last-recipient"] if fault else []))
    result, seen = scripted(Script(), message, client)
    rcpts = [command for command in seen.commands if command.startswith(b"RCPT")]
    assert codes(result) == [250, 250, 250]  # reported as delivered either way ...
    assert len(rcpts) == (2 if fault else 3)  # ... but with the fault c@ never reached the next hop
    assert (b"RCPT TO:<c@next.test>\r\n" in rcpts) == (not fault)


@pytest.mark.parametrize("fault", [False, True])
def test_fault_dot_stuffing_missing(tmp_path: Path, fault: bool) -> None:
    content = b"Subject: dots\r\n\r\n.hidden\r\n..two\r\n"
    client = settings(faults=Faults.of(["relay.dot-stuffing-missing"] if fault else []))
    _, seen = scripted(Script(), make_message(tmp_path, content), client)
    expected = content + b".\r\n" if fault else b"Subject: dots\r\n\r\n..hidden\r\n...two\r\n.\r\n"
    assert seen.data == [expected]


# --- the reference server as next hop ---------------------------------------------------------------

REFERENCE_CONFIG: Final = (
    config_head("mx.example.test")
    + """\
[[listeners]]
name = "mx"
protocol = "smtp"
tls = "starttls"
"""
)


@pytest.fixture(scope="module")
def reference_config() -> str:
    return REFERENCE_CONFIG.format(**cheap_hashes({"alice": "pw", "bob": "pw"}))


def stored(mail_root: Path, user: str) -> list[bytes]:
    box = mailbox.Maildir(mail_root / "users" / user / "Maildir", factory=None, create=False)
    return [box.get_bytes(key) for key in sorted(box.iterkeys())]


def split_trace(stored_message: bytes, content: bytes) -> bytes:
    """The trace header fields the server put on top; asserts the rest is `content`, byte for byte."""
    assert stored_message.endswith(content)
    prefix = stored_message[: len(stored_message) - len(content)]
    assert re.fullmatch(rb"Return-Path: <[^\r\n]*>\r\nReceived: [^\r\n]*\r\n(?:\t[^\r\n]*\r\n)*", prefix), prefix
    return prefix


def with_reference(
    tmp_path: Path, config_text: str, scenario: Callable[[int], Awaitable[T]], faults: Faults | None = None
) -> T:
    config = parse_config_text(config_text, "relay-client-test.toml")

    async def main() -> T:
        server = ReferenceServer(config, MaildirStore(tmp_path / "mail"), faults or Faults(), any_port=True)
        listeners = await server.start()
        try:
            return await scenario(listeners["mx"].port)
        finally:
            await server.stop()

    return run(main())


def big_content() -> bytes:
    """Over 1 MiB, with a CRLF "." split across the client's 64 KiB reads both ways: after the CRLF, inside it."""
    boundaries = {65536: 0, 131072: 1}  # the CRLF ends at the boundary, or its CR is the last octet before it
    head = b"From: carol@origin.test\r\nSubject: big\r\n\r\n"
    lines = [head]
    size = len(head)
    number = 0
    while size < 1_200_000:
        for boundary, inside in boundaries.items():
            if boundary - 80 <= size <= boundary - 2:
                pad = boundary + inside - size - 2
                lines.append(b"x" * pad + b"\r\n")
                size += pad + 2
        line = b".line %06d " % number + b"abcdefghij" * 6 + b"\r\n"
        lines.append(line)
        size += len(line)
        number += 1
    content = b"".join(lines)
    assert content[65534:65537] == b"\r\n." and content[131071:131074] == b"\r\n."
    return content


def test_reference_server_stores_the_exact_bytes(tmp_path: Path, reference_config: str) -> None:
    small = make_message(tmp_path, SIMPLE, ("alice@example.test", "nobody@example.test", "bob@example.test"))
    big_bytes = big_content()
    big = make_message(tmp_path, big_bytes, ("bob@example.test",), name="big.eml")
    eight = make_message(tmp_path, EIGHT_BIT, ("alice@example.test",), "", name="eight.eml")

    async def scenario(port: int) -> list[AttemptResult]:
        return [await send_message(HOST, port, message, SETTINGS) for message in (small, big, eight)]

    first, second, third = with_reference(tmp_path, reference_config, scenario)
    assert [r.code for r in first.results] == [250, 550, 250]
    assert first.results[1].permanent and first.results[1].enhanced == "5.1.1"  # RFC 3463: bad mailbox
    assert [r.code for r in second.results + third.results] == [250, 250]
    alice = stored(tmp_path / "mail", "alice")
    bob = stored(tmp_path / "mail", "bob")
    assert len(alice) == 2 and len(bob) == 2
    assert split_trace(alice[0], SIMPLE).startswith(b"Return-Path: <alice@origin.test>\r\n")
    assert b"\tby mx.example.test with ESMTPS " in split_trace(bob[0], SIMPLE)  # RFC 3848: TLS was used
    assert split_trace(bob[1], big_bytes).startswith(b"Return-Path: <alice@origin.test>")
    assert split_trace(alice[1], EIGHT_BIT).startswith(b"Return-Path: <>\r\n")


@pytest.mark.parametrize("fault", ["relay.dot-stuffing-missing", "relay.null-sender-rewritten"])
def test_reference_server_sees_the_client_faults(tmp_path: Path, reference_config: str, fault: str) -> None:
    content = b"Subject: dots\r\n\r\n.hidden\r\n..two\r\n"
    message = make_message(tmp_path, content, ("alice@example.test",), "")
    client = settings(faults=Faults.of([fault]))

    async def scenario(port: int) -> AttemptResult:
        return await send_message(HOST, port, message, client)

    result = with_reference(tmp_path, reference_config, scenario)
    assert codes(result) == [250]
    (message_bytes,) = stored(tmp_path / "mail", "alice")
    if fault == "relay.dot-stuffing-missing":
        split_trace(message_bytes, b"Subject: dots\r\n\r\nhidden\r\n.two\r\n")  # the server unstuffed our dots
    else:
        assert split_trace(message_bytes, content).startswith(b"Return-Path: <postmaster@relay.test>\r\n")


# --- aiosmtpd as next hop -----------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.envelopes: list[tuple[str, list[str], list[str], bytes, bool]] = []

    async def handle_RCPT(
        self, server: AioSMTP, session: AioSession, envelope: AioEnvelope, address: str, options: list[str]
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: AioSMTP, session: AioSession, envelope: AioEnvelope) -> str:
        content = envelope.original_content
        assert isinstance(content, bytes) and envelope.mail_from is not None
        self.envelopes.append(
            (envelope.mail_from, list(envelope.rcpt_tos), list(envelope.mail_options), content, session.ssl is not None)
        )
        return "250 2.0.0 Message accepted"


@contextlib.asynccontextmanager
async def aiosmtpd_server(recorder: Recorder, tls: ssl.SSLContext | None = None) -> Any:
    loop = asyncio.get_running_loop()

    def factory() -> AioSMTP:
        return AioSMTP(recorder, hostname="aiosmtpd.test", decode_data=False, enable_SMTPUTF8=True, tls_context=tls)

    server = await loop.create_server(factory, HOST, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def test_aiosmtpd_delivers_byte_exact(tmp_path: Path) -> None:
    recorder = Recorder()
    message = make_message(tmp_path, SIMPLE, ("bob@next.test", "nobody@next.test", "carol@next.test"))
    eight = make_message(tmp_path, EIGHT_BIT, ("bob@next.test",), "", name="eight.eml")

    async def scenario() -> list[AttemptResult]:
        async with aiosmtpd_server(recorder) as port:
            return [await send_message(HOST, port, m, SETTINGS) for m in (message, eight)]

    first, second = run(scenario())
    assert [(r.code, r.enhanced) for r in first.results] == [(250, "2.0.0"), (550, "5.1.1"), (250, "2.0.0")]
    assert codes(second) == [250]
    assert recorder.envelopes[0] == (
        "alice@origin.test",
        ["bob@next.test", "carol@next.test"],
        [f"SIZE={len(SIMPLE)}"],
        SIMPLE,
        False,
    )
    assert recorder.envelopes[1] == (
        "<>",  # aiosmtpd's spelling of the null reverse-path
        ["bob@next.test"],
        [f"SIZE={len(EIGHT_BIT)}", "BODY=8BITMIME"],
        EIGHT_BIT,
        False,
    )


def test_aiosmtpd_with_starttls(tmp_path: Path, server_tls: ssl.SSLContext) -> None:
    recorder = Recorder()
    message = make_message(tmp_path, SIMPLE)

    async def scenario() -> AttemptResult:
        async with aiosmtpd_server(recorder, server_tls) as port:
            return await send_message(HOST, port, message, settings(tls="required"))

    result = run(scenario())
    assert codes(result) == [250]
    ((_, _, _, content, over_tls),) = recorder.envelopes
    assert content == SIMPLE and over_tls
