"""targets/dovecot/start: a real Dovecot (POP3, IMAP), with the Postfix that delivers into it over LMTP.

Started for real on free ports, skipped with the reason where the machine cannot run it and
failed instead under CI (tests/targets/target_support.py).
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Final

import pytest

from harness.targets import external_target
from tests.targets.target_support import SOCKET_TIMEOUT, TargetScripts, free_ports, running_instance

DELIVERY_TIMEOUT: Final = 30.0  # Postfix's queue manager -> lmtp(8) -> Dovecot is asynchronous
# dovecot.conf.in sets auth_failure_delay = 0 and turns anvil's penalty off; what is left is
# Dovecot's 0.5 s failure flush. Stock settings take 2 s and more, growing to 15 s.
FAILED_LOGIN_BUDGET: Final = 1.5
DOVECOT: Final = TargetScripts("Dovecot", "dovecot", "/usr/sbin/dovecot", "Dovecot and Postfix start as root")

# What start is documented to configure (targets/dovecot/README.md, target.toml.in).
SERVER_NAME: Final = "mail.example.test"
DOMAIN: Final = "example.test"
ACCOUNTS: Final = {"alice": "alicepw", "bob": "bobpw"}
CLIENT_NAME: Final = "client.mailconform.test"

# One instance per run, not one per xdist worker: tox runs with --dist loadgroup.
pytestmark = pytest.mark.xdist_group("dovecot-target")


@dataclass(frozen=True)
class DovecotInstance:
    root: Path
    pop3_port: int
    imap_port: int
    smtp_port: int
    pop3s_port: int
    imaps_port: int

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.pop3_port, self.imap_port, self.smtp_port, self.pop3s_port, self.imaps_port)

    @property
    def target_file(self) -> Path:
        return self.root / "target.toml"

    @property
    def ca_file(self) -> Path:
        return self.root / "tls" / "cert.pem"

    @property
    def config(self) -> Path:
        return self.root / "dovecot" / "dovecot.conf"


@pytest.fixture(scope="module")
def dovecot() -> Iterator[DovecotInstance]:
    instance_ports = free_ports(5)
    with running_instance(DOVECOT, _port_variables(*instance_ports)) as root:
        yield DovecotInstance(root, *instance_ports)


def _port_variables(pop3: int, imap: int, smtp: int, pop3s: int, imaps: int) -> dict[str, int]:
    """How targets/dovecot/start is told its ports (targets/dovecot/README.md)."""
    return {
        "DOVECOT_POP3_PORT": pop3,
        "DOVECOT_IMAP_PORT": imap,
        "DOVECOT_SMTP_PORT": smtp,
        "DOVECOT_POP3S_PORT": pop3s,
        "DOVECOT_IMAPS_PORT": imaps,
    }


def _verifying_context(instance: DovecotInstance) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(instance.ca_file))


class LineClient:
    """CRLF lines over a socket that can turn into TLS; no protocol knowledge of its own."""

    def __init__(self, port: int, tls: ssl.SSLContext | None = None) -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT)
        self._sock = tls.wrap_socket(sock, server_hostname=SERVER_NAME) if tls is not None else sock
        self._reader = self._sock.makefile("rb")

    def line(self) -> bytes:
        raw = self._reader.readline()
        assert raw.endswith(b"\r\n"), f"line not ended by CRLF: {raw!r}"
        return raw[:-2]

    def send(self, line: str) -> None:
        self._sock.sendall(line.encode("ascii") + b"\r\n")

    def start_tls(self, context: ssl.SSLContext) -> None:
        """Handshake on the same connection; the caller has read the go-ahead."""
        self._reader.close()
        self._sock = context.wrap_socket(self._sock, server_hostname=SERVER_NAME)
        self._reader = self._sock.makefile("rb")

    def close(self) -> None:
        self._reader.close()
        self._sock.close()


class Pop3Client(LineClient):
    """Just enough POP3 (RFC 1939) to look at raw status lines and multi-line bodies."""

    def command(self, line: str) -> bytes:
        self.send(line)
        return self.line()

    def body(self) -> list[bytes]:
        """The lines of a multi-line response up to "." (RFC 1939 §3), byte-unstuffed."""
        lines: list[bytes] = []
        while (line := self.line()) != b".":
            lines.append(line[1:] if line.startswith(b".") else line)
        return lines

    def capabilities(self) -> set[str]:
        """CAPA tags (RFC 2449 §5): the first word of each line of the body."""
        status = self.command("CAPA")
        assert status.startswith(b"+OK"), status
        return {line.decode("ascii").split(" ")[0].upper() for line in self.body()}

    def login(self, user: str, password: str) -> bytes:
        """USER then PASS (RFC 1939 §7); returns the status line of PASS."""
        assert self.command(f"USER {user}").startswith(b"+OK")
        return self.command(f"PASS {password}")


def _pop3_after_stls(instance: DovecotInstance) -> Pop3Client:
    client = Pop3Client(instance.pop3_port)
    assert client.line().startswith(b"+OK")  # RFC 1939 §4: the greeting is a positive response
    assert client.command("STLS").startswith(b"+OK")  # RFC 2595 §4
    client.start_tls(_verifying_context(instance))  # verifies the chain and mail.example.test
    return client


def test_target_file_describes_the_instance(dovecot: DovecotInstance) -> None:
    target = external_target({}, target_file=dovecot.target_file)

    assert target.name == "dovecot"
    assert target.domain == DOMAIN
    assert target.server_name == SERVER_NAME
    assert {(p, e.host, e.port, e.tls) for p, e in target.endpoints.items()} == {
        ("pop3", "127.0.0.1", dovecot.pop3_port, "starttls"),
        ("imap", "127.0.0.1", dovecot.imap_port, "starttls"),
        ("smtp", "127.0.0.1", dovecot.smtp_port, "starttls"),
    }
    assert {role: (a.login, a.password, a.address) for role, a in target.accounts.items()} == {
        role: (role, password, f"{role}@{DOMAIN}") for role, password in ACCOUNTS.items()
    }
    assert target.ca_file == str(dovecot.ca_file)
    assert target.verify_tls


def test_pop3_greets_and_offers_stls(dovecot: DovecotInstance) -> None:
    client = Pop3Client(dovecot.pop3_port)
    try:
        greeting = client.line()
        capabilities = client.capabilities()
        quit_status = client.command("QUIT")
    finally:
        client.close()

    assert greeting.startswith(b"+OK")  # RFC 1939 §4
    assert "STLS" in capabilities  # RFC 2595 §4: ssl = yes offers STLS
    assert quit_status.startswith(b"+OK")  # RFC 1939 §4: QUIT in AUTHORIZATION is +OK


def test_pop3_after_stls_allows_plaintext_login(dovecot: DovecotInstance) -> None:
    client = _pop3_after_stls(dovecot)
    try:
        capabilities = client.capabilities()
        status = client.login("bob", ACCOUNTS["bob"])
        stat = client.command("STAT")
        client.command("QUIT")
    finally:
        client.close()

    assert {"USER", "SASL"} <= capabilities  # RFC 2449 §6.2, §6.3: offered inside TLS
    assert status.startswith(b"+OK")
    # RFC 1939 §5 STAT: "+OK" SP count SP octets.
    words = stat.split(b" ")
    assert words[0] == b"+OK" and words[1].isdigit() and words[2].isdigit(), stat


def test_pop3_wrong_password_fails_fast(dovecot: DovecotInstance) -> None:
    client = _pop3_after_stls(dovecot)
    try:
        began = time.monotonic()
        failed = client.login("alice", "not-" + ACCOUNTS["alice"])
        elapsed = time.monotonic() - began
        good = client.login("alice", ACCOUNTS["alice"])
    finally:
        client.close()

    assert failed.startswith(b"-ERR")  # RFC 1939 §7 PASS
    assert elapsed < FAILED_LOGIN_BUDGET, f"failed login took {elapsed:.2f} s: the delays are back"
    assert good.startswith(b"+OK"), "a good login right after a failure must still work"


def _message(token: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"alice@{DOMAIN}"
    message["To"] = f"bob@{DOMAIN}"
    message["Subject"] = token
    message.set_content(body)
    return message


def _retr_by_subject(instance: DovecotInstance, token: str) -> EmailMessage | None:
    """One POP3 session: RETR every message of bob's and return the one titled `token`."""
    client = _pop3_after_stls(instance)
    try:
        assert client.login("bob", ACCOUNTS["bob"]).startswith(b"+OK")
        status = client.command("STAT")
        count = int(status.split(b" ")[1])
        for number in range(1, count + 1):
            assert client.command(f"RETR {number}").startswith(b"+OK")
            raw = b"\r\n".join(client.body()) + b"\r\n"
            parsed = BytesParser(policy=policy.default).parsebytes(raw)
            assert isinstance(parsed, EmailMessage)
            if parsed["Subject"] == token:
                return parsed
        return None
    finally:
        client.close()


def test_doveadm_save_then_pop3_retr_unstuffs_dot_lines(dovecot: DovecotInstance) -> None:
    token = f"mailconform-save-{os.getpid()}-{time.monotonic_ns()}"
    body = "first line\n.a line that starts with the termination octet\n.\nlast line\n"
    saved = subprocess.run(
        ["doveadm", "-c", str(dovecot.config), "save", "-u", "bob"],
        input=bytes(_message(token, body)),
        capture_output=True,
        timeout=SOCKET_TIMEOUT,
        check=False,
    )
    assert saved.returncode == 0, saved.stderr.decode(errors="replace")

    retrieved = _retr_by_subject(dovecot, token)

    assert retrieved is not None, f"no message {token} in bob's mailbox"
    # RFC 1939 §3: lines starting with "." are byte-stuffed on the wire; after unstuffing
    # the client sees the message as stored (in CRLF lines, RFC 1939 §11).
    assert retrieved.get_content().splitlines() == body.splitlines()


def test_smtp_delivery_reaches_pop3_through_lmtp(dovecot: DovecotInstance) -> None:
    import smtplib

    token = f"mailconform-lmtp-{os.getpid()}-{time.monotonic_ns()}"
    port = dovecot.smtp_port
    with smtplib.SMTP("127.0.0.1", port, local_hostname=CLIENT_NAME, timeout=SOCKET_TIMEOUT) as smtp:
        refused = smtp.send_message(_message(token, "via Postfix and LMTP\n"))
    assert refused == {}

    deadline = time.monotonic() + DELIVERY_TIMEOUT
    retrieved = _retr_by_subject(dovecot, token)
    while retrieved is None and time.monotonic() < deadline:
        time.sleep(0.1)
        retrieved = _retr_by_subject(dovecot, token)

    assert retrieved is not None, f"{token} not in bob's mailbox after {DELIVERY_TIMEOUT:g} s"
    # RFC 5321 §4.4: final delivery inserts the return path, and each hop a Received line.
    assert retrieved["Return-Path"] == f"<alice@{DOMAIN}>"
    assert len(retrieved.get_all("Received") or []) >= 2  # Postfix's and Dovecot LMTP's


def test_implicit_tls_pop3_port_greets(dovecot: DovecotInstance) -> None:
    client = Pop3Client(dovecot.pop3s_port, tls=_verifying_context(dovecot))
    try:
        greeting = client.line()
        status = client.login("alice", ACCOUNTS["alice"])
        client.command("QUIT")
    finally:
        client.close()

    assert greeting.startswith(b"+OK")  # RFC 8314 §3.1: TLS first, then the protocol as usual
    assert status.startswith(b"+OK")


def _imap_exchange(client: LineClient, tag: str, command: str) -> tuple[list[bytes], bytes]:
    """Untagged lines, then the tagged completion (RFC 3501 §2.2.2)."""
    client.send(f"{tag} {command}")
    untagged: list[bytes] = []
    while not (line := client.line()).startswith(tag.encode() + b" "):
        untagged.append(line)
    return untagged, line


def test_imap_greets_and_logs_in_after_starttls(dovecot: DovecotInstance) -> None:
    client = LineClient(dovecot.imap_port)
    try:
        greeting = client.line()
        _, starttls = _imap_exchange(client, "a1", "STARTTLS")
        client.start_tls(_verifying_context(dovecot))
        _, login = _imap_exchange(client, "a2", f"LOGIN bob {ACCOUNTS['bob']}")
        untagged, select = _imap_exchange(client, "a3", "SELECT INBOX")
        _imap_exchange(client, "a4", "LOGOUT")
    finally:
        client.close()

    assert greeting.startswith(b"* OK")  # RFC 3501 §7.1.1: greeting without pre-authentication
    assert starttls.startswith(b"a1 OK")  # RFC 3501 §6.2.1
    assert login.startswith(b"a2 OK")
    assert select.startswith(b"a3 OK")
    assert any(line.endswith(b" EXISTS") for line in untagged)  # RFC 3501 §6.3.1: REQUIRED


def test_start_again_restarts_in_place(dovecot: DovecotInstance) -> None:
    result = DOVECOT.start(dovecot.root, _port_variables(*dovecot.ports))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "stopping the previous instance" in result.stdout
    client = Pop3Client(dovecot.pop3_port)
    try:
        greeting = client.line()
        client.command("QUIT")
    finally:
        client.close()
    assert greeting.startswith(b"+OK")
