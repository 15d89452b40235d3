"""TLS for the listeners: the server SSLContext and a throw-away self-signed certificate.

Without a configured certificate the server makes one at start (an EC P-256 key, valid
for a day, naming the server's hostname and 127.0.0.1), so STARTTLS works out of the box;
clients of the reference server are test clients that do not verify it.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SELF_SIGNED_VALIDITY: Final = datetime.timedelta(days=1)
HANDSHAKE_TIMEOUT: Final = 30.0  # seconds for a TLS handshake before the connection is dropped


def write_self_signed(hostname: str, directory: Path) -> tuple[Path, Path]:
    """Create cert.pem and key.pem for `hostname` in `directory`; return their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + SELF_SIGNED_VALIDITY)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName(hostname),
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.touch(mode=0o600)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """A server-side context: TLS 1.2 or later (RFC 8314 §4.1), no client certificates."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


async def upgrade_server_side(
    transport: asyncio.Transport, protocol: asyncio.BaseProtocol, context: ssl.SSLContext
) -> asyncio.Transport:
    """The TLS handshake after STARTTLS/STLS go-ahead; OSError when it fails or times out.

    One place for the upgrade both mail protocols perform mid-session (RFC 3207 §4, RFC 2595 §4);
    discarding the plaintext pipelined after the command is the caller's, since each protocol has
    its own fault that keeps it.
    """
    loop = asyncio.get_running_loop()
    try:
        upgraded = await loop.start_tls(
            transport, protocol, context, server_side=True, ssl_handshake_timeout=HANDSHAKE_TIMEOUT
        )
    except (ssl.SSLError, TimeoutError, ConnectionError) as exc:
        raise OSError(f"TLS handshake failed: {exc}") from exc
    if upgraded is None:
        raise OSError("TLS handshake failed")
    assert isinstance(upgraded, asyncio.Transport)
    return upgraded
