"""What the capture next hop saw, kept where the (synchronous) case runner can wait for it.

The hop's sessions run in an asyncio loop on a background thread; the runner blocks in a
`! hop-wait` step. `HopRecorder` is the one object both threads touch, behind one lock and
condition, and it is bounded: a long run keeps the newest messages and sessions only.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

MAX_MESSAGES: Final = 2000  # kept per hop; a case looks for its own message right after sending it
MAX_SESSIONS: Final = 2000
MAX_TRANSCRIPT: Final = 400  # lines of one session's transcript kept for failure reports


@dataclass(frozen=True)
class HopCommand:
    """One command line as the hop received it.

    `pipelined`: it arrived before the hop had sent the reply to the command before it, which
    a client may do only where the hop announced PIPELINING (RFC 2920 §3.1, RFC 5321 §4.3.1).
    """

    text: str
    pipelined: bool = False


@dataclass(frozen=True)
class HopMessage:
    """A message the hop accepted (250 after the final dot), with the session that brought it."""

    listener: str  # "relay" or "legacy"
    session: int
    peer: str
    reverse_path: str  # "" for the null reverse-path <>
    recipients: tuple[str, ...]  # the recipients the hop accepted for this message
    commands: tuple[HopCommand, ...]  # the session's opening commands, then this transaction's
    wire: bytes  # the mail data as it arrived, still dot-stuffed, without the final ".\r\n"
    data: bytes  # the mail data after removing the transparency dots (RFC 5321 §4.5.2)
    data_pipelined: bool = False  # the first data line arrived before the 354 was sent

    @property
    def lines(self) -> list[str]:
        """The unstuffed data as text lines (octets that are not UTF-8 become U+FFFD)."""
        text = self.data.decode("utf-8", "replace")
        lines = text.split("\r\n")
        if lines and lines[-1] == "":
            lines.pop()
        return lines

    def for_address(self, addresses: Iterable[str]) -> bool:
        wanted = {a.casefold() for a in addresses}
        return any(r.casefold() in wanted for r in self.recipients)


@dataclass
class SessionTrace:
    """One hop session as a short transcript, for the report when a case finds nothing."""

    session: int
    listener: str
    peer: str
    lines: list[str] = field(default_factory=list)
    outcome: str = "open"
    addresses: set[str] = field(default_factory=set)  # every address named in MAIL or RCPT


class HopRecorder:
    """Messages and session traces of one capture hop; safe to use from any thread."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._messages: deque[HopMessage] = deque(maxlen=MAX_MESSAGES)
        self._sessions: deque[SessionTrace] = deque(maxlen=MAX_SESSIONS)
        self._by_id: dict[int, SessionTrace] = {}

    # -- the hop's side ---------------------------------------------------------------------

    def session_opened(self, session: int, listener: str, peer: str) -> None:
        with self._condition:
            trace = SessionTrace(session, listener, peer)
            if len(self._sessions) == self._sessions.maxlen:
                self._by_id.pop(self._sessions[0].session, None)
            self._sessions.append(trace)
            self._by_id[session] = trace

    def trace(self, session: int, direction: str, text: str) -> None:
        """A line of the session transcript: `<<` received by the hop, `>>` its reply."""
        with self._condition:
            trace = self._by_id.get(session)
            if trace is not None and len(trace.lines) < MAX_TRANSCRIPT:
                trace.lines += [f"{direction} {line}" for line in text.splitlines() or [""]]

    def named(self, session: int, addresses: Sequence[str]) -> None:
        """The session named these addresses (MAIL, RCPT): `describe` finds it by them."""
        with self._condition:
            trace = self._by_id.get(session)
            if trace is not None:
                trace.addresses.update(a.casefold() for a in addresses)

    def session_closed(self, session: int, outcome: str) -> None:
        with self._condition:
            trace = self._by_id.get(session)
            if trace is not None:
                trace.outcome = outcome

    def add(self, message: HopMessage) -> None:
        with self._condition:
            self._messages.append(message)
            self._condition.notify_all()

    # -- the runner's side ------------------------------------------------------------------

    def find(self, addresses: Sequence[str]) -> HopMessage | None:
        """The first message accepted for one of `addresses`, if any arrived yet."""
        with self._condition:
            return next((m for m in self._messages if m.for_address(addresses)), None)

    def wait_for(self, addresses: Sequence[str], timeout: float) -> HopMessage | None:
        """Block until a message for one of `addresses` was accepted, or `timeout` seconds passed."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                found = next((m for m in self._messages if m.for_address(addresses)), None)
                remaining = deadline - time.monotonic()
                if found is not None or remaining <= 0:
                    return found
                self._condition.wait(remaining)

    def describe(self, addresses: Sequence[str]) -> str:
        """What the hop saw of these addresses: the transcript of every session that named one."""
        wanted = {a.casefold() for a in addresses}
        with self._condition:
            traces = [t for t in self._sessions if t.addresses & wanted]
            if not traces:
                return f"no session of the next hop named {' or '.join(addresses)}"
            out: list[str] = []
            for trace in traces:
                out.append(
                    f"hop session {trace.session} ({trace.listener} listener, from {trace.peer}): {trace.outcome}"
                )
                out += [f"  {line}" for line in trace.lines]
            return "\n".join(out)
