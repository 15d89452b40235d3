"""What the runner needs from each protocol, behind one interface.

The runner walks steps; a driver knows how that protocol frames replies, how to reach
a state (greeted, TLS, authenticated, ...) through the protocol itself, and how to
discover what the server advertises. Adding a protocol means adding a driver.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from harness.session import Connection
from harness.targets import Account, Endpoint


class SetupFailed(Exception):
    """The server did not let the harness reach the case's starting state."""


@dataclass(frozen=True)
class Judgement:
    """The outcome of one expectation step."""

    mismatch: str | None  # None: the reply matched
    received: str  # the reply as shown in a report
    captures: dict[str, str]


@dataclass(frozen=True)
class SetupContext:
    endpoint: Endpoint
    account: Account
    client_name: str
    timeout: float


class Driver(Protocol):
    protocol: str

    def new_reader(self) -> Any: ...

    def on_send(self, reader: Any, data: bytes) -> None:
        """Tell the reader what the sent command implies for framing (POP3 multi-line)."""

    def expect(
        self,
        conn: Connection,
        reader: Any,
        patterns: tuple[str, ...],
        body: tuple[str, ...] | None,
        bound: Mapping[str, str],
        timeout: float,
    ) -> Judgement: ...

    def setup(self, conn: Connection, reader: Any, state: str, ctx: SetupContext) -> None: ...

    def starttls_command(self) -> bytes | None: ...

    def discover(self, conn: Connection, reader: Any, ctx: SetupContext) -> frozenset[str]: ...

    def validate(self, pattern: str, body: tuple[str, ...] | None) -> set[str]:
        """Check an S: pattern at collection; return the capture names it binds."""

    def buffered(self, reader: Any) -> bytes:
        """Bytes received but not yet consumed as a reply."""
