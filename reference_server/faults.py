"""Named, deliberate defects that make the reference server break one RFC clause each.

A conformance check that no server can fail proves nothing. The meta-tests start the
reference server with one fault switched on (``serve --fault NAME``) and expect exactly
the checks for that clause to fail. Each fault is therefore a *realistic* defect -- the
kind a real server has shipped with -- and its flag is read at the one place in the
server where that behaviour is decided, never keyed to the input of a particular test.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final


@dataclass(frozen=True)
class Fault:
    """One defect: its flag name, the clause it breaks, and what the server then does."""

    name: str
    rfc: str
    section: str
    description: str

    @property
    def citation(self) -> str:
        """'RFC 5321 §4.5.2' -- how reports and `faults` print the broken clause."""
        return f"{self.rfc} §{self.section}"


class UnknownFaultError(ValueError):
    """A fault name that the registry does not know (typo on the command line)."""

    def __init__(self, name: str) -> None:
        known = ", ".join(sorted(REGISTRY))
        super().__init__(f"unknown fault {name!r}; known faults: {known}")
        self.name = name


_FAULTS: Final[tuple[Fault, ...]] = (
    Fault(
        "smtp.dot-unstuffing-missing",
        "RFC 5321",
        "4.5.2",
        "DATA lines starting with a period are stored with the doubled transparency dot",
    ),
    Fault(
        "smtp.bare-lf-ends-data",
        "RFC 5321",
        "4.1.1.4",
        "<LF>.<LF> ends the mail data like <CRLF>.<CRLF> (SMTP smuggling)",
    ),
    Fault(
        "smtp.long-line-truncated",
        "RFC 5321",
        "4.5.3.1.6",
        "text lines over 1000 octets are silently cut and the message accepted",
    ),
    Fault(
        "smtp.rcpt-before-mail-accepted",
        "RFC 5321",
        "3.3",
        "RCPT without a preceding MAIL is answered 250 instead of 503",
    ),
    Fault(
        "smtp.second-mail-accepted",
        "RFC 5321",
        "4.1.4",
        "MAIL inside an open transaction is accepted and silently restarts it instead of 503",
    ),
    Fault(
        "smtp.data-without-rcpt-accepted",
        "RFC 2920",
        "3.2",
        "DATA after MAIL with no accepted recipient gets 354 instead of 503/554",
    ),
    Fault(
        "smtp.rset-ignored",
        "RFC 5321",
        "4.1.1.5",
        "RSET answers 250 but keeps the reverse-path and recipients",
    ),
    Fault(
        "smtp.ehlo-no-reset",
        "RFC 5321",
        "4.1.4",
        "EHLO in the middle of a transaction answers 250 but keeps the transaction",
    ),
    Fault(
        "smtp.helo-gets-ehlo-reply",
        "RFC 5321",
        "3.2",
        "HELO is answered with the multi-line EHLO extension list",
    ),
    Fault(
        "smtp.multiline-continuation-wrong",
        "RFC 5321",
        "4.2.1",
        "multi-line replies use <SP> after the code on every line instead of '-' on all but the last",
    ),
    Fault(
        "smtp.enhanced-codes-missing",
        "RFC 2034",
        "4",
        "ENHANCEDSTATUSCODES is advertised but replies carry no enhanced status code",
    ),
    Fault(
        "smtp.unknown-user-accepted",
        "RFC 5321",
        "3.3",
        "RCPT for a local mailbox that does not exist is accepted (mail is then dropped)",
    ),
    Fault(
        "smtp.postmaster-rejected",
        "RFC 5321",
        "4.5.1",
        "RCPT TO:<Postmaster> and postmaster@<local domain> are refused with 550",
    ),
    Fault(
        "smtp.source-route-rejected",
        "RFC 5321",
        "4.1.2",
        "paths with a source route (<@a,@b:user@domain>) are refused with 501",
    ),
    Fault(
        "smtp.open-relay",
        "RFC 5321",
        "7.9",
        "RCPT to a domain the server does not serve is accepted from anyone (open relay)",
    ),
    Fault(
        "smtp.too-many-recipients-552",
        "RFC 5321",
        "4.5.3.1.10",
        "exceeding the recipient limit is answered 552 instead of 452",
    ),
    Fault(
        "smtp.size-not-enforced",
        "RFC 1870",
        "6.1",
        "MAIL with SIZE= above the advertised limit is accepted instead of 552",
    ),
    Fault(
        "smtp.quit-no-close",
        "RFC 5321",
        "4.1.1.10",
        "QUIT is answered 221 but the connection stays open",
    ),
    Fault(
        "smtp.unknown-command-closes",
        "RFC 5321",
        "3.8",
        "an unrecognized command is answered 500 and the connection is closed",
    ),
    Fault(
        "smtp.vrfy-syntax-only-250",
        "RFC 5321",
        "3.5.3",
        "VRFY answers 250 for any syntactically valid name, existing or not",
    ),
    Fault(
        "smtp.received-missing",
        "RFC 5321",
        "4.4",
        "delivered messages carry no Received: trace header field",
    ),
    Fault(
        "smtp.return-path-missing",
        "RFC 5321",
        "4.4",
        "delivered messages carry no Return-Path: header field",
    ),
    Fault(
        "smtp.pipelining-input-flushed",
        "RFC 2920",
        "3.2",
        "input already buffered is thrown away when a command fails",
    ),
    Fault(
        "smtp.starttls-no-state-reset",
        "RFC 3207",
        "4.2",
        "after the TLS handshake the EHLO and transaction state from before TLS is kept",
    ),
    Fault(
        "smtp.starttls-buffered-commands-kept",
        "RFC 3207",
        "6",
        "plaintext commands pipelined after STARTTLS are executed inside the TLS session",
    ),
    Fault(
        "smtp.starttls-advertised-after-tls",
        "RFC 3207",
        "4.2",
        "EHLO after the TLS handshake still lists STARTTLS",
    ),
    Fault(
        "smtp.auth-before-tls",
        "RFC 4954",
        "4",
        "AUTH PLAIN/LOGIN are offered and accepted on a connection without TLS",
    ),
    Fault(
        "smtp.auth-twice-accepted",
        "RFC 4954",
        "4",
        "a second AUTH after a successful one is processed instead of 503",
    ),
    Fault(
        "smtp.data-after-bdat-accepted",
        "RFC 3030",
        "2",
        "DATA after BDAT in the same transaction gets 354 instead of 503",
    ),
)

REGISTRY: Final[Mapping[str, Fault]] = MappingProxyType({fault.name: fault for fault in _FAULTS})


@dataclass(frozen=True)
class Faults:
    """The set of faults switched on for one server run; immutable, shared by every session."""

    names: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for name in self.names:
            if name not in REGISTRY:
                raise UnknownFaultError(name)

    @classmethod
    def of(cls, names: Iterable[str]) -> Faults:
        """Build from command-line names; an unknown name raises UnknownFaultError."""
        return cls(frozenset(names))

    def on(self, name: str) -> bool:
        """Is this fault switched on? Asking about an unregistered name is a programming error."""
        if name not in REGISTRY:
            raise KeyError(f"fault {name!r} is not registered in reference_server.faults")
        return name in self.names

    def listed(self) -> list[str]:
        """The switched-on names in a stable order (ready file, logs)."""
        return sorted(self.names)


NO_FAULTS: Final = Faults()
