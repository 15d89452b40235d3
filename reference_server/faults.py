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
    Fault(
        "smtp.verbs-case-sensitive",
        "RFC 5321",
        "2.4",
        "command verbs are matched as sent, so only upper-case verbs are recognized (500)",
    ),
    Fault(
        "smtp.resent-fields-checked",
        "RFC 5321",
        "3.3",
        "a message whose Resent- block lacks Resent-From or Resent-Date is refused with 554",
    ),
    Fault(
        "smtp.vrfy-not-implemented",
        "RFC 5321",
        "4.5.1",
        "VRFY is answered 502 (command not implemented)",
    ),
    Fault(
        "smtp.ipv6-literal-rejected",
        "RFC 5321",
        "4.1.3",
        "address literals are understood in the IPv4 form only; [IPv6:...] is a 501 syntax error",
    ),
    Fault(
        "smtp.noop-in-transaction-503",
        "RFC 5321",
        "4.1.1.9",
        "NOOP inside a mail transaction is answered 503",
    ),
    Fault(
        "smtp.domain-underscore-accepted",
        "RFC 5321",
        "4.1.2",
        "domain labels may contain '_' (MAIL/RCPT accepted instead of 501)",
    ),
    Fault(
        "smtp.bad-mail-opens-transaction",
        "RFC 5321",
        "4.1.4",
        "a MAIL with an unparsable argument is answered 501 but opens a transaction with a null sender",
    ),
    Fault(
        "smtp.ehlo-literal-mismatch-refused",
        "RFC 5321",
        "4.1.4",
        "MAIL is refused with 550 when the EHLO address literal is not the client's address",
    ),
    Fault(
        "smtp.failed-ehlo-resets",
        "RFC 5321",
        "4.1.4",
        "a refused EHLO/HELO (501) still resets the open mail transaction",
    ),
    Fault(
        "smtp.expn-advertised-not-implemented",
        "RFC 5321",
        "4.2.4",
        "EXPN is listed in the EHLO reply but answered 502",
    ),
    Fault(
        "smtp.help-not-implemented",
        "RFC 5321",
        "4.1.1.8",
        "HELP is answered 502 (while the EHLO reply still lists it)",
    ),
    Fault(
        "smtp.long-command-split",
        "RFC 5321",
        "4.2",
        "an over-long command line is cut into 512-octet pieces, each answered as a command",
    ),
    Fault(
        "smtp.reply-bare-lf",
        "RFC 5321",
        "2.3.8",
        "reply lines end in a bare LF instead of CRLF",
    ),
    Fault(
        "smtp.command-lines-split-on-any-newline",
        "RFC 5321",
        "2.3.8",
        "a bare LF or a bare CR ends a command line, like CRLF",
    ),
    Fault(
        "smtp.bare-cr-ends-data",
        "RFC 5321",
        "2.3.8",
        "<CR>.<CR> ends the mail data like <CRLF>.<CRLF> (SMTP smuggling)",
    ),
    Fault(
        "smtp.end-of-data-missed-across-reads",
        "RFC 5321",
        "4.5.2",
        "<CRLF>.<CRLF> is looked for in each read on its own and missed when split across reads",
    ),
    Fault(
        "smtp.dot-line-trimmed",
        "RFC 5321",
        "4.5.2",
        "a line of a period and trailing white space is taken for the end of the mail data",
    ),
    Fault(
        "smtp.unstuff-before-end-check",
        "RFC 5321",
        "4.5.2",
        "the transparency dot is removed before the end-of-data check, so a '..' line ends the data",
    ),
    Fault(
        "smtp.command-line-limit-exclusive",
        "RFC 5321",
        "4.5.3.1.4",
        "a command line of exactly 512 octets is refused as too long",
    ),
    Fault(
        "smtp.path-limits-exclusive",
        "RFC 5321",
        "4.5.3.1",
        "a 64-octet local part, a 255-octet domain or a 256-octet path is refused as too long",
    ),
    Fault(
        "smtp.text-line-limit-exclusive",
        "RFC 5321",
        "4.5.3.1.6",
        "a text line of exactly 1000 octets with its CRLF is refused as too long",
    ),
    Fault(
        "smtp.message-limit-below-64k",
        "RFC 5321",
        "4.5.3.1.7",
        "the configured message size limit is read as KiB and divided again: 50 KiB instead of 50 MiB",
    ),
    Fault(
        "smtp.recipients-buffer-too-small",
        "RFC 5321",
        "4.5.3.1.8",
        "only 50 recipients are buffered; the 51st RCPT gets 452",
    ),
    Fault(
        "smtp.size-parameter-refused",
        "RFC 1870",
        "6",
        "SIZE is advertised but MAIL with a SIZE= parameter is answered 555",
    ),
    Fault(
        "smtp.enhanced-code-class-wrong",
        "RFC 2034",
        "4",
        "every reply carries the enhanced status code 2.0.0, whatever its class",
    ),
    Fault(
        "smtp.enhanced-code-first-line-only",
        "RFC 2034",
        "4",
        "multi-line replies carry the enhanced status code on their first line only",
    ),
    Fault(
        "smtp.pipelining-group-held-until-data",
        "RFC 2920",
        "3.2",
        "replies to a pipelined group are held until a DATA (or other non-bufferable) command arrives",
    ),
    Fault(
        "smtp.replies-held-while-input-pending",
        "RFC 2920",
        "3.2",
        "replies are sent only once the input buffer is empty, so a partly received command holds back"
        " the replies before it (NOOP included)",
    ),
    Fault(
        "smtp.input-after-data-dropped",
        "RFC 2920",
        "3.2",
        "commands that arrive in the same read as the end of the mail data are thrown away",
    ),
    Fault(
        "smtp.bdat-chunk-size-off-by-two",
        "RFC 3030",
        "2",
        "a BDAT chunk is taken to be two octets longer than its size (the command's CRLF counted)",
    ),
    Fault(
        "smtp.refused-bdat-data-parsed-as-commands",
        "RFC 3030",
        "2",
        "the data of a refused BDAT is not read and discarded but parsed as commands",
    ),
    Fault(
        "smtp.binarymime-data-accepted",
        "RFC 3030",
        "3",
        "DATA after MAIL ... BODY=BINARYMIME gets 354 instead of 503",
    ),
    Fault(
        "smtp.starttls-accepted-twice",
        "RFC 3207",
        "4.2",
        "STARTTLS inside a TLS session is answered 220 again",
    ),
    Fault(
        "smtp.plain-requires-initial-response",
        "RFC 4954",
        "4",
        "AUTH PLAIN without an initial response is refused with 501 instead of the empty 334 challenge",
    ),
    Fault(
        "smtp.auth-cancel-answered-535",
        "RFC 4954",
        "4",
        "a '*' cancelling the SASL exchange is answered 535 instead of 501",
    ),
    Fault(
        "smtp.sasl-base64-lenient",
        "RFC 4954",
        "4",
        "SASL base64 is decoded leniently: characters outside the alphabet are skipped",
    ),
    Fault(
        "smtp.auth-in-transaction-accepted",
        "RFC 4954",
        "4",
        "AUTH inside a mail transaction is processed instead of 503",
    ),
    Fault(
        "smtp.plain-empty-password-accepted",
        "RFC 4616",
        "2",
        "PLAIN with an empty password authenticates the user (an unauthenticated-bind style check)",
    ),
    Fault(
        "smtp.8bitmime-only-after-tls",
        "RFC 6531",
        "3.1",
        "8BITMIME is listed in the EHLO reply only after STARTTLS, while SMTPUTF8 is listed before",
    ),
    Fault(
        "smtp.smtputf8-addresses-refused",
        "RFC 6531",
        "3.2",
        "SMTPUTF8 is advertised but non-ASCII addresses are refused even with the SMTPUTF8 parameter",
    ),
    Fault(
        "smtp.submission-null-sender-rejected",
        "RFC 6409",
        "3.2",
        "the submission port refuses MAIL FROM:<> with 550",
    ),
    Fault(
        "pop3.dele-immediate",
        "RFC 1939",
        "5",
        "DELE removes the message from the maildrop at once instead of in the UPDATE state",
    ),
    Fault(
        "pop3.octets-lf-counted",
        "RFC 1939",
        "11",
        "LIST, STAT and RETR sizes count each line end as one octet (LF) instead of two (CRLF)",
    ),
    Fault(
        "pop3.no-byte-stuffing",
        "RFC 1939",
        "3",
        "message lines starting with the termination octet are sent without the extra '.'",
    ),
    Fault(
        "pop3.uidl-per-session",
        "RFC 1939",
        "7",
        "UIDL unique-ids are made from the session and the message number, so they change every session",
    ),
    Fault(
        "pop3.rset-keeps-deletions",
        "RFC 1939",
        "5",
        "RSET answers +OK but leaves messages marked as deleted",
    ),
    Fault(
        "pop3.deleted-still-listed",
        "RFC 1939",
        "5",
        "LIST without an argument still lists messages marked as deleted",
    ),
    Fault(
        "pop3.deleted-message-retrievable",
        "RFC 1939",
        "5",
        "RETR of a message marked as deleted sends the message instead of -ERR",
    ),
    Fault(
        "pop3.no-maildrop-lock",
        "RFC 1939",
        "4",
        "the maildrop is not locked: a second session for the same user logs in and sees the same messages",
    ),
    Fault(
        "pop3.update-without-quit",
        "RFC 1939",
        "6",
        "messages marked as deleted are removed when the connection drops without QUIT",
    ),
    Fault(
        "pop3.user-reveals-unknown-names",
        "RFC 1939",
        "13",
        "USER answers -ERR for a name without a mailbox, telling a guesser which names exist",
    ),
    Fault(
        "pop3.top-ignores-line-count",
        "RFC 1939",
        "7",
        "TOP sends the whole message whatever number of body lines was asked for",
    ),
    Fault(
        "pop3.verbs-case-sensitive",
        "RFC 1939",
        "3",
        "command keywords are matched as sent, so only upper-case keywords are recognized",
    ),
    Fault(
        "pop3.capa-missing-terminator",
        "RFC 2449",
        "5",
        "the CAPA capability list is not ended by the '.' line",
    ),
    Fault(
        "pop3.stls-buffered-commands-kept",
        "RFC 2595",
        "4",
        "plaintext commands pipelined after STLS are executed inside the TLS session",
    ),
    Fault(
        "pop3.auth-before-tls",
        "RFC 5034",
        "4",
        "USER/PASS and AUTH PLAIN are offered and accepted on a connection without TLS",
    ),
    Fault(
        "pop3.unknown-command-ok",
        "RFC 1939",
        "3",
        "an unrecognized command is answered +OK and otherwise ignored instead of -ERR",
    ),
    Fault(
        "pop3.noop-before-login",
        "RFC 1939",
        "3",
        "NOOP is answered +OK in the AUTHORIZATION state too, though it is a TRANSACTION command",
    ),
    Fault(
        "pop3.user-after-login",
        "RFC 1939",
        "3",
        "USER is still accepted in the TRANSACTION state and answered +OK",
    ),
    Fault(
        "pop3.pass-before-user-accepted",
        "RFC 1939",
        "7",
        "PASS before USER is answered +OK and kept, and the USER that follows logs in with it",
    ),
    Fault(
        "pop3.bad-message-number-ignored",
        "RFC 1939",
        "3",
        "LIST with an argument that is not a message-number answers as if no argument had been given",
    ),
    Fault(
        "pop3.top-line-count-atoi",
        "RFC 1939",
        "3",
        "TOP reads its line count like C atoi: a count that is not a number counts as 0 lines",
    ),
    Fault(
        "pop3.uidl-listing-with-size",
        "RFC 1939",
        "7",
        "unique-id listings carry the message size after the unique-id",
    ),
    Fault(
        "pop3.update-purges-all",
        "RFC 1939",
        "6",
        "QUIT removes every message of the maildrop as soon as at least one is marked as deleted",
    ),
    Fault(
        "pop3.apop-timestamp-constant",
        "RFC 1939",
        "7",
        "the APOP timestamp is made once when the server starts and repeated in every greeting",
    ),
    Fault(
        "pop3.command-line-split-at-128",
        "RFC 2449",
        "4",
        "commands are read into a 128-octet buffer: a longer line is cut there and the rest read as another command",
    ),
    Fault(
        "pop3.pipelined-commands-dropped",
        "RFC 2449",
        "6.6",
        "PIPELINING is announced, but commands that arrive together with the one being answered are thrown away",
    ),
    Fault(
        "pop3.sasl-challenge-text",
        "RFC 5034",
        "4",
        "the empty SASL challenge carries text ('+ go ahead') instead of nothing after '+ '",
    ),
    Fault(
        "pop3.sasl-base64-lenient",
        "RFC 5034",
        "4",
        "SASL data is decoded leniently: characters outside the base64 alphabet and misplaced pads are skipped",
    ),
    Fault(
        "pop3.failed-auth-disconnects",
        "RFC 5034",
        "4",
        "a failed or cancelled AUTH is answered -ERR and the connection closed, instead of going on",
    ),
    Fault(
        "pop3.auth-after-login",
        "RFC 5034",
        "4",
        "AUTH is still accepted after a login and answered +OK when the credentials are right",
    ),
    # --- relay: the outgoing queue and its SMTP client (reference_server/queue/) ---------------
    Fault(
        "relay.no-retry-on-4xx",
        "RFC 5321",
        "4.5.4.1",
        "a 4xx reply or a failed connection is treated as final: the recipient is bounced at once, never retried",
    ),
    Fault(
        "relay.no-bounce-on-5xx",
        "RFC 5321",
        "6.1",
        "a recipient the next hop refuses with 5xx after our 250 is dropped without a notification",
    ),
    Fault(
        "relay.bounce-to-null-sender",
        "RFC 5321",
        "6.1",
        "a failure of a message with the null reverse-path is notified anyway (to the postmaster)",
    ),
    Fault(
        "relay.bounce-with-sender",
        "RFC 5321",
        "6.1",
        "notifications are sent with MAIL FROM:<postmaster@hostname> instead of the null reverse-path",
    ),
    Fault(
        "relay.drops-last-recipient",
        "RFC 5321",
        "6.1",
        "of several recipients sent to one next hop, the last gets no RCPT and its copy is lost silently",
    ),
    Fault(
        "relay.received-missing",
        "RFC 5321",
        "4.4",
        "a message accepted for relaying leaves without a Received: field of this server",
    ),
    Fault(
        "relay.loop-not-detected",
        "RFC 5321",
        "6.3",
        "no limit on Received: fields: a message that has looped 150 times is accepted and relayed again",
    ),
    Fault(
        "relay.dot-stuffing-missing",
        "RFC 5321",
        "4.5.2",
        "the relay client sends text lines that start with a period without the transparency dot",
    ),
    Fault(
        "relay.pipelining-unannounced",
        "RFC 2920",
        "3.1",
        "the relay client pipelines MAIL, RCPT and DATA to a next hop that did not announce PIPELINING",
    ),
    Fault(
        "relay.8bit-to-7bit-server",
        "RFC 6152",
        "3",
        "an 8-bit message is sent unchanged to a next hop that did not announce 8BITMIME",
    ),
    Fault(
        "relay.null-sender-rewritten",
        "RFC 5321",
        "4.5.5",
        "a message with the null reverse-path is relayed with MAIL FROM:<postmaster@hostname>",
    ),
)

# Storage transparency: the message stored is not the message accepted. Seen by the MIME suite,
# which reads each corpus message back over POP3.
_MIME_FAULTS: Final[tuple[Fault, ...]] = (
    Fault(
        "mime.trailing-whitespace-stripped",
        "RFC 5321",
        "4.5.2",
        "white space at the end of a line is removed before the message is stored",
    ),
    Fault(
        "mime.long-lines-rewrapped",
        "RFC 5321",
        "4.5.3.1.6",
        "lines longer than 78 octets are broken into 78-octet lines before the message is stored",
    ),
    Fault(
        "mime.header-fields-unfolded",
        "RFC 5321",
        "4.5.2",
        "folded fields of the message header are stored unfolded, each on one line",
    ),
    Fault(
        "mime.footer-appended",
        "RFC 5321",
        "4.5.2",
        'a footer ("Scanned for viruses") is appended to the end of every message stored',
    ),
    Fault(
        "mime.eighth-bit-cleared",
        "RFC 6152",
        "3",
        "octets of an 8BITMIME message are stored with their high-order bit cleared",
    ),
)

REGISTRY: Final[Mapping[str, Fault]] = MappingProxyType({fault.name: fault for fault in (*_FAULTS, *_MIME_FAULTS)})


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
