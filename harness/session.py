"""One client connection to a server under test, driven with pexpect over a socket.

pexpect's SocketSpawn gives the harness a spawn object with per-read timeouts and a
send/receive log for free; the same object works over a TLS socket, so STARTTLS is a
matter of wrapping the socket and spawning again. Every byte in both directions goes
into the SessionLog, which is what a failure report and the Allure attachment show.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Protocol, TypeVar

from pexpect import EOF, TIMEOUT
from pexpect.socket_pexpect import SocketSpawn

READ_SIZE: Final = 65536
MAX_LOG_BYTES_SHOWN: Final = 4096  # per event in the rendered log; the rest is summarised


class SessionError(Exception):
    """The connection failed in a way that ends the step (timeout, close, TLS failure)."""


class ConnectFailed(SessionError):
    """The endpoint did not accept a connection: the whole run may be pointless."""


class ServerClosed(SessionError):
    """The server closed the connection while a reply was expected."""


class StepTimeout(SessionError):
    """No complete reply within the step's timeout."""


@dataclass(frozen=True)
class LogEvent:
    at: float
    connection: str
    direction: str  # ">>" sent, "<<" received, "--" note
    data: bytes


@dataclass
class SessionLog:
    """All traffic of one case, across its connections, in order."""

    started: float = field(default_factory=time.monotonic)
    events: list[LogEvent] = field(default_factory=list)

    def add(self, connection: str, direction: str, data: bytes) -> None:
        last = self.events[-1] if self.events else None
        if last and last.connection == connection and last.direction == direction and direction != "--":
            self.events[-1] = LogEvent(last.at, connection, direction, last.data + data)
        else:
            self.events.append(LogEvent(time.monotonic(), connection, direction, data))

    def note(self, connection: str, text: str) -> None:
        self.add(connection, "--", text.encode())

    def render(self) -> str:
        lines: list[str] = []
        for event in self.events:
            stamp = f"{event.at - self.started:7.3f}"
            if event.direction == "--":
                lines.append(f"{stamp} {event.connection} -- {event.data.decode()}")
                continue
            data = event.data
            shown = data[:MAX_LOG_BYTES_SHOWN]
            for chunk in shown.splitlines(keepends=True):
                lines.append(f"{stamp} {event.connection} {event.direction} {chunk!r}")
            if len(data) > len(shown):
                lines.append(f"{stamp} {event.connection} {event.direction} ... {len(data) - len(shown)} more bytes")
        return "\n".join(lines)


class _Logger:
    """A file-like sink for pexpect's logfile_read / logfile_send."""

    def __init__(self, log: SessionLog, connection: str, direction: str) -> None:
        self.log, self.connection, self.direction = log, connection, direction

    def write(self, data: bytes) -> None:
        self.log.add(self.connection, self.direction, data)

    def flush(self) -> None:
        pass


class ReplyReader(Protocol):
    def feed(self, data: bytes) -> None: ...


R = TypeVar("R")


class Connection:
    """A named client connection with the protocol's reply reader attached."""

    def __init__(
        self,
        name: str,
        host: str,
        port: int,
        log: SessionLog,
        *,
        implicit_tls: bool,
        tls_context: ssl.SSLContext,
        server_name: str | None,
        connect_timeout: float,
    ) -> None:
        self.name, self.host, self.port, self.log = name, host, port, log
        self.tls_context, self.server_name = tls_context, server_name
        self.tls = False
        try:
            sock = socket.create_connection((host, port), timeout=connect_timeout)
        except OSError as exc:
            raise ConnectFailed(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
        log.note(name, f"connected to {host}:{port}")
        self._spawn = self._make_spawn(sock)
        if implicit_tls:
            self.start_tls(connect_timeout)

    def _make_spawn(self, sock: socket.socket) -> SocketSpawn:
        spawn = SocketSpawn(sock, timeout=10, maxread=READ_SIZE)
        spawn.logfile_send = _Logger(self.log, self.name, ">>")
        return spawn

    @property
    def socket(self) -> socket.socket:
        sock: socket.socket = self._spawn.socket
        return sock

    def send(self, data: bytes) -> None:
        try:
            self._spawn.send(data)
        except OSError as exc:
            raise ServerClosed(f"sending failed: {exc.strerror or exc}") from None

    def read_into(self, reader: ReplyReader, take: Callable[[], R | None], timeout: float) -> R:
        """Feed received bytes to `reader` until `take()` yields a reply, or fail by timeout/close."""
        deadline = time.monotonic() + timeout
        while True:
            reply = take()
            if reply is not None:
                return reply
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StepTimeout(f"no complete reply within {timeout:g} s")
            try:
                chunk = self._spawn.read_nonblocking(READ_SIZE, remaining)
            except TIMEOUT:
                raise StepTimeout(f"no complete reply within {timeout:g} s") from None
            except EOF:
                raise ServerClosed("the server closed the connection") from None
            except OSError as exc:
                raise ServerClosed(f"connection failed: {exc.strerror or exc}") from None
            self.log.add(self.name, "<<", chunk)
            reader.feed(chunk)

    def wait_for_close(self, timeout: float) -> bytes:
        """Read until the server closes; returns what arrived before (should be nothing)."""
        deadline = time.monotonic() + timeout
        received = b""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StepTimeout(f"the server did not close the connection within {timeout:g} s")
            try:
                chunk = self._spawn.read_nonblocking(READ_SIZE, remaining)
            except EOF:
                self.log.note(self.name, "closed by the server")
                return received
            except TIMEOUT:
                raise StepTimeout(f"the server did not close the connection within {timeout:g} s") from None
            except OSError:
                self.log.note(self.name, "connection reset by the server")
                return received  # a reset is a close too
            self.log.add(self.name, "<<", chunk)
            received += chunk

    def read_silence(self, timeout: float) -> bytes:
        """Whatever arrives within `timeout` (b'' when the server stays silent)."""
        try:
            chunk = bytes(self._spawn.read_nonblocking(READ_SIZE, timeout))
            self.log.add(self.name, "<<", chunk)
            return chunk
        except TIMEOUT:
            return b""
        except (EOF, OSError):
            raise ServerClosed("the server closed the connection") from None

    def start_tls(self, timeout: float) -> None:
        """TLS handshake on the open socket (STARTTLS after the go-ahead, or implicit TLS)."""
        raw = self.socket
        raw.settimeout(timeout)
        try:
            wrapped = self.tls_context.wrap_socket(raw, server_hostname=self.server_name)
        except (ssl.SSLError, OSError) as exc:
            raise SessionError(f"TLS handshake failed: {exc}") from None
        self.tls = True
        self.log.note(self.name, f"TLS established ({wrapped.version()}, {(wrapped.cipher() or ('?',))[0]})")
        self._spawn = self._make_spawn(wrapped)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._spawn.close()
        self.socket.close()  # when shutdown fails (a reset connection) the descriptor must still go
        self.log.note(self.name, "closed by the client")


def client_tls_context(ca_file: str | None, verify: bool) -> ssl.SSLContext:
    """The context the harness uses towards servers: verification as the target says."""
    context = ssl.create_default_context(cafile=ca_file) if verify else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
