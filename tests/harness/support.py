"""Helpers for the engine tests: transcripts from text, a scripted loopback server, loopback targets.

The scripted server stands in for "a server that behaves exactly like this": each accepted
connection replays a fixed list of actions, so a test can produce any misbehaviour (silence,
an early close, plaintext after a TLS go-ahead) on demand. Every wait in it is bounded, so a
test that goes wrong ends by itself instead of hanging the run.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final

from harness.targets import Account, Endpoint, Target
from harness.transcript.model import Case, Transcript
from harness.transcript.parser import parse_transcript

SCRIPT_TIMEOUT: Final = 5.0  # the longest any scripted server waits for anything
POLL: Final = 0.05  # how often a waiting server thread looks at its stop flag


def transcript(text: str, name: str = "t.mt") -> Transcript:
    """Parse suite text as if it were the file `name` (which shows in error messages)."""
    return parse_transcript(text, Path(name))


def one_case(text: str) -> Case:
    """The only case of a transcript."""
    (case,) = transcript(text).cases
    return case


@dataclass(frozen=True)
class Send:
    data: bytes


@dataclass(frozen=True)
class Receive:
    """Read until `until` has arrived (after what earlier Receives consumed)."""

    until: bytes


@dataclass(frozen=True)
class Pause:
    seconds: float


@dataclass(frozen=True)
class Close:
    """Close the connection now instead of waiting for the client to close."""


@dataclass(frozen=True)
class StartTls:
    """Wrap the connection in TLS as the server side and complete the handshake."""

    context: ssl.SSLContext


@dataclass(frozen=True)
class Snapshot:
    """Remember all that has arrived by now (in `snapshots[i]`), e.g. to prove an order of events."""


Action = Send | Receive | Pause | Close | StartTls | Snapshot


class ScriptError(Exception):
    """The client did not do what the script waited for."""


class ScriptedServer:
    """A TCP server on 127.0.0.1 that plays `scripts[i]` on the i-th accepted connection.

    After its script a connection stays open until the client closes it (or SCRIPT_TIMEOUT
    passes), so the client, not the server, decides when a case is over. `received[i]` holds
    every octet connection i sent, decrypted where TLS was on; `errors` what went wrong.
    """

    def __init__(self, *scripts: Sequence[Action]) -> None:
        self.scripts = scripts
        self.received = [bytearray() for _ in scripts]
        self.snapshots: list[list[bytes]] = [[] for _ in scripts]
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(POLL)
        self.port: int = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> ScriptedServer:
        thread = threading.Thread(target=self._accept_all, name="scripted-accept", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        deadline = time.monotonic() + SCRIPT_TIMEOUT
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))
        self._listener.close()

    def _accept_all(self) -> None:
        deadline = time.monotonic() + SCRIPT_TIMEOUT
        index = 0
        while index < len(self.scripts) and not self._stop.is_set() and time.monotonic() < deadline:
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(index, connection), daemon=True)
            self._threads.append(thread)
            thread.start()
            index += 1

    def _serve(self, index: int, connection: socket.socket) -> None:
        sock = connection
        buffer = bytearray()
        consumed = 0
        try:
            sock.settimeout(POLL)
            for action in self.scripts[index]:
                if isinstance(action, Send):
                    sock.sendall(action.data)
                elif isinstance(action, Receive):
                    while (found := buffer.find(action.until, consumed)) < 0:
                        chunk = self._recv(sock)
                        if not chunk:
                            raise ScriptError(f"closed before {action.until!r} arrived")
                        buffer += chunk
                        self.received[index] += chunk
                    consumed = found + len(action.until)
                elif isinstance(action, Pause):
                    time.sleep(action.seconds)
                elif isinstance(action, Close):
                    return
                elif isinstance(action, Snapshot):
                    with contextlib.suppress(TimeoutError):
                        while chunk := sock.recv(65536):  # drain what already waits in the socket
                            buffer += chunk
                            self.received[index] += chunk
                    self.snapshots[index].append(bytes(self.received[index]))
                else:
                    sock.settimeout(SCRIPT_TIMEOUT)
                    sock = action.context.wrap_socket(sock, server_side=True)
                    sock.settimeout(POLL)
                    buffer, consumed = bytearray(), 0
            with contextlib.suppress(OSError, ScriptError):
                while chunk := self._recv(sock):
                    self.received[index] += chunk
        except (OSError, ScriptError) as exc:
            self.errors.append(f"connection {index}: {exc}")
        finally:
            sock.close()

    def _recv(self, sock: socket.socket) -> bytes:
        """One chunk, b'' at the client's close; gives up after SCRIPT_TIMEOUT or at stop."""
        deadline = time.monotonic() + SCRIPT_TIMEOUT
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                return sock.recv(65536)
            except TimeoutError:
                continue
        raise ScriptError("nothing more arrived")


def loopback_target(
    ports: Mapping[str, int],
    *,
    tls: str = "plain",
    ca_file: str | None = None,
    server_name: str | None = None,
    step_timeout: float = SCRIPT_TIMEOUT,
) -> Target:
    """A target whose endpoints are loopback ports, with fixed accounts and run id."""
    return Target(
        name="scripted",
        endpoints={protocol: Endpoint(protocol, "127.0.0.1", port, tls) for protocol, port in ports.items()},
        domain="example.test",
        accounts={
            "alice": Account("alice", "alice-secret", "alice@example.test"),
            "bob": Account("bob", "bob-secret", "bob@example.test"),
        },
        unknown_address="nobody@example.test",
        foreign_address="someone@elsewhere.invalid",
        server_name=server_name,
        ca_file=ca_file,
        verify_tls=ca_file is not None,
        run_id="run42",
        step_timeout=step_timeout,
    )


def free_port() -> int:
    """A loopback port nothing listens on right now (bound, read, released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


CHILD_START_TIMEOUT: Final = 10.0


@contextlib.contextmanager
def smtp_child(command: Sequence[str], port: int, what: str) -> Iterator[subprocess.Popen[bytes]]:
    """An SMTP server as a child process, yielded once it greets on `port`; terminated afterwards."""
    process = subprocess.Popen(list(command), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + CHILD_START_TIMEOUT
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                    probe.settimeout(CHILD_START_TIMEOUT)
                    assert probe.recv(100).startswith(b"220")
                    probe.sendall(b"QUIT\r\n")
                    probe.recv(100)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{what} did not start") from None
                time.sleep(0.05)
        yield process
    finally:
        stop_child(process)


def stop_child(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited after `grace` seconds; always reaped."""
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
