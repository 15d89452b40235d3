"""The TLS helpers: a usable self-signed certificate and a strict server context."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from pathlib import Path

from cryptography import x509

from reference_server.tls import server_context, write_self_signed


def test_self_signed_certificate_names_the_host(tmp_path: Path) -> None:
    cert_path, key_path = write_self_signed("mail.example.test", tmp_path)
    assert key_path.stat().st_mode & 0o077 == 0  # the private key is not readable by others
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "mail.example.test" in names.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)


def test_handshake_with_the_generated_certificate(tmp_path: Path) -> None:
    cert_path, key_path = write_self_signed("mail.example.test", tmp_path)
    server = server_context(cert_path, key_path)
    assert server.minimum_version >= ssl.TLSVersion.TLSv1_2
    client = ssl.create_default_context(cafile=str(cert_path))
    left, right = socket.socketpair()
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            with server.wrap_socket(right, server_side=True) as tls:
                tls.sendall(tls.recv(5))
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=serve)
    thread.start()
    with client.wrap_socket(left, server_hostname="mail.example.test") as tls:
        tls.sendall(b"hello")
        assert tls.recv(5) == b"hello"
    thread.join(10)
    assert not errors
