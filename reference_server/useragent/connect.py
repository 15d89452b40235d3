"""Reaching a server: where it is, how TLS is set up, and what a failure to reach it means.

Shared by submission and retrieval so that both name the same failures the same way:
"cannot connect to HOST:PORT: <reason>" for the network, "TLS with HOST:PORT failed:
<reason>" for the handshake, with the certificate problem spelled out.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from reference_server.hostport import HostPort
from reference_server.useragent.errors import ConnectError, TlsError, UsageError

TlsMode = Literal["starttls", "implicit", "none"]
TLS_MODES: Final[tuple[TlsMode, ...]] = ("starttls", "implicit", "none")
DEFAULT_TIMEOUT: Final = 30.0  # seconds for connecting and for each reply
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


ServerAddress = HostPort
"""The server the user agent talks to, from --server or --pop3."""


@dataclass(frozen=True)
class ServerSettings:
    """Everything needed to open a session with one server."""

    address: ServerAddress
    tls: TlsMode
    context: ssl.SSLContext | None  # None only with tls == "none"
    timeout: float = DEFAULT_TIMEOUT


def parse_address(text: str, default_port: int, flag: str) -> ServerAddress:
    """`HOST`, `HOST:PORT` or `[IPv6]:PORT`; a bare host gets the protocol's default port."""
    host, port_text = text, ""
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or (len(text) > end + 1 and text[end + 1] != ":"):
            raise UsageError(f"{flag}: expected HOST or HOST:PORT, got {text!r}")
        host, port_text = text[1:end], text[end + 2 :]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    if not host or any(c.isspace() for c in host):
        raise UsageError(f"{flag}: expected HOST or HOST:PORT, got {text!r}")
    if not port_text:
        return ServerAddress(host, default_port)
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise UsageError(f"{flag}: port must be a number from 1 to 65535, got {port_text!r}")
    return ServerAddress(host, int(port_text))


def client_context(cafile: Path | None, insecure: bool) -> ssl.SSLContext:
    """The client's TLS context: the system's trust store unless told otherwise.

    TLS 1.2 at least (RFC 8314 §5: MUAs MUST implement TLS 1.2 or later). `insecure` turns
    verification off for test servers with throw-away certificates; it is never the default.
    """
    if insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif cafile is not None:
        try:
            context = ssl.create_default_context(cafile=str(cafile))
        except FileNotFoundError:
            raise UsageError(f"--cafile: no such file: {cafile}") from None
        except (ssl.SSLError, OSError) as exc:
            raise UsageError(f"--cafile: {cafile} holds no usable PEM certificate ({reason(exc)})") from None
    else:
        context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def printable(text: str) -> str:
    """Text from the network with control characters replaced, safe to print on a terminal."""
    return _CONTROL.sub("?", text)


def reply_text(raw: bytes | str) -> str:
    """A server reply for an error line: decoded, one line, no control characters."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return printable(" ".join(text.split()))


def reason(exc: BaseException) -> str:
    """The human part of an OS or TLS error, without errno numbers and class names."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def tls_failure(address: ServerAddress, exc: ssl.SSLError) -> TlsError:
    hint = ""
    if isinstance(exc, ssl.SSLCertVerificationError):
        hint = " (trust its CA with --cafile PEM, or skip verification with --insecure)"
    return TlsError(f"TLS with {address} failed: {reason(exc)}{hint}")


def network_failure(address: ServerAddress, exc: OSError, *, connected: bool) -> ConnectError | TlsError:
    """Name an OS-level failure: before the session began, or while it ran."""
    if isinstance(exc, ssl.SSLError):
        return tls_failure(address, exc)
    if connected:
        return ConnectError(f"connection to {address} lost: {reason(exc)}")
    return ConnectError(f"cannot connect to {address}: {reason(exc)}")
