"""targets/postfix/start: a real Postfix (with an auth-only Dovecot) on loopback that the harness can point at.

Started for real on free ports, skipped with the reason where the machine cannot run it and
failed instead under CI (tests/targets/target_support.py).
"""

from __future__ import annotations

import email.utils
import os
import smtplib
import socket
import ssl
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Final

import pytest
import tomli_w

from harness.targets import external_target
from tests.reference_server.queue.queue_support import ROOT, ServeProcess, run_queue_cli
from tests.targets.target_support import SOCKET_TIMEOUT, TargetScripts, free_ports, running_instance

DELIVERY_TIMEOUT: Final = 30.0  # queue manager -> virtual(8) -> Maildir is asynchronous
POSTFIX: Final = TargetScripts("Postfix", "postfix", "/usr/sbin/postfix", "Postfix starts as root")

# What start is documented to configure (targets/postfix/README.md, target.toml.in).
SERVER_NAME: Final = "mail.example.test"
DOMAIN: Final = "example.test"
ACCOUNTS: Final = {"alice": "alicepw", "bob": "bobpw"}
CLIENT_NAME: Final = "client.mailconform.test"
EXAMPLES: Final = ROOT / "docs" / "examples"

# One instance per run, not one per xdist worker: tox runs with --dist loadgroup.
pytestmark = pytest.mark.xdist_group("postfix-target")


@dataclass(frozen=True)
class PostfixInstance:
    root: Path
    smtp_port: int
    submission_port: int

    @property
    def target_file(self) -> Path:
        return self.root / "target.toml"

    @property
    def ca_file(self) -> Path:
        return self.root / "tls" / "cert.pem"

    def maildir(self, user: str) -> Path:
        return self.root / "mail" / DOMAIN / user


@pytest.fixture(scope="module")
def postfix() -> Iterator[PostfixInstance]:
    smtp_port, submission_port = free_ports(2)
    with running_instance(POSTFIX, _port_variables(smtp_port, submission_port)) as root:
        yield PostfixInstance(root, smtp_port, submission_port)


def _port_variables(smtp_port: int, submission_port: int) -> dict[str, int]:
    """How targets/postfix/start is told its ports (targets/postfix/README.md)."""
    return {"POSTFIX_SMTP_PORT": smtp_port, "POSTFIX_SUBMISSION_PORT": submission_port}


class SmtpLineClient:
    """Just enough SMTP to look at raw replies: codes and lines, no interpretation."""

    def __init__(self, port: int) -> None:
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT)
        self._reader = self._sock.makefile("rb")

    def reply(self) -> tuple[int, list[str]]:
        """One reply (RFC 5321 §4.2.1): lines "ddd-text" until the one with "ddd text"."""
        lines: list[str] = []
        while True:
            raw = self._reader.readline()
            assert raw.endswith(b"\r\n"), f"reply line not ended by CRLF: {raw!r}"
            line = raw[:-2].decode("ascii")
            lines.append(line)
            if line[3:4] != "-":
                return int(line[:3]), lines

    def command(self, line: str) -> tuple[int, list[str]]:
        self._sock.sendall(line.encode("ascii") + b"\r\n")
        return self.reply()

    def starttls(self, context: ssl.SSLContext, server_name: str) -> None:
        self._reader.close()
        self._sock = context.wrap_socket(self._sock, server_hostname=server_name)
        self._reader = self._sock.makefile("rb")

    def close(self) -> None:
        self._reader.close()
        self._sock.close()


def _ehlo_keywords(lines: list[str]) -> set[str]:
    """EHLO keywords (RFC 5321 §4.1.1.1 ehlo-line): the first word after "250-"/"250 "."""
    return {line[4:].split(" ")[0].upper() for line in lines[1:]}


def _verifying_context(instance: PostfixInstance) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(instance.ca_file))


def test_target_file_describes_the_instance(postfix: PostfixInstance) -> None:
    target = external_target({}, target_file=postfix.target_file)

    assert target.name == "postfix"
    assert target.domain == DOMAIN
    assert target.server_name == SERVER_NAME
    assert {(p, e.host, e.port, e.tls) for p, e in target.endpoints.items()} == {
        ("smtp", "127.0.0.1", postfix.smtp_port, "starttls"),
        ("submission", "127.0.0.1", postfix.submission_port, "starttls"),
    }
    assert {role: (a.login, a.password, a.address) for role, a in target.accounts.items()} == {
        role: (role, password, f"{role}@{DOMAIN}") for role, password in ACCOUNTS.items()
    }
    assert target.ca_file == str(postfix.ca_file)


def test_smtp_port_greets_and_answers_ehlo(postfix: PostfixInstance) -> None:
    client = SmtpLineClient(postfix.smtp_port)
    try:
        greeting_code, _ = client.reply()
        ehlo_code, ehlo_lines = client.command(f"EHLO {CLIENT_NAME}")
        quit_code, _ = client.command("QUIT")
    finally:
        client.close()

    assert greeting_code == 220  # RFC 5321 §4.2: service ready
    assert ehlo_code == 250
    # RFC 5321 §4.1.1.1: ehlo-ok-rsp starts "250" SP Domain or "250-" Domain.
    assert ehlo_lines[0][4:].split(" ")[0] == SERVER_NAME
    assert "STARTTLS" in _ehlo_keywords(ehlo_lines)  # RFC 3207 §3, smtpd_tls_security_level = may
    assert "AUTH" not in _ehlo_keywords(ehlo_lines)  # AUTH is for the submission port only
    assert quit_code == 221  # RFC 5321 §4.1.1.10


def test_starttls_presents_a_certificate_for_the_server_name(postfix: PostfixInstance) -> None:
    client = SmtpLineClient(postfix.smtp_port)
    try:
        client.reply()
        client.command(f"EHLO {CLIENT_NAME}")
        code, _ = client.command("STARTTLS")
        assert code == 220  # RFC 3207 §4: "220 Ready to start TLS"
        client.starttls(_verifying_context(postfix), SERVER_NAME)  # verifies chain and name
        code, lines = client.command(f"EHLO {CLIENT_NAME}")
    finally:
        client.close()

    assert code == 250
    # RFC 3207 §4.2: "A server MUST NOT return the STARTTLS extension in response to an
    # EHLO command received after a TLS handshake has completed."
    assert "STARTTLS" not in _ehlo_keywords(lines)


def _wait_for_message(maildir: Path, token: str) -> bytes:
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while time.monotonic() < deadline:
        for path in (maildir / "new").glob("*") if (maildir / "new").is_dir() else ():
            content = path.read_bytes()
            if token.encode() in content:
                return content
        time.sleep(0.1)
    raise AssertionError(f"no message with {token} in {maildir}/new after {DELIVERY_TIMEOUT:g} s")


def test_smtplib_delivers_into_bobs_maildir(postfix: PostfixInstance) -> None:
    token = f"mailconform-{os.getpid()}-{time.monotonic_ns()}"
    message = EmailMessage()
    message["From"] = f"alice@{DOMAIN}"
    message["To"] = f"bob@{DOMAIN}"
    message["Subject"] = token
    message.set_content("delivered by the Postfix target test\n")

    port = postfix.smtp_port
    with smtplib.SMTP("127.0.0.1", port, local_hostname=CLIENT_NAME, timeout=SOCKET_TIMEOUT) as smtp:
        refused = smtp.send_message(message, from_addr=f"alice@{DOMAIN}", to_addrs=[f"bob@{DOMAIN}"])
    assert refused == {}

    stored = BytesParser(policy=policy.default).parsebytes(_wait_for_message(postfix.maildir("bob"), token))
    assert stored["Subject"] == token
    # RFC 5321 §4.4: final delivery "inserts a return-path line" preserving the reverse-path,
    # and every server that receives a message "MUST insert trace ("time stamp" or
    # "Received") information at the beginning of the message content".
    assert stored["Return-Path"] == f"<alice@{DOMAIN}>"
    assert stored["Received"] is not None
    assert not any(token.encode() in path.read_bytes() for path in postfix.maildir("alice").glob("*/*"))


def test_mx_port_refuses_unknown_users_and_relaying(postfix: PostfixInstance) -> None:
    client = SmtpLineClient(postfix.smtp_port)
    try:
        client.reply()
        client.command(f"EHLO {CLIENT_NAME}")
        mail_code, _ = client.command(f"MAIL FROM:<alice@{DOMAIN}>")
        unknown_code, _ = client.command(f"RCPT TO:<no-such-user@{DOMAIN}>")
        foreign_code, _ = client.command("RCPT TO:<someone@elsewhere.invalid>")
        postmaster_code, _ = client.command("RCPT TO:<Postmaster>")
    finally:
        client.close()

    assert mail_code == 250
    assert 500 <= unknown_code < 600  # RFC 5321 §4.3.2: RCPT E: 550, 551, 553, ...
    assert 500 <= foreign_code < 600  # no relaying, not even from loopback
    # RFC 5321 §4.5.1: "the special case of "RCPT TO:<Postmaster>" (with no domain
    # specification), MUST be supported."
    assert postmaster_code == 250


def test_submission_offers_auth_only_after_starttls(postfix: PostfixInstance) -> None:
    client = SmtpLineClient(postfix.submission_port)
    try:
        client.reply()
        _, plain_lines = client.command(f"EHLO {CLIENT_NAME}")
        client.command("STARTTLS")
        client.starttls(_verifying_context(postfix), SERVER_NAME)
        _, tls_lines = client.command(f"EHLO {CLIENT_NAME}")
    finally:
        client.close()

    assert "AUTH" not in _ehlo_keywords(plain_lines)
    auth_lines = [line for line in tls_lines if line[4:].upper().startswith("AUTH ")]
    assert len(auth_lines) == 1
    assert {"PLAIN", "LOGIN"} <= set(auth_lines[0][4:].upper().split()[1:])


@pytest.mark.parametrize(("password", "expected"), [("alicepw", 235), ("not-alicepw", 535)])
def test_submission_authenticates_alice(postfix: PostfixInstance, password: str, expected: int) -> None:
    # The name check is test_starttls_presents_a_certificate_for_the_server_name's job;
    # smtplib would check it against "127.0.0.1".
    context = _verifying_context(postfix)
    context.check_hostname = False
    port = postfix.submission_port
    with smtplib.SMTP("127.0.0.1", port, local_hostname=CLIENT_NAME, timeout=SOCKET_TIMEOUT) as smtp:
        smtp.starttls(context=context)
        try:
            code, _ = smtp.login("alice", password)
        except smtplib.SMTPAuthenticationError as error:
            code = error.smtp_code
    # RFC 4954 §4: success is 235; a failed authentication SHOULD be 535.
    assert code == expected


def test_start_again_restarts_in_place(postfix: PostfixInstance) -> None:
    result = POSTFIX.start(postfix.root, _port_variables(postfix.smtp_port, postfix.submission_port))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "stopping the previous instance" in result.stdout
    client = SmtpLineClient(postfix.smtp_port)
    try:
        code, _ = client.reply()
    finally:
        client.close()
    assert code == 220


def _crepes_config(work: Path, next_hop_port: int) -> tuple[Path, int]:
    """docs/examples/crepes.fr.toml with fresh ports and mail root, and example.test routed to Postfix."""
    data: dict[str, Any] = tomllib.loads((EXAMPLES / "crepes.fr.toml").read_text())
    data["server"]["mail_root"] = str(work / "crepes.fr")
    ports = dict(zip(("smtp", "submission", "pop3"), free_ports(3), strict=True))
    for listener in data["listeners"]:
        listener["port"] = ports[listener["protocol"]]
    data["relay"]["routes"] = {DOMAIN: f"127.0.0.1:{next_hop_port}"}
    path = work / "crepes.fr.toml"
    path.write_text(tomli_w.dumps(data))
    return path, ports["submission"]


def test_reference_server_relays_alice_to_bob_through_postfix(postfix: PostfixInstance, tmp_path: Path) -> None:
    """Alice's server is a reference instance; Bob's is Postfix, which delivers to its Maildir.

    The reference queue relays over loopback to Postfix's port 25 stand-in, so Postfix's own
    delivery (virtual(8) into Bob's Maildir) is the proof the hand-over worked.
    """
    config, submission_port = _crepes_config(tmp_path, postfix.smtp_port)
    crepes = ServeProcess(config, tmp_path, "crepes.fr")
    crepes.start()
    token = f"mailconform-relay-{os.getpid()}-{time.monotonic_ns()}"
    sent = (
        f"From: Alice <alice@crepes.fr>\r\nTo: Bob <bob@{DOMAIN}>\r\nSubject: {token}\r\n"
        f"Date: {email.utils.formatdate(localtime=True)}\r\n"
        f"Message-ID: {email.utils.make_msgid(domain='crepes.fr')}\r\n\r\n"
        "Rendez-vous at noon.\r\n.A line that starts with a dot.\r\n"
    ).encode()
    try:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the reference server makes a self-signed certificate at start
        with smtplib.SMTP("127.0.0.1", submission_port, local_hostname="alice-laptop.crepes.fr", timeout=10) as smtp:
            smtp.starttls(context=context)
            smtp.login("alice", "alicepw")
            assert smtp.sendmail("alice@crepes.fr", [f"bob@{DOMAIN}"], sent) == {}
        data = _wait_for_message(postfix.maildir("bob"), token)
        queue = run_queue_cli("--config", str(config))
    finally:
        crepes.stop()

    stored = BytesParser(policy=policy.default).parsebytes(data)
    received = stored.get_all("Received") or []
    # RFC 5321 §4.4: each server adds its Received: at the top, so Postfix's hop comes first.
    assert len(received) >= 2, received
    assert f"by {SERVER_NAME}" in received[0] and "from mail.crepes.fr" in received[0]
    assert "by mail.crepes.fr" in received[1] and "from alice-laptop.crepes.fr" in received[1]
    assert stored["Return-Path"] == "<alice@crepes.fr>"  # the reverse-path survived the relay
    # Maildir files end lines with LF (Postfix's local convention); the dot line is intact,
    # so it was stuffed once by the relay client and unstuffed once by Postfix.
    assert data.endswith(sent.split(b"\r\n\r\n", 1)[1].replace(b"\r\n", b"\n"))
    assert queue.returncode == 0 and queue.stdout == "The queue is empty.\n"
