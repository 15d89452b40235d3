"""The capture hop over real loopback sockets: what a relay's client sees, and what the hop records.

Clients are smtplib (a real SMTP client, lock-step) and raw sockets for what smtplib will
not do (pipelining without PIPELINING, overlong lines). Every wait is bounded.
"""

from __future__ import annotations

import smtplib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Final

import pytest

from harness.nexthop import CaptureHop, HopError
from harness.nexthop import server as hop_server

LOOPBACK: Final = ("127.0.0.1", 0)
TIMEOUT: Final = 5.0


@pytest.fixture
def hop() -> Iterator[CaptureHop]:
    with CaptureHop({"relay": LOOPBACK, "legacy": LOOPBACK}) as started:
        yield started


def smtp(hop: CaptureHop, listener: str) -> smtplib.SMTP:
    host, port = hop.address(listener)
    return smtplib.SMTP(host, port, timeout=TIMEOUT)


def raw(hop: CaptureHop, listener: str) -> socket.socket:
    sock = socket.create_connection(hop.address(listener), timeout=TIMEOUT)
    assert read_until(sock, b"\r\n").startswith(b"220 ")
    return sock


def read_until(sock: socket.socket, end: bytes, count: int = 1) -> bytes:
    """Read until `end` has arrived `count` times (bounded by the socket timeout)."""
    data = b""
    while data.count(end) < count:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_both_listeners_bind_free_loopback_ports(hop: CaptureHop) -> None:
    relay, legacy = hop.address("relay"), hop.address("legacy")
    assert relay[0] == legacy[0] == "127.0.0.1" and relay[1] != legacy[1] and 0 not in (relay[1], legacy[1])


def test_smtplib_relays_through_the_relay_listener(hop: CaptureHop) -> None:
    with smtp(hop, "relay") as client:
        code, text = client.ehlo("relay.example")
        assert code == 250 and b"PIPELINING" in text and b"8BITMIME" in text
        refused = client.sendmail(
            "sender@origin.example",
            ["rcpt@hop.example", "reject-1@hop.example"],
            b"Subject: through\r\n\r\n.a line with a period\r\nend\r\n",
        )
    assert refused == {
        "reject-1@hop.example": (550, b"5.1.1 no such mailbox here (the capture hop refuses reject-* addresses)")
    }
    message = hop.recorder.wait_for(["rcpt@hop.example"], TIMEOUT)
    assert message is not None
    assert message.listener == "relay" and message.reverse_path == "sender@origin.example"
    assert message.recipients == ("rcpt@hop.example",)
    assert message.wire.splitlines()[2] == b"..a line with a period"  # smtplib stuffed it (RFC 5321 §4.5.2)
    assert message.lines == ["Subject: through", "", ".a line with a period", "end"]
    assert not any(command.pipelined for command in message.commands)


def test_smtplib_sees_no_extensions_on_the_legacy_listener(hop: CaptureHop) -> None:
    with smtp(hop, "legacy") as client:
        client.ehlo("relay.example")
        assert client.esmtp_features == {}
        client.sendmail("sender@origin.example", ["rcpt@legacy.example"], b"Subject: plain\r\n\r\nbody\r\n")
    message = hop.recorder.wait_for(["rcpt@legacy.example"], TIMEOUT)
    assert message is not None and message.listener == "legacy"
    assert not any(command.pipelined for command in message.commands)  # smtplib waits for every reply


def test_pipelining_without_announcement_is_seen_on_the_legacy_listener(hop: CaptureHop) -> None:
    with raw(hop, "legacy") as sock:
        sock.sendall(b"EHLO relay.example\r\n")
        read_until(sock, b"\r\n")
        sock.sendall(b"MAIL FROM:<s@origin.example>\r\nRCPT TO:<p@legacy.example>\r\nDATA\r\n")
        replies = read_until(sock, b"\r\n", 3)
        assert [line[:3] for line in replies.splitlines()] == [b"250", b"250", b"354"]
        sock.sendall(b"x\r\n.\r\nQUIT\r\n")
        read_until(sock, b"\r\n", 2)
    message = hop.recorder.wait_for(["p@legacy.example"], TIMEOUT)
    assert message is not None
    assert [(c.text.split()[0], c.pipelined) for c in message.commands] == [
        ("EHLO", False),
        ("MAIL", False),
        ("RCPT", True),
        ("DATA", True),
    ]


def test_legacy_listener_holds_mail_and_rcpt_replies_back(hop: CaptureHop) -> None:
    with raw(hop, "legacy") as sock:
        sock.sendall(b"HELO relay.example\r\n")
        read_until(sock, b"\r\n")
        started = time.monotonic()
        sock.sendall(b"MAIL FROM:<s@origin.example>\r\n")
        assert read_until(sock, b"\r\n").startswith(b"250")
        assert time.monotonic() - started >= hop_server.LEGACY_REPLY_DELAY * 0.9


def test_tempfail_then_accepted_on_a_later_session(hop: CaptureHop) -> None:
    with smtp(hop, "relay") as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail("s@origin.example", ["tempfail-7@hop.example"], b"Subject: one\r\n\r\nx\r\n")
        assert refused.value.recipients["tempfail-7@hop.example"][0] == 451
    assert hop.recorder.find(["tempfail-7@hop.example"]) is None
    with smtp(hop, "relay") as client:
        assert client.sendmail("s@origin.example", ["tempfail-7@hop.example"], b"Subject: two\r\n\r\nx\r\n") == {}
    message = hop.recorder.wait_for(["tempfail-7@hop.example"], TIMEOUT)
    assert message is not None and message.lines[0] == "Subject: two"


def test_wait_for_returns_none_after_its_timeout(hop: CaptureHop) -> None:
    started = time.monotonic()
    assert hop.recorder.wait_for(["nobody@hop.example"], 0.3) is None
    assert 0.25 <= time.monotonic() - started < TIMEOUT


def test_wait_for_wakes_when_the_message_arrives(hop: CaptureHop) -> None:
    def later() -> None:
        time.sleep(0.3)
        with smtp(hop, "relay") as client:
            client.sendmail("s@origin.example", ["late@hop.example"], b"Subject: late\r\n\r\nx\r\n")

    thread = threading.Thread(target=later)
    thread.start()
    try:
        message = hop.recorder.wait_for(["early@hop.example", "late@hop.example"], TIMEOUT)
    finally:
        thread.join(TIMEOUT)
    assert message is not None and message.recipients == ("late@hop.example",)


def test_describe_shows_the_sessions_that_named_an_address(hop: CaptureHop) -> None:
    with smtp(hop, "relay") as client, pytest.raises(smtplib.SMTPRecipientsRefused):
        client.sendmail("s@origin.example", ["reject-9@hop.example"], b"x\r\n")
    text = hop.recorder.describe(["reject-9@hop.example"])
    assert "relay listener" in text and "<< rcpt TO:<reject-9@hop.example>" in text and ">> 550 5.1.1" in text
    assert hop.recorder.describe(["other@hop.example"]) == "no session of the next hop named other@hop.example"


def test_overlong_line_ends_the_session_with_500(hop: CaptureHop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hop_server, "MAX_LINE", 1000)
    with raw(hop, "relay") as sock:
        sock.sendall(b"X" * 2000)
        reply = read_until(sock, b"\r\n")
        assert reply.startswith(b"500 ")
        assert sock.recv(100) == b""  # and the hop closed the connection


def test_idle_session_gets_421_and_is_closed(hop: CaptureHop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hop_server, "IDLE_TIMEOUT", 0.3)
    with raw(hop, "relay") as sock:
        assert read_until(sock, b"\r\n").startswith(b"421 ")
        assert sock.recv(100) == b""


def test_stop_closes_open_sessions() -> None:
    hop = CaptureHop({"relay": LOOPBACK}).start()
    sock = raw(hop, "relay")
    try:
        hop.stop()
        assert sock.recv(100) == b""
    finally:
        sock.close()
    with pytest.raises(OSError):
        socket.create_connection(hop.address("relay"), timeout=1).close()


def test_address_in_use_is_a_hop_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(HopError, match="cannot listen"):
            CaptureHop({"relay": ("127.0.0.1", port)}).start()


def test_unknown_listener_name_is_refused() -> None:
    with pytest.raises(ValueError):
        CaptureHop({"other": LOOPBACK})
