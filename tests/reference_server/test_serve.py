"""`serve`, `faults` and `hash-password` as a user (or the harness) runs them."""

from __future__ import annotations

import asyncio
import json
import mailbox
import os
import signal
import smtplib
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from reference_server.accounts import verify_password
from reference_server.config import default_config, parse_config_text
from reference_server.faults import REGISTRY, Faults
from reference_server.main import ReferenceServer, write_ready_file
from tests.reference_server.smtp_support import FakeStore

ROOT: Final = Path(__file__).resolve().parents[2]
START_TIMEOUT: Final = 20.0


def python(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reference_server", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
        **kwargs,
    )


class Served:
    def __init__(self, process: subprocess.Popen[str], ready: dict[str, Any], ready_file: Path) -> None:
        self.process = process
        self.ready = ready
        self.ready_file = ready_file

    def port(self, name: str) -> int:
        return int(self.ready["listeners"][name]["port"])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    ready_file = tmp_path / "run" / "ready.json"
    command = [
        sys.executable,
        "-m",
        "reference_server",
        "serve",
        "--any-port",
        "--ready-file",
        str(ready_file),
        "--mail-root",
        str(tmp_path / "mail"),
        "--fault",
        "smtp.quit-no-close",
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not ready_file.exists():
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "no ready file"
            time.sleep(0.02)
        yield Served(process, json.loads(ready_file.read_text()), ready_file)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        if process.stderr:
            process.stderr.close()


def test_serve_writes_ready_file_delivers_and_stops_cleanly(served: Served, tmp_path: Path) -> None:
    ready = served.ready
    assert ready["pid"] == served.process.pid
    assert ready["hostname"] == "mail.example.test" and ready["domains"] == ["example.test"]
    assert ready["mail_root"] == str(tmp_path / "mail")
    assert ready["faults"] == ["smtp.quit-no-close"]
    assert set(ready["listeners"]) == {"smtp", "submission", "pop3"}  # imap has no server yet
    for info in ready["listeners"].values():
        assert info["host"] == "127.0.0.1" and info["port"] > 0 and info["tls"] == "starttls"

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the self-signed certificate made at start
    with smtplib.SMTP("127.0.0.1", served.port("submission"), timeout=10) as client:
        client.starttls(context=context)
        client.login("alice", "alicepw")
        client.sendmail("alice@example.test", ["bob@example.test"], b"Subject: served\r\n\r\nhello\r\n")
    inbox = mailbox.Maildir(tmp_path / "mail" / "users" / "bob" / "Maildir", create=False)
    (message,) = [inbox.get_bytes(key) for key in inbox.iterkeys()]
    assert message.startswith(b"Return-Path: <alice@example.test>")
    assert message.endswith(b"\r\nSubject: served\r\n\r\nhello\r\n")

    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(15) == 0
    assert not served.ready_file.exists()
    assert served.process.stderr is not None
    log = served.process.stderr.read()
    assert "Traceback" not in log
    assert "smtp listening on 127.0.0.1:" in log and "stopped" in log


def test_sigint_sends_421_to_live_sessions_and_exits_0(served: Served) -> None:
    with smtplib.SMTP("127.0.0.1", served.port("smtp"), timeout=10) as client:
        client.ehlo()
        served.process.send_signal(signal.SIGINT)
        code, _ = client.getreply()
        assert code == 421  # RFC 5321 §3.8
        client.close()
    assert served.process.wait(15) == 0


def test_config_error_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('domains = ["example.org"]\n[limits]\nmax_recipients = "lots"\n')
    done = python("serve", "--config", str(config))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert f"{config}: [limits] max_recipients: must be an integer" in done.stderr


def test_unknown_fault_is_exit_2_with_the_known_names() -> None:
    done = python("serve", "--fault", "smtp.nonsense")
    assert done.returncode == 2
    assert "smtp.nonsense" in done.stderr and "smtp.rset-ignored" in done.stderr


def test_faults_command() -> None:
    done = python("faults")
    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == len(REGISTRY)
    assert "smtp.dot-unstuffing-missing" in done.stdout and "RFC 5321 §4.5.2" in done.stdout


def test_hash_password_command() -> None:
    done = python("hash-password", input="s3cret\n")
    assert done.returncode == 0
    assert verify_password("s3cret", done.stdout.strip())
    assert "s3cret" not in done.stdout


def test_no_command_is_usage_error() -> None:
    assert python().returncode == 2


def test_ready_file_is_written_atomically(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "ready.json"
    write_ready_file(path, {"pid": 1})
    assert json.loads(path.read_text()) == {"pid": 1}
    assert [p.name for p in path.parent.iterdir()] == ["ready.json"]  # no temporary left behind


def test_reference_server_in_process(tmp_path: Path) -> None:
    """The class `serve` uses, with any store: listeners, ready info, users created."""
    config = parse_config_text(
        'domains = ["example.test"]\n'
        "[[accounts]]\nlogin = 'alice'\naddress = 'alice@example.test'\npassword = 'pw'\n"
        "[[listeners]]\nname = 'mx'\nprotocol = 'smtp'\ntls = 'none'\n"
        "[[listeners]]\nname = 'sub'\nprotocol = 'submission'\ntls = 'starttls'\n"
        "[[listeners]]\nname = 'imap'\nprotocol = 'imap'\n",
        "test",
    )
    store = FakeStore(tmp_path / "mail")

    async def scenario() -> dict[str, Any]:
        server = ReferenceServer(config, store, Faults.of(["smtp.open-relay"]), any_port=True)
        listeners = await server.start()
        try:
            assert set(listeners) == {"mx", "sub"}
            assert listeners["mx"].host == "127.0.0.1" and listeners["mx"].port > 0
            reader, writer = await asyncio.open_connection("127.0.0.1", listeners["mx"].port)
            assert (await reader.readline()).startswith(b"220 ")
            writer.write(b"EHLO c.example\r\n")
            reply = b""
            while not reply.endswith(b"\r\n") or reply.splitlines()[-1][3:4] != b" ":
                reply += await reader.readline()
            assert b"STARTTLS" not in reply  # tls = "none" on this listener
            writer.close()
            await writer.wait_closed()
            return server.ready_info(tmp_path / "mail")
        finally:
            await server.stop()

    info = asyncio.run(scenario())
    assert info["faults"] == ["smtp.open-relay"]
    assert set(info["listeners"]) == {"mx", "sub"}
    assert (tmp_path / "mail" / "alice").is_dir()  # ensure_user ran for each account


def test_default_config_serves_smtp_and_submission() -> None:
    protocols = {lst.protocol for lst in default_config().listeners}
    assert {"smtp", "submission", "pop3", "imap"} == protocols
