"""Discover what each endpoint advertises (EHLO keywords, CAPA tags, CAPABILITY atoms).

A case whose `requires:` names something the server does not offer is skipped with
that reason — a server is not non-conformant for lacking an optional extension. The
target file may add (`+X`) or remove (`-X`) capabilities where discovery cannot see
the truth, e.g. an extension offered only to authenticated clients.
"""

from __future__ import annotations

from typing import Final

from harness.connect import connect
from harness.drivers.base import SetupContext, SetupFailed
from harness.readers.errors import ReplyFramingError
from harness.runner import make_driver
from harness.session import SessionError, SessionLog, client_tls_context
from harness.targets import Target

DISCOVERY_TIMEOUT: Final = 10.0


class CapabilityError(Exception):
    """Discovery itself failed: the endpoint is not usable for this run."""


def discover_all(target: Target) -> dict[str, frozenset[str]]:
    return {protocol: discover(target, protocol) for protocol in target.endpoints}


def discover(target: Target, protocol: str) -> frozenset[str]:
    endpoint = target.endpoints[protocol]
    driver = make_driver(protocol)
    reader = driver.new_reader()
    log = SessionLog()
    timeout = max(DISCOVERY_TIMEOUT, target.step_timeout)
    try:
        tls = client_tls_context(target.ca_file, target.verify_tls)
        conn = connect(target, endpoint, "discover", log, tls, timeout)
        try:
            found = set(
                driver.discover(
                    conn,
                    reader,
                    SetupContext(endpoint, target.accounts["alice"], target.client_name, timeout),
                )
            )
        finally:
            conn.close()
    except (SessionError, SetupFailed, ReplyFramingError) as exc:
        raise CapabilityError(f"{endpoint}: capability discovery failed: {exc}") from None
    for override in target.capability_overrides.get(protocol, ()):
        name = override[1:].upper() if override[:1] in "+-" else override.upper()
        if override.startswith("-"):
            found.discard(name)
        else:
            found.add(name)
    return frozenset(found)
