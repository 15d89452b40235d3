"""Test helpers for the outgoing queue: a scripted next hop, `serve` child processes, polling waits.

The next hop is a deliberately small SMTP server on 127.0.0.1 (one asyncio server, one
line at a time) whose RCPT replies follow a script, so a test can say "451 the first
time, 250 afterwards" and then see exactly what arrived: sessions, envelopes, data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

HOP_TIMEOUT: Final = 10.0  # seconds any read of the hop waits before it gives up on a client
ROOT: Final = Path(__file__).resolve().parents[3]  # the repository


@dataclass
class Received:
    """One message the hop accepted (data unstuffed, as the client meant it)."""

    mail_from: str
    recipients: list[str]
    data: bytes
    at: float


@dataclass
class Session:
    commands: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)


class ScriptedHop:
    """A next hop whose RCPT replies come from `script` (address -> replies to use in turn).

    An address with replies left gets the next one; then `default` ("250 2.1.5 OK").
    `always` maps an address to a reply it gets every time. `final_delay` holds the reply
    after the final dot, to have an attempt in flight.
    """

    def __init__(
        self,
        script: dict[str, list[str]] | None = None,
        *,
        always: dict[str, str] | None = None,
        final_delay: float = 0.0,
        port: int = 0,
    ) -> None:
        self.script = {k.lower(): list(v) for k, v in (script or {}).items()}
        self.always = {k.lower(): v for k, v in (always or {}).items()}
        self.final_delay = final_delay
        self.sessions: list[Session] = []
        self.messages: list[Received] = []
        self.rcpt_attempts: list[tuple[str, float]] = []
        self.open_now = 0  # connections open at this moment
        self.most_open = 0  # the most that were ever open at once
        self._server: asyncio.Server | None = None
        self.port = port

    async def __aenter__(self) -> ScriptedHop:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def rcpt_reply(self, address: str) -> str:
        key = address.lower()
        if key in self.always:
            return self.always[key]
        queued = self.script.get(key)
        if queued:
            return queued.pop(0)
        return "250 2.1.5 OK"

    def delivered_to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address.lower() in (r.lower() for r in m.recipients)]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session()
        self.sessions.append(session)
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)

        async def say(line: str) -> None:
            writer.write(line.encode() + b"\r\n")
            await writer.drain()

        try:
            await say("220 hop.test ESMTP scripted")
            mail_from: str | None = None
            accepted: list[str] = []
            while True:
                raw = await asyncio.wait_for(reader.readline(), HOP_TIMEOUT)
                if not raw:
                    return
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                session.commands.append(line)
                verb = line[:4].upper()
                if verb in ("EHLO", "HELO"):
                    await say("250-hop.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES")
                elif verb == "MAIL":
                    mail_from, accepted = line[10:].split(">")[0].lstrip("<"), []
                    await say("250 2.1.0 OK")
                elif verb == "RCPT":
                    address = line[8:].split(">")[0].lstrip("<")
                    self.rcpt_attempts.append((address, time.monotonic()))
                    reply = self.rcpt_reply(address)
                    if reply.startswith("2"):
                        accepted.append(address)
                    await say(reply)
                elif verb == "DATA":
                    if mail_from is None or not accepted:
                        await say("554 5.5.1 no valid recipients")
                        continue
                    await say("354 go ahead")
                    data = await self._read_data(reader)
                    if self.final_delay:
                        await asyncio.sleep(self.final_delay)
                    self.messages.append(Received(mail_from, accepted, data, time.monotonic()))
                    mail_from, accepted = None, []
                    await say("250 2.0.0 queued")
                elif verb == "RSET":
                    mail_from, accepted = None, []
                    await say("250 2.0.0 OK")
                elif verb == "QUIT":
                    await say("221 2.0.0 bye")
                    return
                else:
                    await say("500 5.5.2 what?")
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self.open_now -= 1
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    @staticmethod
    async def _read_data(reader: asyncio.StreamReader) -> bytes:
        lines: list[bytes] = []
        while True:
            line = await asyncio.wait_for(reader.readline(), HOP_TIMEOUT)
            if not line:
                raise ConnectionError("client closed during data")
            if line == b".\r\n":
                return b"".join(lines)
            lines.append(line[1:] if line.startswith(b".") else line)  # RFC 5321 §4.5.2


async def wait_until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll until `condition()` holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.02)


class ServeProcess:
    """`python -m reference_server serve --config FILE` as a child process, ready when its ready file appears."""

    def __init__(self, config: Path, work: Path, name: str, *faults: str) -> None:
        self.config = config
        self.ready_file = work / f"{name}.ready.json"
        self.log = work / f"{name}.log"
        self.faults = faults
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> dict[str, object]:
        self.ready_file.unlink(missing_ok=True)
        command = [sys.executable, "-m", "reference_server", "serve", "--config", str(self.config)]
        command += ["--ready-file", str(self.ready_file)]
        for fault in self.faults:
            command += ["--fault", fault]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while not self.ready_file.exists():
            if self.process.poll() is not None:
                raise AssertionError(f"{self.config.name} exited at start: {self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"{self.config.name} did not start in {timeout:g} s: {self.log_tail()}")
            time.sleep(0.02)
        ready: dict[str, object] = json.loads(self.ready_file.read_text())
        return ready

    def log_tail(self, lines: int = 8) -> str:
        try:
            return " | ".join(self.log.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs (the crash the spool must survive)."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def free_ports(count: int) -> list[int]:
    """Ports nobody listens on right now (all bound at once, so they are distinct)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def run_queue_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`mailconform queue ...` exactly as a user runs it."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return subprocess.run(
        [sys.executable, "-m", "harness", "queue", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=env,
        cwd=ROOT,
    )


def poll(condition: Callable[[], bool], timeout: float = 20.0, what: str = "condition", interval: float = 0.1) -> None:
    """The blocking twin of `wait_until`, for tests that drive child processes."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
