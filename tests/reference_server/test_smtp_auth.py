"""SASL for SMTP AUTH: strict base64 (RFC 4954 §4) and PLAIN (RFC 4616) / LOGIN exchanges."""

from __future__ import annotations

import base64

import pytest

from reference_server.smtp.auth import (
    Base64Error,
    Challenge,
    Credentials,
    LoginExchange,
    MalformedResponseError,
    PlainExchange,
    decode_base64,
    decode_initial_response,
    encode_challenge,
    new_exchange,
    parse_plain,
)


@pytest.mark.parametrize("good", [b"", b"AAAA", b"dGVzdAB0ZXN0ADEyMzQ=", b"YQ==", b"YWI="])
def test_valid_base64(good: bytes) -> None:
    assert decode_base64(good) == base64.b64decode(good)


@pytest.mark.parametrize("bad", [b"=AAA", b"AAA=BBB", b"YQ", b"Y===", b"YQ==\n", b"Y Q==", b"YQ*=", b"YQ==="])
def test_invalid_base64(bad: bytes) -> None:
    """RFC 4954 §4: reject characters outside the alphabet and '=' anywhere but the end."""
    with pytest.raises(Base64Error):
        decode_base64(bad)


def test_equals_sign_is_an_empty_initial_response() -> None:
    assert decode_initial_response(b"=") == b""


def test_plain_examples_from_rfc_4616() -> None:
    """RFC 4616 §4: "\\0tim\\0tanstaaftanstaaf" and "Ursel\\0Kurt\\0xipj3plmq"."""
    assert parse_plain(b"\0tim\0tanstaaftanstaaf") == Credentials("", "tim", "tanstaaftanstaaf")
    assert parse_plain(b"Ursel\0Kurt\0xipj3plmq") == Credentials("Ursel", "Kurt", "xipj3plmq")


@pytest.mark.parametrize(
    "bad", [b"", b"\0only-one-nul", b"a\0b\0c\0d", b"\0\0pw", b"\0user\0", b"\0\xff\xfe\0pw", b"\0u\0" + b"p" * 1021]
)
def test_malformed_plain(bad: bytes) -> None:
    with pytest.raises(MalformedResponseError):
        parse_plain(bad)


def test_plain_accepts_255_character_fields() -> None:
    """RFC 4616 §2: servers MUST accept up to 255 octets in each field."""
    creds = parse_plain(b"z" * 255 + b"\0" + b"u" * 255 + b"\0" + b"p" * 255)
    assert len(creds.password) == 255


def test_password_is_not_in_repr() -> None:
    assert "hunter2" not in repr(Credentials("", "alice", "hunter2"))


def test_plain_exchange() -> None:
    assert PlainExchange().start(None) == Challenge(b"")
    assert PlainExchange().start(b"\0a\0b") == Credentials("", "a", "b")
    assert PlainExchange().respond(b"\0a\0b") == Credentials("", "a", "b")


def test_login_exchange() -> None:
    exchange = LoginExchange()
    assert exchange.start(None) == Challenge(b"Username:")
    assert exchange.respond(b"alice") == Challenge(b"Password:")
    assert exchange.respond(b"alicepw") == Credentials("", "alice", "alicepw")
    with_initial = LoginExchange()
    assert with_initial.start(b"bob") == Challenge(b"Password:")
    assert with_initial.respond(b"bobpw") == Credentials("", "bob", "bobpw")


def test_mechanisms() -> None:
    assert isinstance(new_exchange("PLAIN"), PlainExchange)
    assert isinstance(new_exchange("LOGIN"), LoginExchange)
    assert new_exchange("CRAM-MD5") is None
    assert encode_challenge(Challenge(b"Username:")) == "VXNlcm5hbWU6"
