"""`mailconform queue`: the listing, its errors, and --flush against a running `serve`."""

from __future__ import annotations

import json
import smtplib
import ssl
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from reference_server.queue.cli import duration, queue_main
from reference_server.queue.spool import FAILED, Spool
from tests.reference_server.queue.queue_support import ServeProcess, free_ports, poll, run_queue_cli

BODY = b"Subject: queued\r\n\r\nhello\r\n"


def queue(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = queue_main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_empty_queue_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = queue(capsys, "--mail-root", str(tmp_path))
    assert (code, out) == (0, "The queue is empty.\n")
    assert not (tmp_path / "queue").exists()  # listing creates nothing


def test_listing_shows_every_entry_and_recipient(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spool = Spool(tmp_path)
    first = spool.enqueue(
        reverse_path="alice@crepes.fr",
        recipients=["bob@hamburger.edu", "carol@hamburger.edu"],
        body=BODY,
        eight_bit=False,
        smtputf8=False,
    )
    deferred = first.with_recipients(
        [
            replace(first.recipients[0], code=451, enhanced="4.3.0", text="greylisted", remote="127.0.0.1:3525"),
            replace(first.recipients[1], status=FAILED, code=550, enhanced="5.1.1", text="no such user"),
        ]
    )
    spool.update(replace(deferred, attempts=2, next_try=deferred.created + 3600))
    second = spool.enqueue(reverse_path="", recipients=["x@y.example"], body=BODY, eight_bit=False, smtputf8=False)
    code, out, _ = queue(capsys, "--mail-root", str(tmp_path))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"{first.id}  age ") and f"{len(BODY)} octets  from <alice@crepes.fr>" in lines[0]
    assert lines[1].split()[:4] == ["<bob@hamburger.edu>", "pending", "attempts", "2"]
    assert "last: 451 4.3.0 greylisted (127.0.0.1:3525)" in lines[1] and "next try in 59m" in lines[1]
    assert "<carol@hamburger.edu>  failed" in lines[2] and "550 5.1.1 no such user" in lines[2]
    assert lines[3].startswith(f"{second.id}  age ") and "from <>" in lines[3]
    assert "<x@y.example>  pending  attempts 0  last: -  due now" in lines[4]
    assert lines[-1] == "2 entries"

    code, out, _ = queue(capsys, "--mail-root", str(tmp_path), "--json")
    listed = json.loads(out)
    assert [e["id"] for e in listed["entries"]] == [first.id, second.id]
    assert listed["entries"][0]["recipients"][0]["code"] == 451
    assert 3500 < listed["entries"][0]["next_try_in"] <= 3600


def test_corrupt_state_is_reported_not_repaired(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spool = Spool(tmp_path)
    (spool.directory / "BROKEN.json").write_text("{")
    (spool.directory / "BROKEN.msg").write_bytes(BODY)
    code, out, _ = queue(capsys, "--mail-root", str(tmp_path))
    assert code == 0
    assert out.startswith("corrupt state file: ") and "BROKEN.json" in out
    assert (spool.directory / "BROKEN.json").exists()  # only the server moves it aside


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--mail-root", "/nonexistent/mailconform"), "/nonexistent/mailconform: no such mail root"),
        ((), "give --mail-root DIR or --config FILE"),
    ],
)
def test_usage_errors_are_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    code, out, err = queue(capsys, *argv)
    assert code == 2 and out == ""
    assert err == f"mailconform queue: {message}\n"


def test_bad_config_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "server.toml"
    config.write_text('domains = ["example.test"]\n[relay]\nretry_initial = -1\n')
    code, _, err = queue(capsys, "--config", str(config))
    assert code == 2
    assert err.count("\n") == 1 and "[relay] retry_initial: must be a number of seconds > 0" in err
    config.write_text('domains = ["example.test"]\n')
    code, _, err = queue(capsys, "--config", str(config))
    assert code == 2 and "mail_root is not set" in err


def test_flush_without_a_server_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = queue(capsys, "--mail-root", str(tmp_path), "--flush")
    assert code == 1 and err.startswith("mailconform queue: no running server for ")
    Spool(tmp_path).pid_file.write_text("999999999\n")  # stale: no such process
    code, _, err = queue(capsys, "--mail-root", str(tmp_path), "--flush")
    assert code == 1 and err.count("\n") == 1


def test_flush_does_not_signal_a_process_that_is_not_the_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pid file left by a killed server may name a reused pid: SIGUSR1 would terminate that process."""
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)  # reference_server"])
    try:
        Spool(tmp_path).pid_file.write_text(f"{bystander.pid}\n")
        code, _, _ = queue(capsys, "--mail-root", str(tmp_path), "--flush")
        assert code == 1
        assert bystander.poll() is None  # still alive: it was not signalled
    finally:
        bystander.kill()
        bystander.wait()


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (59.9, "59s"), (60, "1m"), (7200, "2h"), (200_000, "2d")])
def test_duration(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_listing_and_flush_against_a_running_server(tmp_path: Path) -> None:
    """A message for an unreachable next hop stays queued; --flush makes the server try again at once."""
    smtp, submission, dead = free_ports(3)
    config = tmp_path / "server.toml"
    config.write_text(
        f"""
domains = ["crepes.fr"]
[server]
hostname = "mail.crepes.fr"
mail_root = "mail"
[[accounts]]
login = "alice"
address = "alice@crepes.fr"
password = "alicepw"
[[listeners]]
protocol = "smtp"
port = {smtp}
tls = "none"
[[listeners]]
protocol = "submission"
port = {submission}
tls = "starttls"
[relay]
routes = {{ "hamburger.edu" = "127.0.0.1:{dead}" }}
retry_initial = 600
connect_timeout = 2
"""
    )
    server = ServeProcess(config, tmp_path, "crepes")
    server.start()
    try:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        with smtplib.SMTP("127.0.0.1", submission, timeout=10) as client:
            client.starttls(context=context)
            client.login("alice", "alicepw")
            client.sendmail("alice@crepes.fr", ["bob@hamburger.edu"], BODY)

        def attempts() -> int:
            listed = run_queue_cli("--config", str(config), "--json")
            assert listed.returncode == 0, listed.stderr
            entries = json.loads(listed.stdout)["entries"]
            return int(entries[0]["attempts"]) if entries else -1

        poll(lambda: attempts() == 1, what="the first (failed) attempt")
        listing = run_queue_cli("--config", str(config))
        assert listing.returncode == 0
        assert "<bob@hamburger.edu>  pending  attempts 1" in listing.stdout
        assert f"(127.0.0.1:{dead})" in listing.stdout and "next try in 9m" in listing.stdout
        flushed = run_queue_cli("--config", str(config), "--flush")
        assert flushed.returncode == 0, flushed.stderr
        assert flushed.stdout.startswith("flush requested: server pid ")
        poll(lambda: attempts() == 2, timeout=10, what="the flushed attempt")
    finally:
        server.stop()
    assert not Spool(tmp_path / "mail").pid_file.exists()  # removed on a clean stop
    assert run_queue_cli("--mail-root", str(tmp_path / "mail"), "--flush").returncode == 1
