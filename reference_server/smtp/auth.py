"""SASL for SMTP AUTH: strict base64 and the PLAIN and LOGIN mechanisms, without I/O.

An exchange turns client responses into either the next challenge or the credentials to
check; checking them (a slow scrypt) is the session's business, not this module's.
Nothing here logs or formats a secret.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Final, Protocol

PLAIN_FIELD_MAX: Final = 255 * 4  # RFC 4616 §2: MUST accept 255 characters, UTF-8 up to 4 octets each

_BASE64_RE: Final = re.compile(rb"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


class SaslError(ValueError):
    """The client's SASL data cannot be used; the session answers 501."""


class Base64Error(SaslError):
    """Not base64 as RFC 4954 §4 demands (alphabet only, '=' padding only at the end)."""


class MalformedResponseError(SaslError):
    """Decoded fine, but not the message the mechanism defines."""


def decode_base64(data: bytes, lenient: bool = False) -> bytes:
    """Strict base64 per RFC 4954 §4 and §8: reject any other character and misplaced '='."""
    if lenient:  # fault smtp.sasl-base64-lenient: characters outside the alphabet are skipped
        try:
            return base64.b64decode(data)
        except (binascii.Error, ValueError):
            raise Base64Error("invalid base64") from None
    if not _BASE64_RE.fullmatch(data):
        raise Base64Error("invalid base64")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise Base64Error("invalid base64") from None


def decode_initial_response(data: bytes, lenient: bool = False) -> bytes:
    """An AUTH initial response: base64, or "=" for present-but-empty (RFC 4954 §4)."""
    return b"" if data == b"=" else decode_base64(data, lenient)


@dataclass(frozen=True)
class Credentials:
    """What the client claims; `password` never appears in repr or logs."""

    authzid: str
    login: str
    password: str = field(repr=False)


def _utf8(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedResponseError("not UTF-8") from None


def parse_plain(message: bytes, allow_empty_password: bool = False) -> Credentials:
    """message = [authzid] UTF8NUL authcid UTF8NUL passwd (RFC 4616 §2)."""
    parts = message.split(b"\x00")
    if len(parts) != 3:
        raise MalformedResponseError("PLAIN needs exactly two NUL separators")
    authzid, authcid, passwd = parts
    if not authcid or (not passwd and not allow_empty_password) or any(len(part) > PLAIN_FIELD_MAX for part in parts):
        raise MalformedResponseError("PLAIN identity or password empty or too long")
    return Credentials(_utf8(authzid), _utf8(authcid), _utf8(passwd))


@dataclass(frozen=True)
class Challenge:
    """Send "334 " + base64(data) and wait for the client's next line."""

    data: bytes


Step = Challenge | Credentials


class Exchange(Protocol):
    """One SASL exchange in progress."""

    def start(self, initial_response: bytes | None) -> Step: ...

    def respond(self, response: bytes) -> Step: ...


class PlainExchange:
    """RFC 4616: one message from the client, sent as initial response or after "334 "."""

    def __init__(self, require_initial_response: bool = False, allow_empty_password: bool = False) -> None:
        self._require_initial_response = require_initial_response  # fault smtp.plain-requires-initial-response
        self._allow_empty_password = allow_empty_password  # fault smtp.plain-empty-password-accepted

    def start(self, initial_response: bytes | None) -> Step:
        if initial_response is None:
            if self._require_initial_response:
                raise MalformedResponseError("PLAIN needs an initial response")
            return Challenge(b"")
        return parse_plain(initial_response, self._allow_empty_password)

    def respond(self, response: bytes) -> Step:
        return parse_plain(response, self._allow_empty_password)


class LoginExchange:
    """The widely deployed LOGIN mechanism: user name, then password, each prompted.

    An initial response is taken as the user name, as common clients (Python's smtplib
    among them) send one.
    """

    def __init__(self) -> None:
        self._login: str | None = None

    def start(self, initial_response: bytes | None) -> Step:
        if initial_response is None:
            return Challenge(b"Username:")
        self._login = _utf8(initial_response)
        return Challenge(b"Password:")

    def respond(self, response: bytes) -> Step:
        if self._login is None:
            self._login = _utf8(response)
            return Challenge(b"Password:")
        return Credentials("", self._login, _utf8(response))


MECHANISMS: Final = ("PLAIN", "LOGIN")  # both send the password in clear: only offered under TLS


def new_exchange(
    mechanism: str, *, plain_requires_initial_response: bool = False, plain_allows_empty_password: bool = False
) -> Exchange | None:
    """A fresh exchange for an upper-cased mechanism name, or None if unsupported."""
    if mechanism == "PLAIN":
        return PlainExchange(plain_requires_initial_response, plain_allows_empty_password)
    if mechanism == "LOGIN":
        return LoginExchange()
    return None


def encode_challenge(challenge: Challenge) -> str:
    return base64.b64encode(challenge.data).decode("ascii")
