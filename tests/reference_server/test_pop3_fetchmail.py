"""Debian's fetchmail retrieves mail from the reference POP3 server (STLS and implicit TLS).

fetchmail is a widely used, independent POP3 client: it uses CAPA, STLS with certificate
checks, USER/PASS, UIDL (keep mode), TOP and RETR. Skipped when fetchmail is not
installed, except in CI (``CI`` set), where it must be (Debian package ``fetchmail``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Final

import pytest
import trustme

from tests.reference_server.test_pop3_server import MESSAGES, Pop3Thread

FETCHMAIL: Final = shutil.which("fetchmail")
RUN_TIMEOUT: Final = 60
EXIT_RETRIEVED: Final = 0  # fetchmail(1) EXIT CODES: "One or more messages were successfully retrieved"
EXIT_NO_MAIL: Final = 1  # "There was no mail awaiting retrieval"

if FETCHMAIL is None:
    if os.environ.get("CI"):
        pytest.fail("fetchmail is not installed (apt-get install fetchmail)", pytrace=False)
    pytestmark = pytest.mark.skip(reason="fetchmail is not installed (Debian package fetchmail)")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


class Fetchmail:
    """One fetchmail configuration with its own home (UIDL memory) and an MDA writing one file per message."""

    def __init__(self, home: Path, ca: trustme.CA, port: int, *, keep: bool, implicit_tls: bool = False) -> None:
        self.home = home
        self.outbox = home / "delivered"
        self.outbox.mkdir(parents=True)
        ca_file = home / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        mda = home / "mda.sh"
        mda.write_text(f'#!/bin/sh\nexec cat > "{self.outbox}/$(date +%s%N).$$"\n')
        mda.chmod(0o700)
        tls = "ssl" if implicit_tls else 'sslproto "tls1.2+"'  # tls1.2+ on a plain port: STLS is required
        self.rc = home / "fetchmailrc"
        self.rc.write_text(
            "set no syslog\n"
            f"poll localhost via 127.0.0.1 port {port} protocol pop3 uidl timeout 20\n"
            '  user "alice" there with password "alicepw" is "nobody" here\n'
            f'  {tls} sslcertck sslcertfile "{ca_file}" sslcommonname "localhost"\n'
            f'  {"keep" if keep else "nokeep"} mda "{mda}"\n'
        )
        self.rc.chmod(0o600)  # fetchmail refuses a run control file others can read

    def run(self) -> subprocess.CompletedProcess[str]:
        assert FETCHMAIL is not None
        env = {**os.environ, "FETCHMAILHOME": str(self.home), "HOME": str(self.home)}
        return subprocess.run(
            [FETCHMAIL, "-f", str(self.rc), "--nodetach", "--nosyslog", "-v"],
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )

    def delivered(self) -> list[bytes]:
        return [path.read_bytes() for path in sorted(self.outbox.iterdir())]


def assert_delivered(fetchmail: Fetchmail, messages: tuple[bytes, ...]) -> None:
    """Each message arrives whole and unstuffed (fetchmail adds a Received: and uses LF)."""
    delivered = fetchmail.delivered()
    assert len(delivered) == len(messages)
    for message in messages:
        local = message.replace(b"\r\n", b"\n")
        assert sum(data.endswith(b"\n" + local) for data in delivered) == 1, local


def test_fetchmail_keep_mode_with_stls(tmp_path: Path, ca: trustme.CA) -> None:
    with Pop3Thread(tmp_path / "mail", ca) as server:
        server.deliver("alice", *MESSAGES)
        fetchmail = Fetchmail(tmp_path / "fm", ca, server.port, keep=True)
        first = fetchmail.run()
        assert first.returncode == EXIT_RETRIEVED, first.stderr + first.stdout
        assert "upgrade to TLS succeeded" in first.stderr + first.stdout
        assert_delivered(fetchmail, MESSAGES)
        server.idle("alice")
        second = fetchmail.run()  # UIDL tells fetchmail it has seen them all
        assert second.returncode == EXIT_NO_MAIL, second.stderr + second.stdout
        assert len(fetchmail.delivered()) == len(MESSAGES)
        server.idle("alice")
        assert len(server.store.snapshot("alice").messages) == len(MESSAGES)


def test_fetchmail_download_and_delete(tmp_path: Path, ca: trustme.CA) -> None:
    with Pop3Thread(tmp_path / "mail", ca) as server:
        server.deliver("alice", *MESSAGES)
        fetchmail = Fetchmail(tmp_path / "fm", ca, server.port, keep=False)
        first = fetchmail.run()
        assert first.returncode == EXIT_RETRIEVED, first.stderr + first.stdout
        assert_delivered(fetchmail, MESSAGES)
        server.idle("alice")
        assert server.store.snapshot("alice").messages == ()
        second = fetchmail.run()
        assert second.returncode == EXIT_NO_MAIL, second.stderr + second.stdout


def test_fetchmail_implicit_tls(tmp_path: Path, ca: trustme.CA) -> None:
    with Pop3Thread(tmp_path / "mail", ca, tls="implicit") as server:
        server.deliver("alice", MESSAGES[1])
        fetchmail = Fetchmail(tmp_path / "fm", ca, server.port, keep=False, implicit_tls=True)
        done = fetchmail.run()
        assert done.returncode == EXIT_RETRIEVED, done.stderr + done.stdout
        assert_delivered(fetchmail, (MESSAGES[1],))
