"""`mailconform mail list|read|fetch` over POP3 against the real reference server.

Fixture mail is hand-written and delivered over submission with smtplib; what the server
holds is checked with the test's own poplib session (STAT, UIDL) and its Maildir, so
the agent's output is compared with facts it did not produce.
"""

from __future__ import annotations

import mailbox
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from reference_server.useragent.errors import EXIT_AUTH, EXIT_CONNECT, EXIT_OK, EXIT_REFUSED, EXIT_TLS, EXIT_USAGE
from tests.reference_server.useragent.useragent_support import MailServer, Run

RunMail = Callable[..., Run]

FIRST = (
    b"From: =?utf-8?q?J=C3=B6rg?= <joerg@example.test>\r\n"
    b"To: Bob <bob@example.test>\r\n"
    b"Subject: =?utf-8?b?R3LDvMOfZQ==?= aus Bonn\r\n"
    b"Date: Tue, 02 Jan 2024 03:04:05 +0100\r\n"
    b"Message-ID: <first@example.test>\r\n"
    b"\r\n"
    b"First body.\r\n"
    b".A line starting with a dot.\r\n"
)
SECOND = (
    b"From: Alice <alice@example.test>\r\n"
    b"To: bob@example.test\r\n"
    b"Cc: alice@example.test\r\n"
    b"Subject: html only\r\n"
    b"Date: Wed, 03 Jan 2024 10:00:00 +0000\r\n"
    b"Message-ID: <second@example.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n'
    b"\r\n"
    b"--b\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n"
    b"<p>Hi <b>Bob</b>,</p><p>see the files.</p>\r\n"
    b"--b\r\n"
    b"Content-Type: text/plain\r\n"
    b'Content-Disposition: attachment; filename="../../evil.txt"\r\n'
    b"\r\n"
    b"evil\r\n"
    b"--b\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"Content-Disposition: attachment; filename*=utf-8''%C3%9Cbersicht.bin\r\n"
    b"\r\n"
    b"AAEC/w==\r\n"
    b"--b--\r\n"
)


def free_port() -> int:
    """A loopback port nobody listens on: bound for a moment by the OS, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def bob_has_two(mail_server: MailServer) -> dict[bytes, bytes]:
    """Deliver FIRST then SECOND to bob; return what the server stored, by Message-ID."""
    mail_server.deliver(FIRST, ["bob@example.test"])
    mail_server.deliver(SECOND, ["bob@example.test"])
    stored = mail_server.stored("bob")
    assert len(stored) == 2
    return {
        b"first": next(m for m in stored if b"<first@example.test>" in m),
        b"second": next(m for m in stored if b"<second@example.test>" in m),
    }


def test_list_shows_number_size_date_from_subject(
    mail_server: MailServer, run_mail: RunMail, bob_has_two: dict[bytes, bytes]
) -> None:
    result = run_mail("list", *mail_server.pop3_options("bob"))
    assert (result.code, result.err) == (EXIT_OK, "")
    first, second = result.out.splitlines()
    # RFC 1939 §11: the size is the message's octets with CRLF line ends, which is how it is stored here.
    size = str(len(bob_has_two[b"first"]))
    assert first.split() == [
        "1", size, "2024-01-02", "03:04", "Jörg", "<joerg@example.test>", "Grüße", "aus", "Bonn",
    ]  # fmt: skip
    assert second.split() == [
        "2", str(len(bob_has_two[b"second"])), "2024-01-03", "10:00", "Alice", "<alice@example.test>", "html", "only",
    ]  # fmt: skip
    assert mail_server.pop3_stat("bob") == (2, sum(len(m) for m in bob_has_two.values()))  # listing deletes nothing


def test_list_uidl_matches_the_servers_unique_ids(
    mail_server: MailServer, run_mail: RunMail, bob_has_two: dict[bytes, bytes]
) -> None:
    with mail_server.pop3("bob") as client:
        _, lines, _ = client.uidl()
    expected = {int(n): uid.decode() for n, uid in (line.split() for line in lines)}
    result = run_mail("list", *mail_server.pop3_options("bob"), "--uidl")
    assert result.code == EXIT_OK, result.err
    shown = {int(line.split()[0]): line.split()[2] for line in result.out.splitlines()}
    assert shown == expected and len(expected) == 2


def test_list_of_an_empty_mailbox(mail_server: MailServer, run_mail: RunMail) -> None:
    result = run_mail("list", *mail_server.pop3_options("alice"))
    assert (result.code, result.out) == (EXIT_OK, "no messages\n")


def test_read_keeps_the_message_by_default(
    mail_server: MailServer, run_mail: RunMail, bob_has_two: dict[bytes, bytes]
) -> None:
    before = mail_server.pop3_stat("bob")
    result = run_mail("read", "1", *mail_server.pop3_options("bob"))
    assert (result.code, result.err) == (EXIT_OK, "")
    assert result.out == (
        "From: Jörg <joerg@example.test>\n"
        "To: Bob <bob@example.test>\n"
        "Date: Tue, 02 Jan 2024 03:04:05 +0100\n"
        "Subject: Grüße aus Bonn\n"
        "\n"
        "First body.\n"
        ".A line starting with a dot.\n"  # dot-stuffing (RFC 1939 §3) undone
    )
    assert mail_server.pop3_stat("bob") == before == (2, sum(len(m) for m in bob_has_two.values()))


def test_read_delete_removes_it_when_the_session_ends(
    mail_server: MailServer, run_mail: RunMail, bob_has_two: dict[bytes, bytes]
) -> None:
    result = run_mail("read", "1", "--delete", *mail_server.pop3_options("bob"))
    assert result.code == EXIT_OK, result.err
    assert "Subject: Grüße aus Bonn" in result.out
    assert result.err == "message 1 deleted from the server\n"
    assert mail_server.pop3_stat("bob") == (1, len(bob_has_two[b"second"]))  # RFC 1939 §6: removed in UPDATE
    assert mail_server.stored("bob") == [bob_has_two[b"second"]]


def test_read_html_only_message_with_attachments_and_save(
    mail_server: MailServer, run_mail: RunMail, bob_has_two: dict[bytes, bytes], tmp_path: Path
) -> None:
    save = tmp_path / "saved" / "here"
    result = run_mail("read", "2", "--save", str(save), *mail_server.pop3_options("bob"))
    assert result.code == EXIT_OK, result.err
    header, body = result.out.split("\n\n", 1)
    assert header.splitlines()[2] == "Cc: alice@example.test"
    assert body == (
        "Hi Bob,\n"
        "\n"
        "see the files.\n"
        "\n"
        "Attachments:\n"
        "  1. ../../evil.txt  (4 octets, text/plain)\n"
        "  2. Übersicht.bin  (4 octets, application/octet-stream)\n"
    )
    assert sorted(p.name for p in save.iterdir()) == ["evil.txt", "Übersicht.bin"]
    assert (save / "evil.txt").read_bytes() == b"evil"
    assert (save / "Übersicht.bin").read_bytes() == b"\x00\x01\x02\xff"
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "saved" / "evil.txt").exists()
    assert result.err == f"saved {save / 'evil.txt'}\nsaved {save / 'Übersicht.bin'}\n"  # stdout stays the message

    again = run_mail("read", "2", "--save", str(save), *mail_server.pop3_options("bob"))
    assert again.code == EXIT_OK, again.err
    assert sorted(p.name for p in save.iterdir()) == ["evil-1.txt", "evil.txt", "Übersicht-1.bin", "Übersicht.bin"]


def test_read_raw_prints_the_octets_retrieved(
    mail_server: MailServer, run_mail: RunMail, bob_has_two: dict[bytes, bytes]
) -> None:
    result = run_mail("read", "1", "--raw", *mail_server.pop3_options("bob"))
    assert result.code == EXIT_OK, result.err
    assert result.out.encode() == bob_has_two[b"first"]


def test_read_missing_message(mail_server: MailServer, run_mail: RunMail, bob_has_two: dict[bytes, bytes]) -> None:
    result = run_mail("read", "9", *mail_server.pop3_options("bob"))
    assert result.code == EXIT_REFUSED
    assert result.err == "mailconform mail: message 9: -ERR no such message\n"  # RFC 1939 §5
    zero = run_mail("read", "0", *mail_server.pop3_options("bob"))
    assert (zero.code, zero.err) == (EXIT_USAGE, "mailconform mail: N: message numbers start at 1, got 0\n")


def test_read_delete_of_a_missing_message_deletes_nothing(
    mail_server: MailServer, run_mail: RunMail, bob_has_two: dict[bytes, bytes]
) -> None:
    result = run_mail("read", "3", "--delete", *mail_server.pop3_options("bob"))
    assert result.code == EXIT_REFUSED
    assert mail_server.pop3_stat("bob")[0] == 2


def test_bad_pop3_password(mail_server: MailServer, run_mail: RunMail, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("nope\n")
    options = [o if o != str(mail_server.password_files["bob"]) else str(wrong) for o in mail_server.pop3_options()]
    result = run_mail("list", *options)
    assert result.code == EXIT_AUTH
    assert result.err == "mailconform mail: authentication failed for bob: -ERR [AUTH] authentication failed\n"


def test_unverified_certificate_and_unreachable_server(mail_server: MailServer, run_mail: RunMail) -> None:
    password = ["--user", "bob", "--password-file", str(mail_server.password_files["bob"])]
    untrusted = run_mail("list", "--pop3", mail_server.address("pop3"), *password)  # the system CAs only
    assert untrusted.code == EXIT_TLS
    assert untrusted.err.startswith(f"mailconform mail: TLS with {mail_server.address('pop3')} failed: certificate")
    port = free_port()
    gone = run_mail("list", "--pop3", f"127.0.0.1:{port}", *password, "--insecure")
    assert gone.code == EXIT_CONNECT
    assert gone.err.splitlines()[-1] == f"mailconform mail: cannot connect to 127.0.0.1:{port}: Connection refused"


def test_implicit_tls(mail_server: MailServer, run_mail: RunMail, bob_has_two: dict[bytes, bytes]) -> None:
    result = run_mail("list", *mail_server.pop3_options("bob", listener="pop3s"), "--tls", "implicit")
    assert result.code == EXIT_OK, result.err
    assert len(result.out.splitlines()) == 2


def read_maildir(root: Path) -> list[bytes]:
    box = mailbox.Maildir(root, factory=None, create=False)
    return sorted(box.get_bytes(key) for key in box.iterkeys())


def test_fetch_keep_then_again_fetches_nothing_twice(
    mail_server: MailServer, run_mail: RunMail, bob_has_two: dict[bytes, bytes], tmp_path: Path
) -> None:
    local = tmp_path / "Maildir"
    result = run_mail("fetch", "--maildir", str(local), *mail_server.pop3_options("bob"))
    assert (result.code, result.out) == (EXIT_OK, f"fetched 2 messages into {local}; kept on the server\n")
    assert read_maildir(local) == sorted(bob_has_two.values())
    assert mail_server.pop3_stat("bob")[0] == 2

    again = run_mail("fetch", "--maildir", str(local), *mail_server.pop3_options("bob"))
    assert again.out == f"fetched 0 messages into {local}, 2 fetched before; kept on the server\n"
    assert len(read_maildir(local)) == 2


def test_fetch_delete_empties_the_server(
    mail_server: MailServer, run_mail: RunMail, bob_has_two: dict[bytes, bytes], tmp_path: Path
) -> None:
    local = tmp_path / "Maildir"
    result = run_mail("fetch", "--delete", "--maildir", str(local), *mail_server.pop3_options("bob"))
    assert (result.code, result.out) == (EXIT_OK, f"fetched 2 messages into {local}; deleted from the server\n")
    assert read_maildir(local) == sorted(bob_has_two.values())
    assert mail_server.pop3_stat("bob") == (0, 0)
