"""Reading a maildrop on a server: the access-protocol interface and its POP3 backend.

The commands (`list`, `read`, `fetch`) speak to `RemoteMailbox` only. POP3 (RFC 1939)
is the one backend today; IMAP's INBOX fits the same shape (sequence numbers, UIDs,
\\Deleted + EXPUNGE as commit), so adding it touches no command.

Deletion follows POP3's own rule: `delete` only marks, and nothing leaves the server
until `commit` ends the session (QUIT, then the UPDATE state, RFC 1939 §6). Leaving
any other way (an error, a broken connection) ends the session without QUIT, so a
message is deleted only after the client has everything it needed from it.
"""

from __future__ import annotations

import contextlib
import poplib
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from reference_server.useragent.connect import (
    ServerAddress,
    ServerSettings,
    network_failure,
    reply_text,
    tls_failure,
)
from reference_server.useragent.errors import AuthError, RefusedError, TlsError, UserAgentError


@dataclass(frozen=True)
class MessageSize:
    number: int
    size: int  # octets as the server counts them (RFC 1939 §11: with CRLF line ends)


class RemoteMailbox(Protocol):
    """A logged-in session with one maildrop. Numbers are 1-based and fixed for the session."""

    def sizes(self) -> list[MessageSize]: ...

    def unique_ids(self) -> dict[int, str] | None:
        """Unique-ids that stay the same across sessions, or None when the server has none."""

    def headers(self, number: int) -> bytes: ...

    def retrieve(self, number: int) -> bytes: ...

    def delete(self, number: int) -> None:
        """Mark for deletion; takes effect at commit."""

    def commit(self) -> None:
        """End the session so that marked messages are removed."""

    def abandon(self) -> None:
        """End the session leaving the maildrop as it was."""


@dataclass(frozen=True)
class Credentials:
    login: str
    password: str


def _close_quietly(client: poplib.POP3) -> None:
    """Close what a POP3 client holds, even half-built or after a failed TLS upgrade."""
    for attribute in ("file", "sock"):
        resource = getattr(client, attribute, None)
        if resource is not None:
            setattr(client, attribute, None)
            with contextlib.suppress(OSError):
                resource.close()


class _Pop3(poplib.POP3):
    """poplib.POP3 that closes its socket when the greeting is refused (the stdlib leaves it open)."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        try:
            super().__init__(host, port, timeout)
        except BaseException:
            _close_quietly(self)
            raise


class _Pop3Ssl(poplib.POP3_SSL):
    """POP3 over implicit TLS (RFC 8314 §3.1), with the same cleanup."""

    def __init__(self, host: str, port: int, timeout: float, context: ssl.SSLContext) -> None:
        try:
            super().__init__(host, port, timeout=timeout, context=context)
        except BaseException:
            _close_quietly(self)
            raise


def _lines_to_bytes(lines: list[bytes]) -> bytes:
    """poplib's lines (CRLF removed, dot-stuffing undone) back to the message's octets."""
    return b"".join(line + b"\r\n" for line in lines)


class Pop3Mailbox:
    """RemoteMailbox over poplib."""

    def __init__(self, client: poplib.POP3, address: ServerAddress) -> None:
        self._client = client
        self._address = address

    @classmethod
    def open(cls, settings: ServerSettings, credentials: Credentials) -> Pop3Mailbox:
        """Connect, secure the session as `settings.tls` says, log in (USER/PASS, RFC 1939 §7)."""
        address = settings.address
        try:
            if settings.tls == "implicit":
                assert settings.context is not None
                client: poplib.POP3 = _Pop3Ssl(address.host, address.port, settings.timeout, settings.context)
            else:
                client = _Pop3(address.host, address.port, settings.timeout)
        except poplib.error_proto as exc:
            raise RefusedError(f"{address} refused the session: {reply_text(exc.args[0])}") from None
        except OSError as exc:
            raise network_failure(address, exc, connected=False) from None
        mailbox = cls(client, address)
        try:
            mailbox._secure(settings)
            mailbox._login(credentials)
        except BaseException:
            mailbox.abandon()
            raise
        return mailbox

    def _secure(self, settings: ServerSettings) -> None:
        if settings.tls != "starttls":
            return
        assert settings.context is not None
        try:
            self._client.stls(settings.context)  # RFC 2595 §4
        except poplib.error_proto as exc:
            raise TlsError(
                f"{self._address} does not offer STLS ({reply_text(exc.args[0])}); "
                "refusing to send the password in clear (use --tls none to allow it)"
            ) from None
        except ssl.SSLError as exc:
            raise tls_failure(self._address, exc) from None
        except OSError as exc:
            raise network_failure(self._address, exc, connected=True) from None

    def _login(self, credentials: Credentials) -> None:
        try:
            self._client.user(credentials.login)
            self._client.pass_(credentials.password)
        except poplib.error_proto as exc:
            raise AuthError(f"authentication failed for {credentials.login}: {reply_text(exc.args[0])}") from None
        except OSError as exc:
            raise network_failure(self._address, exc, connected=True) from None

    @contextlib.contextmanager
    def _command(self, what: str) -> Iterator[None]:
        try:
            yield
        except poplib.error_proto as exc:
            raise RefusedError(f"{what}: {reply_text(exc.args[0])}") from None
        except OSError as exc:
            raise network_failure(self._address, exc, connected=True) from None

    def sizes(self) -> list[MessageSize]:
        with self._command("LIST"):
            _, lines, _ = self._client.list()
        result = []
        for line in lines:
            fields = line.split()
            if len(fields) < 2 or not fields[0].isdigit() or not fields[1].isdigit():
                raise UserAgentError(f"{self._address} sent a malformed LIST line: {reply_text(line)}")
            result.append(MessageSize(int(fields[0]), int(fields[1])))
        return result

    def unique_ids(self) -> dict[int, str] | None:
        try:
            _, lines, _ = self._client.uidl()
        except poplib.error_proto:
            return None  # UIDL is optional (RFC 1939 §7)
        except OSError as exc:
            raise network_failure(self._address, exc, connected=True) from None
        result: dict[int, str] = {}
        for line in lines:
            fields = line.split()
            if len(fields) >= 2 and fields[0].isdigit():
                result[int(fields[0])] = fields[1].decode("ascii", "replace")
        return result

    def headers(self, number: int) -> bytes:
        """The header section via TOP n 0; servers without TOP (optional, §7) send the whole message."""
        try:
            _, lines, _ = self._client.top(number, 0)
        except poplib.error_proto:
            return self.retrieve(number)
        except OSError as exc:
            raise network_failure(self._address, exc, connected=True) from None
        return _lines_to_bytes(lines)

    def retrieve(self, number: int) -> bytes:
        with self._command(f"message {number}"):
            _, lines, _ = self._client.retr(number)
        return _lines_to_bytes(lines)

    def delete(self, number: int) -> None:
        with self._command(f"cannot delete message {number}"):
            self._client.dele(number)

    def commit(self) -> None:
        try:
            with self._command("the server did not complete the session"):
                self._client.quit()
        finally:
            _close_quietly(self._client)

    def abandon(self) -> None:
        _close_quietly(self._client)


@contextlib.contextmanager
def open_mailbox(settings: ServerSettings, credentials: Credentials) -> Iterator[RemoteMailbox]:
    """A session that commits when the block ends normally and is abandoned otherwise."""
    mailbox = Pop3Mailbox.open(settings, credentials)
    try:
        yield mailbox
    except BaseException:
        mailbox.abandon()
        raise
    mailbox.commit()
