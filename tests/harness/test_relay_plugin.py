"""Relay cases end to end through the plugin, against an external relaying server.

The server under test is a small relay built on aiosmtpd (a server this project did not
write): it hands every message for relay.example to the address the target file names as
the capture hop. The harness, run as a user would run it (`python -m pytest -p
harness.plugin` in a subprocess), must listen there, see the message, and judge H:/D: lines;
without `[relay]` in the target file the same cases are skipped with the reason.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.support import free_port, smtp_child
from tests.harness.test_plugin_integration import conformance, outcomes, run_pytest, write

pytest.importorskip("aiosmtpd")


RELAY_SERVER = '''\
"""A relay for the test: aiosmtpd, forwarding relay.example mail to the capture hop before its 250."""
import asyncio
import smtplib
import sys

from aiosmtpd.smtp import SMTP


def forward(port, sender, recipients, content):
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail(sender, recipients, content)


class Relay:
    def __init__(self, hop_port):
        self.hop_port = hop_port

    async def handle_DATA(self, server, session, envelope):
        recipients = [r for r in envelope.rcpt_tos if r.lower().endswith("@relay.example")]
        if recipients:
            await asyncio.to_thread(forward, self.hop_port, envelope.mail_from, recipients, envelope.original_content)
        return "250 OK relayed"


async def main():
    port, hop_port = int(sys.argv[1]), int(sys.argv[2])
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(Relay(hop_port)), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


asyncio.run(main())
'''

CASES = """\
spec: RFC5321 §3.6 Relaying and Mail Routing
protocol: smtp

== relayed-as-sent SPEC
~ the relay hands the message on with its envelope and content
C: MAIL FROM:<sender-$case@$relay_domain>
S: 250
C: RCPT TO:<rcpt-$case@$relay_domain>
S: 250
C: DATA
S: 354
C: Subject: via the relay $case
C:
C: ..dotted
C: .
S: 250
! hop-wait rcpt-$case@$relay_domain
H: MAIL FROM:<sender-$case@$relay_domain>*
H: RCPT TO:<rcpt-$case@$relay_domain>*
D: Subject: via the relay $case
D: .dotted

== received-field-added SPEC
~ this relay adds no Received: field, so this case fails
C: MAIL FROM:<sender-$case@$relay_domain>
S: 250
C: RCPT TO:<rcpt-$case@$relay_domain>
S: 250
C: DATA
S: 354
C: Subject: trace $case
C:
C: x
C: .
S: 250
! hop-wait rcpt-$case@$relay_domain
D: (?i)received:.* (re)
"""


@pytest.fixture(scope="module")
def relay_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """(the relay's SMTP port, the capture port it forwards to)."""
    script = tmp_path_factory.mktemp("relay") / "relay.py"
    script.write_text(RELAY_SERVER, encoding="utf-8")
    port, hop_port = free_port(), free_port()
    with smtp_child([sys.executable, str(script), str(port), str(hop_port)], port, "the relay"):
        yield port, hop_port


def target_toml(port: int, hop_port: int | None) -> str:
    text = f'name = "aiosmtpd relay"\ndomain = "example.test"\n\n[endpoints]\nsmtp = "127.0.0.1:{port}"\n'
    if hop_port is not None:
        text += (
            f'\n[relay]\ndomain = "relay.example"\nlegacy_domain = "legacy.example"\n'
            f'capture = "127.0.0.1:{hop_port}"\nlegacy_capture = "127.0.0.1:{free_port()}"\n'
        )
    return text


def test_relay_cases_see_what_the_relay_sent(tmp_path: Path, relay_server: tuple[int, int]) -> None:
    port, hop_port = relay_server
    (tmp_path / "target.toml").write_text(target_toml(port, hop_port), encoding="utf-8")
    paths = write(tmp_path, relay=CASES)
    code, output = run_pytest(
        tmp_path, *paths, "--target-file", str(tmp_path / "target.toml"), f"--report-dir={tmp_path}"
    )
    assert code == 0, output  # SPEC failures do not fail the run
    assert outcomes(tmp_path) == {"relay::relayed-as-sent": "passed", "relay::received-field-added": "failed"}
    failed = next(case for case in conformance(tmp_path)["cases"] if case["outcome"] == "failed")
    assert failed["reason"] == "no data line matches"


def test_without_relay_section_relay_cases_are_skipped(tmp_path: Path, relay_server: tuple[int, int]) -> None:
    port, _ = relay_server
    (tmp_path / "target.toml").write_text(target_toml(port, None), encoding="utf-8")
    paths = write(tmp_path, relay=CASES)
    code, output = run_pytest(
        tmp_path, *paths, "--target-file", str(tmp_path / "target.toml"), f"--report-dir={tmp_path}", "-rs"
    )
    assert code == 0, output
    assert set(outcomes(tmp_path).values()) == {"skipped"}
    assert "the target file has no [relay] section" in output


def test_capture_address_in_use_fails_relay_cases_with_the_reason(
    tmp_path: Path, relay_server: tuple[int, int]
) -> None:
    port, _ = relay_server
    with socket.create_server(("127.0.0.1", 0)) as taken:
        (tmp_path / "target.toml").write_text(target_toml(port, taken.getsockname()[1]), encoding="utf-8")
        paths = write(tmp_path, relay=CASES)
        code, output = run_pytest(
            tmp_path, *paths, "--target-file", str(tmp_path / "target.toml"), f"--report-dir={tmp_path}"
        )
    assert code == 0, output  # SPEC cases: reported, not blocking
    assert set(outcomes(tmp_path).values()) == {"failed"}
    reasons = {case["reason"] for case in conformance(tmp_path)["cases"]}
    assert len(reasons) == 1 and "the capture hop cannot listen" in reasons.pop()
    assert "--dist loadgroup" in output
