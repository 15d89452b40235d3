"""Effects that every protocol's state machine asks of its connection in the same way.

A state machine stays pure: it returns replies and at most one effect for the asyncio edge to
carry out. Closing the connection and upgrading it to TLS mean the same in SMTP, POP3 and
IMAP, so the session runners' shared base (sessions.py) carries them out once; each protocol's
own effects stay in its own state module.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StartTls:
    """Send the replies, drop buffered plaintext, handshake, then call the session's `tls_started`."""


@dataclass(frozen=True)
class Close:
    """Send the replies, then close the connection."""
