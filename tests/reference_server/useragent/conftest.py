"""Fixtures for the user agent tests: a running reference server and a way to call `mail_main`."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme

from reference_server.config import parse_config_text
from reference_server.main import ReferenceServer
from reference_server.storage.store import MaildirStore
from reference_server.useragent.cli import mail_main
from tests.reference_server.smtp_support import cheap_hashes
from tests.reference_server.useragent.useragent_support import CONFIG, HOST, PASSWORDS, MailServer, Run, ServerThread


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def mail_server(tmp_path: Path, ca: trustme.CA) -> Iterator[MailServer]:
    certificate = ca.issue_cert(HOST, "localhost")
    cert, key, cafile = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    certificate.cert_chain_pems[0].write_to_path(str(cert))
    certificate.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(cafile))
    config = parse_config_text(CONFIG.format(cert=cert, key=key, **cheap_hashes()), "useragent-test.toml")
    password_files = {}
    for login, password in PASSWORDS.items():
        password_files[login] = tmp_path / f"{login}.password"
        password_files[login].write_text(password + "\n")
    mail_root = tmp_path / "mail"
    runner = ServerThread(ReferenceServer(config, MaildirStore(mail_root), any_port=True))
    listeners = runner.start()
    try:
        yield MailServer(listeners, mail_root, cafile, password_files)
    finally:
        runner.stop()


@pytest.fixture
def run_mail(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    """Call mail_main as the console script would; stdin is what `stdin` says (empty if None)."""
    monkeypatch.delenv("MAILCONFORM_PASSWORD", raising=False)

    def run(*argv: str, stdin: bytes | None = None) -> Run:
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin or b""), encoding="utf-8"))
        code = mail_main(list(argv))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run
