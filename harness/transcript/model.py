"""The transcript model: what a suite file says, independent of how it is run.

A suite file holds cases; each case is a list of steps run on one or more named
connections. Every case carries its citation (RFC, section) and requirement level so
that a result can always be traced back to the sentence of the RFC it checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class Level(StrEnum):
    """Requirement levels as RFC 2119 names them; SPEC is normative prose without a keyword."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"
    SPEC = "SPEC"

    @property
    def blocking(self) -> bool:
        """Only MUST failures fail a run unless the user asks for --strict."""
        return self is Level.MUST


PROTOCOLS = ("smtp", "submission", "pop3", "imap")
"""Endpoint kinds a target may offer; submission is SMTP on the RFC 6409 port."""


@dataclass(frozen=True)
class Citation:
    rfc: int
    section: str

    def __str__(self) -> str:
        return f"RFC {self.rfc} §{self.section}"


@dataclass(frozen=True)
class Step:
    """One line of a case, remembered with its line number for error messages."""

    line: int


@dataclass(frozen=True)
class Send(Step):
    """`C:` a command line (CRLF appended) or `B:` raw bytes (sent exactly).

    The text still holds `$var` and `${...}` references; they are resolved at run time,
    when the target's variables and earlier captures are known.
    """

    text: str
    raw: bool = False


@dataclass(frozen=True)
class LiteralData(Step):
    """`L:` lines: the bytes of an IMAP literal announced by `{}` on the previous `C:` line."""

    lines: tuple[str, ...]


@dataclass(frozen=True)
class Expect(Step):
    """`S:` one server reply (for IMAP: a group of responses up to the tagged one).

    `patterns` holds the `S:` line(s) of the group; `body` the `S|` lines of a POP3
    multi-line body. `negate` is `S!:` — a reply must arrive and must not match.
    """

    patterns: tuple[str, ...]
    body: tuple[str, ...] | None = None
    negate: bool = False


@dataclass(frozen=True)
class ExpectClose(Step):
    """`S: <EOF>` the server closes the connection (after nothing more than a TLS close)."""


@dataclass(frozen=True)
class ExpectSilence(Step):
    """`S: <SILENT>` no byte arrives within the step timeout (the server waits for more input)."""


@dataclass(frozen=True)
class HopExpect(Step):
    """`H:`/`H!:` a command, `D:`/`D!:` a data line of the message the capture hop took last.

    Positive lines match in order (each after the line the previous one matched); a negated
    line must match no line at all. `pipelined` (`H: ... (pipelined)`) matches only commands
    that arrived before the reply to the command before them.
    """

    kind: str  # "H" (commands of the hop session) or "D" (lines of the message data)
    pattern: str
    negate: bool = False
    pipelined: bool = False


@dataclass(frozen=True)
class Directive(Step):
    """`! verb args`: starttls handshake, client close, reconnect, pause, timeout change."""

    verb: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class UseConnection(Step):
    """`@name [protocol] [state=...] [as=account]`: following steps run on that connection."""

    name: str
    protocol: str | None = None
    state: str | None = None
    account: str | None = None


DIRECTIVES: dict[str, tuple[int, int]] = {
    "starttls": (0, 0),  # TLS handshake now, after the server's go-ahead was matched
    "starttls-or-close": (0, 0),  # the same, or the server ends the connection: the case ends, passing
    "close": (0, 0),  # the client closes its side
    "reconnect": (0, 0),  # a new connection under the same name, in the same state as at first
    "sleep": (1, 1),  # seconds
    "timeout": (1, 1),  # seconds for each following step of this case
    "deliver": (2, 3),  # deliver <account> <count> [size]: messages via the target's SMTP
    "hop-wait": (1, 2),  # hop-wait <address>[|<address>...] [seconds]: the next hop accepted a message for it
    "hop-none": (2, 2),  # hop-none <address>[|<address>...] <seconds>: no message for it reaches the next hop
    "send-corpus": (1, 1),  # send-corpus <shape>: a harness.mime corpus message as mail data, then <CRLF>.<CRLF>
    "stored-intact": (1, 1),  # stored-intact <shape>: bob's copy, read over POP3, is the message sent
}
"""Directive name -> (minimum, maximum) argument count."""


@dataclass(frozen=True)
class Case:
    """One requirement checked in one run, a pytest item of its own."""

    slug: str
    level: Level
    line: int
    protocol: str
    citation: Citation
    also: tuple[Citation, ...]
    title: str
    quote: tuple[str, ...]  # `>` lines: the RFC's own words
    paraphrase: tuple[str, ...]  # `~` lines
    requires: tuple[str, ...]
    state: str
    account: str
    timeout: float | None
    steps: tuple[Step, ...]
    path: Path

    @property
    def case_id(self) -> str:
        """Stable id used by baselines and reports: suite path (no extension) + slug."""
        return f"{self.path.with_suffix('').as_posix()}::{self.slug}"

    @property
    def requirement(self) -> str:
        """The sentence a failure report opens with."""
        text = " ".join(self.quote) if self.quote else " ".join(self.paraphrase)
        return text or self.title


@dataclass(frozen=True)
class Transcript:
    """One suite file."""

    path: Path
    protocol: str
    citation: Citation
    title: str
    cases: tuple[Case, ...] = field(default_factory=tuple)
