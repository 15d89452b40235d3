"""Open a connection to one of a target's endpoints: the one place that maps an endpoint to a socket.

Cases, fixture delivery, retrieval and capability discovery all connect the same way: to the
endpoint's host and port, with TLS from the first byte where the endpoint is implicit TLS,
checked against the target's server name.
"""

from __future__ import annotations

import ssl

from harness.session import Connection, SessionLog
from harness.targets import Endpoint, Target


def connect(
    target: Target, endpoint: Endpoint, name: str, log: SessionLog, tls: ssl.SSLContext, timeout: float
) -> Connection:
    """Raises SessionError when the connection is refused or an implicit-TLS handshake fails."""
    return Connection(
        name,
        endpoint.host,
        endpoint.port,
        log,
        implicit_tls=endpoint.tls == "implicit",
        tls_context=tls,
        server_name=target.server_name,
        connect_timeout=timeout,
    )
