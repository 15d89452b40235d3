"""A host and a port: where a connection goes, printed the way a person types it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HostPort:
    host: str
    port: int

    def __str__(self) -> str:
        """`host:port`, with an IPv6 address in brackets so the port stays readable."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
