"""Server addresses and TLS settings as the user writes them."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from reference_server.useragent.connect import ServerAddress, client_context, parse_address, reply_text
from reference_server.useragent.errors import UsageError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail.example.test", ServerAddress("mail.example.test", 587)),
        ("mail.example.test:2587", ServerAddress("mail.example.test", 2587)),
        ("127.0.0.1:25", ServerAddress("127.0.0.1", 25)),
        ("[::1]:587", ServerAddress("::1", 587)),
        ("[::1]", ServerAddress("::1", 587)),
    ],
)
def test_parse_address(text: str, expected: ServerAddress) -> None:
    assert parse_address(text, 587, "--server") == expected


@pytest.mark.parametrize("text", ["", ":25", "host:0", "host:65536", "host:smtp", "[::1", "[::1]x", "a b:25"])
def test_bad_addresses(text: str) -> None:
    with pytest.raises(UsageError, match=r"^--server: "):
        parse_address(text, 587, "--server")


def test_address_text_brackets_ipv6() -> None:
    assert str(ServerAddress("::1", 110)) == "[::1]:110"
    assert str(ServerAddress("127.0.0.1", 110)) == "127.0.0.1:110"


def test_contexts_verify_unless_insecure(tmp_path: Path) -> None:
    default = client_context(None, False)
    assert default.verify_mode == ssl.CERT_REQUIRED and default.check_hostname
    assert default.minimum_version == ssl.TLSVersion.TLSv1_2  # RFC 8314 §5
    insecure = client_context(None, True)
    assert insecure.verify_mode == ssl.CERT_NONE and not insecure.check_hostname


def test_cafile_problems_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^--cafile: no such file: "):
        client_context(tmp_path / "missing.pem", False)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(UsageError, match=r"^--cafile: .*junk.pem holds no usable PEM certificate"):
        client_context(junk, False)


def test_reply_text_is_one_printable_line() -> None:
    assert reply_text(b"5.1.1 No such\r\n5.1.1 user\x1b[0m") == "5.1.1 No such 5.1.1 user?[0m"
