"""The capture next hop: a small SMTP server the harness runs so relay cases can see what a
relaying server under test sends onwards.

The server under test is the SMTP *client* in those cases. It is told to route two test
domains here: one listener announces the usual extensions, the other none at all, so a
case can check what a relay does when the next hop lacks PIPELINING or 8BITMIME. The
recipient's local part picks the hop's answer (`tempfail-...` once 451, `reject-...`
550), so retries and notifications can be provoked on demand.

`protocol` is the pure session machine, `record` what was captured (shared with the
runner thread), `server` the asyncio edge that runs in a background thread.
"""

from __future__ import annotations

from harness.nexthop.record import HopCommand, HopMessage, HopRecorder
from harness.nexthop.server import CaptureHop, HopError

__all__ = ["CaptureHop", "HopCommand", "HopError", "HopMessage", "HopRecorder"]
