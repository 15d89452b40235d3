"""`mailconform mail send` against the real reference server over loopback.

What arrived is read from the server's Maildir with the stdlib (and parsed with the email
package), never from the agent's own output; failures must be one line each with the
exit code the help text promises.
"""

from __future__ import annotations

import email.policy
import socket
import subprocess
import sys
from collections.abc import Callable
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from reference_server.useragent.errors import (
    EXIT_AUTH,
    EXIT_CONNECT,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_REFUSED,
    EXIT_TLS,
    EXIT_USAGE,
)
from tests.reference_server.useragent.useragent_support import PASSWORDS, MailServer, Run

RunMail = Callable[..., Run]
MESSAGE = ["--from", "Alice <alice@example.test>", "--to", "Bob <bob@example.test>", "--subject", "Lunch"]


def parse(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def only_message(server: MailServer, user: str) -> EmailMessage:
    (raw,) = server.stored(user)
    return parse(raw)


def free_port() -> int:
    """A loopback port nobody listens on: bound for a moment by the OS, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_plain_text_to_bob_read_back_over_pop3(mail_server: MailServer, run_mail: RunMail) -> None:
    subject = "Grüße aus Köln — ça va?"
    sent = run_mail(
        "send",
        *mail_server.send_options("alice"),
        "--from",
        "Alice <alice@example.test>",
        "--to",
        "Bob <bob@example.test>",
        "--subject",
        subject,
        "--body",
        "Hello Bob,\nsee you at noon.\n",
    )
    assert (sent.code, sent.err) == (EXIT_OK, "")
    assert sent.out.startswith("sent <") and sent.out.endswith("@example.test> to bob@example.test\n")

    read = run_mail("read", "1", *mail_server.pop3_options("bob"))
    assert read.code == EXIT_OK, read.err
    headers, body = read.out.split("\n\n", 1)
    lines = headers.split("\n")
    assert lines[:2] == ["From: Alice <alice@example.test>", "To: Bob <bob@example.test>"]
    assert lines[2].startswith("Date: ")
    assert lines[3] == f"Subject: {subject}"
    assert body == "Hello Bob,\nsee you at noon.\n"


def test_html_alternative_and_two_attachments_arrive_byte_exact(
    mail_server: MailServer, run_mail: RunMail, tmp_path: Path
) -> None:
    binary = tmp_path / "Übersicht März.bin"
    binary.write_bytes(bytes(range(256)) * 3 + b"\r\n.\r\n")  # every octet, and a line that looks like the end of DATA
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    html = "<p>See you at <b>noon</b>.</p>"
    result = run_mail(
        "send",
        *mail_server.send_options(),
        *MESSAGE,
        "--body",
        "See you at noon.",
        "--html",
        html,
        "--attach",
        str(binary),
        "--attach",
        str(pdf),
    )
    assert result.code == EXIT_OK, result.err

    message = only_message(mail_server, "bob")
    assert message.get_content_type() == "multipart/mixed"
    body, first, second = message.iter_parts()
    assert body.get_content_type() == "multipart/alternative"
    plain, rich = body.iter_parts()
    assert plain.get_content().replace("\r\n", "\n") == "See you at noon.\n"
    assert rich.get_content().replace("\r\n", "\n") == html + "\n"
    assert (first.get_filename(), first.get_content_type()) == ("Übersicht März.bin", "application/octet-stream")
    assert first.get_payload(decode=True) == binary.read_bytes()
    assert (second.get_filename(), second.get_content_type()) == ("report.pdf", "application/pdf")
    assert second.get_payload(decode=True) == pdf.read_bytes()


def test_bcc_is_delivered_but_never_in_the_headers(mail_server: MailServer, run_mail: RunMail) -> None:
    result = run_mail(
        "send",
        *mail_server.send_options(),
        "--from",
        "alice@example.test",
        "--to",
        "alice@example.test",
        "--bcc",
        "Bob <bob@example.test>",
        "--subject",
        "secret copy",
        "--body",
        "x",
    )
    assert result.code == EXIT_OK, result.err
    for user in ("alice", "bob"):
        message = only_message(mail_server, user)
        assert message["Bcc"] is None
        listed = [a.addr_spec for field in ("To", "Cc") for a in getattr(message[field], "addresses", ())]
        assert listed == ["alice@example.test"]
        assert message["Subject"] == "secret copy"


def test_body_from_stdin(mail_server: MailServer, run_mail: RunMail) -> None:
    text = "Grüße von stdin\nzweite Zeile\n"
    result = run_mail("send", *mail_server.send_options(), *MESSAGE, stdin=text.encode())
    assert result.code == EXIT_OK, result.err
    assert only_message(mail_server, "bob").get_content().replace("\r\n", "\n") == text


def test_body_from_editor(mail_server: MailServer, run_mail: RunMail, monkeypatch: pytest.MonkeyPatch) -> None:
    editor = mail_server.mail_root.parent / "editor.py"
    editor.write_text(
        "import sys\nwith open(sys.argv[1], 'a', encoding='utf-8') as f:\n    f.write('Typed in é.\\n')\n"
    )
    monkeypatch.setenv("VISUAL", f"{sys.executable} {editor}")
    result = run_mail("send", *mail_server.send_options(), *MESSAGE, "--edit")
    assert result.code == EXIT_OK, result.err
    assert only_message(mail_server, "bob").get_content().replace("\r\n", "\n") == "Typed in é.\n"


def test_dry_run_prints_the_message_and_sends_nothing(mail_server: MailServer, run_mail: RunMail) -> None:
    result = run_mail(
        "send", *MESSAGE, "--cc", "carol@example.test", "--bcc", "dave@example.test", "--body", "hi", "--dry-run"
    )
    assert result.code == EXIT_OK
    printed = parse(result.out.replace("\n", "\r\n").encode())
    assert (printed["From"], printed["To"], printed["Cc"]) == (
        "Alice <alice@example.test>",
        "Bob <bob@example.test>",
        "carol@example.test",
    )
    assert printed["Bcc"] is None and "dave" not in result.out
    assert printed.get_content().replace("\r\n", "\n") == "hi\n"
    assert result.err == (
        "mailconform mail: dry run, not sent; envelope from <alice@example.test> to "
        "<bob@example.test>, <carol@example.test>, <dave@example.test>\n"
    )
    assert mail_server.stored("bob") == []


def test_refused_recipient_is_named_with_the_reply(mail_server: MailServer, run_mail: RunMail) -> None:
    result = run_mail(
        "send", *mail_server.send_options(), "--from", "alice@example.test", "--to", "unknown@example.test",
        "--subject", "x", "--body", "x",
    )  # fmt: skip
    assert result.code == EXIT_REFUSED
    # RFC 3463 §3.2: X.1.1 is "bad destination mailbox address".
    lines = result.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("mailconform mail: recipient <unknown@example.test> refused: 550 5.1.1 ")
    assert result.out == ""
    assert mail_server.stored("bob") == [] and mail_server.stored("alice") == []


def test_partly_refused_says_who_got_it(mail_server: MailServer, run_mail: RunMail) -> None:
    result = run_mail(
        "send", *mail_server.send_options(), "--from", "alice@example.test", "--to", "bob@example.test",
        "--to", "unknown@example.test", "--subject", "x", "--body", "x",
    )  # fmt: skip
    assert result.code == EXIT_PARTIAL
    refused, sent = result.err.splitlines()
    assert refused.startswith("mailconform mail: recipient <unknown@example.test> refused: 550 5.1.1 ")
    assert sent == "mailconform mail: the message was sent to <bob@example.test> only"
    assert len(mail_server.stored("bob")) == 1


def test_bad_password(mail_server: MailServer, run_mail: RunMail, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not-alicepw\n")
    options = [o if o != str(mail_server.password_files["alice"]) else str(wrong) for o in mail_server.send_options()]
    result = run_mail("send", *options, *MESSAGE, "--body", "x")
    assert result.code == EXIT_AUTH
    assert result.err.startswith("mailconform mail: authentication failed for alice: 535 ")  # RFC 4954 §6
    assert result.err.count("\n") == 1 and "not-alicepw" not in result.err
    assert mail_server.stored("bob") == []


def test_password_from_the_environment(
    mail_server: MailServer, run_mail: RunMail, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILCONFORM_PASSWORD", PASSWORDS["alice"])
    result = run_mail(
        "send", "--server", mail_server.address("submission"), "--user", "alice", "--cafile",
        str(mail_server.cafile), *MESSAGE, "--body", "x",
    )  # fmt: skip
    assert result.code == EXIT_OK, result.err
    assert len(mail_server.stored("bob")) == 1


def test_unreachable_server(run_mail: RunMail, tmp_path: Path) -> None:
    port = free_port()
    password = tmp_path / "pw"
    password.write_text("x\n")
    result = run_mail(
        "send", "--server", f"127.0.0.1:{port}", "--user", "alice", "--password-file", str(password),
        *MESSAGE, "--body", "x",
    )  # fmt: skip
    assert result.code == EXIT_CONNECT
    assert result.err == f"mailconform mail: cannot connect to 127.0.0.1:{port}: Connection refused\n"


def test_missing_attachment_sends_nothing(mail_server: MailServer, run_mail: RunMail, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-file.pdf"
    result = run_mail("send", *mail_server.send_options(), *MESSAGE, "--body", "x", "--attach", str(missing))
    assert result.code == EXIT_USAGE
    assert result.err == f"mailconform mail: --attach: no such file: {missing}\n"
    assert mail_server.stored("bob") == []


def test_unknown_certificate_authority_is_a_tls_error(mail_server: MailServer, run_mail: RunMail) -> None:
    password = str(mail_server.password_files["alice"])
    login = ["--user", "alice", "--password-file", password]
    result = run_mail("send", "--server", mail_server.address("submission"), *login, *MESSAGE, "--body", "x")
    assert result.code == EXIT_TLS
    assert result.err.startswith(f"mailconform mail: TLS with {mail_server.address('submission')} failed: ")
    assert "certificate verify failed" in result.err and "--cafile" in result.err
    assert result.err.count("\n") == 1
    assert mail_server.stored("bob") == []

    insecure = run_mail(
        "send", "--server", mail_server.address("submission"), *login, "--insecure", *MESSAGE, "--body", "x"
    )
    assert insecure.code == EXIT_OK
    assert "warning: --insecure" in insecure.err  # RFC 8314 §5.2: the user is warned
    assert len(mail_server.stored("bob")) == 1


def test_implicit_tls_port(mail_server: MailServer, run_mail: RunMail) -> None:
    result = run_mail(
        "send", *mail_server.send_options(listener="submissions"), "--tls", "implicit", *MESSAGE, "--body", "x"
    )
    assert result.code == EXIT_OK, result.err
    assert b"ESMTPSA" in mail_server.stored("bob")[0]  # RFC 3848: the trace records TLS and AUTH


def test_no_starttls_means_no_password_in_clear(mail_server: MailServer, run_mail: RunMail) -> None:
    result = run_mail("send", *mail_server.send_options(listener="plain"), *MESSAGE, "--body", "x")
    assert result.code == EXIT_TLS
    assert result.err == (
        f"mailconform mail: {mail_server.address('plain')} does not offer STARTTLS; "
        "refusing to send mail in clear (use --tls none to allow it)\n"
    )
    # Said explicitly, plaintext is allowed; this server then offers no AUTH without TLS, and says so.
    clear = run_mail("send", *mail_server.send_options(listener="plain"), "--tls", "none", *MESSAGE, "--body", "x")
    assert clear.code == EXIT_AUTH
    assert clear.err.splitlines() == [
        "mailconform mail: warning: --tls none: the password and the mail travel in clear",
        f"mailconform mail: {mail_server.address('plain')} does not offer AUTH on this connection; "
        "cannot log in as alice",
    ]
    # Without a login, the submission server refuses the sender (RFC 6409 §4.3: authentication required).
    anonymous = run_mail("send", "--server", mail_server.address("plain"), "--tls", "none", *MESSAGE, "--body", "x")
    assert anonymous.code == EXIT_REFUSED
    assert anonymous.err.splitlines()[-1].startswith("mailconform mail: sender <alice@example.test> refused: 530 ")
    assert mail_server.stored("bob") == []


def test_usage_errors_are_one_line(run_mail: RunMail) -> None:
    no_server = run_mail("send", *MESSAGE, "--body", "x")
    assert (no_server.code, no_server.err) == (
        EXIT_USAGE,
        "mailconform mail: --server HOST[:PORT] is required (or --dry-run)\n",
    )
    bad_from = run_mail(
        "send", "--from", "alice", "--to", "bob@example.test", "--subject", "x", "--body", "x", "--dry-run"
    )
    assert (bad_from.code, bad_from.err) == (EXIT_USAGE, "mailconform mail: --from: not a mail address: 'alice'\n")
    lonely = run_mail("send", "--server", "127.0.0.1:1", "--password-file", "pw", *MESSAGE, "--body", "x")
    assert (lonely.code, lonely.err) == (
        EXIT_USAGE,
        "mailconform mail: --password-file: give --user too (without it no login is attempted)\n",
    )
    unknown_flag = run_mail("send", *MESSAGE, "--body", "x", "--dry-run", "--frobnicate")
    assert unknown_flag.code == EXIT_USAGE
    assert unknown_flag.err.splitlines()[-1] == "mailconform mail: error: unrecognized arguments: --frobnicate"


def test_help_documents_exit_codes_and_pop3_only(run_mail: RunMail) -> None:
    result = run_mail("--help")
    assert result.code == EXIT_OK
    assert "POP3 (RFC 1939) is the only" in result.out and "IMAP is not built yet" in result.out
    for code in range(8):
        assert f"\n  {code}  " in result.out


def test_console_script(mail_server: MailServer, tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "mailconform"
    env = {"PATH": "/usr/bin:/bin", "MAILCONFORM_PASSWORD": PASSWORDS["alice"]}
    login = ["--user", "alice", "--cafile", str(mail_server.cafile)]
    done = subprocess.run(
        [str(script), "mail", "send", "--server", mail_server.address("submission"), *login, *MESSAGE],
        input=b"Hello from the console script.\n",
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (EXIT_OK, b"")
    assert done.stdout.startswith(b"sent <")
    assert only_message(mail_server, "bob").get_content().replace("\r\n", "\n") == "Hello from the console script.\n"

    port = free_port()
    failed = subprocess.run(
        [str(script), "mail", "send", "--server", f"127.0.0.1:{port}", *login, *MESSAGE, "--body", "x"],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert failed.returncode == EXIT_CONNECT
    assert failed.stderr == f"mailconform mail: cannot connect to 127.0.0.1:{port}: Connection refused\n".encode()
