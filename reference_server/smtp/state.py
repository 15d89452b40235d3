"""The SMTP session state machine: command + state -> replies + effects, without sockets.

States are named after RFC 5321's description of a session (§3.1-§3.3, §4.1.4):

* ``CONNECTED`` -- greeting sent, no EHLO/HELO yet;
* ``GREETED``   -- EHLO/HELO accepted, no mail transaction ("initial state", §4.1.1.1);
* ``MAIL``      -- reverse-path buffered, no recipient yet;
* ``RCPT``      -- at least one forward-path buffered;
* ``DATA``      -- 354 sent, mail data being received;
* ``CHUNKING``  -- BDAT chunks being received (RFC 3030);
* ``CHUNKING_FAILED`` -- a BDAT failed; only RSET (or EHLO) clears it (RFC 3030 §2).

Whether a verb is allowed in a state is decided in one place, `SmtpSession._sequence_error`.
Anything that needs the outside world -- receiving data, the TLS handshake, checking a
password, durable delivery, closing -- is returned as an *effect*; the asyncio edge
performs it and reports back through the ``*_finished`` methods, which produce the reply.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Final

from reference_server.accounts import POSTMASTER, Account, Accounts
from reference_server.effects import Close, StartTls
from reference_server.faults import NO_FAULTS, Faults
from reference_server.smtp import auth, replies
from reference_server.smtp.data import DataPolicy, Defect
from reference_server.smtp.parsing import (
    COMMAND_LINE_MAX,
    MAIL_LINE_EXTRA,
    SASL_LINE_MAX,
    Command,
    CommandSyntaxError,
    MailOptions,
    Path,
    PathTooLongError,
    UnknownParameterError,
    check_rcpt_parameters,
    mail_options,
    parse_auth_argument,
    parse_bdat_argument,
    parse_ehlo_argument,
    parse_mail_argument,
    parse_rcpt_argument,
    parse_verify_argument,
    split_command,
)
from reference_server.smtp.replies import Reply

RECIPIENTS_MIN: Final = 100  # RFC 5321 §4.5.3.1.8: buffering fewer recipients violates the spec
RECIPIENTS_TABLE_TOO_SMALL: Final = 50  # fault smtp.recipients-buffer-too-small
LINE_READ_MAX: Final = COMMAND_LINE_MAX + MAIL_LINE_EXTRA  # longest command line any verb may use
# A 7bit-only server (config [smtp] eight_bit_mime = false) offers none of these: SMTPUTF8 needs
# 8BITMIME (RFC 6531 §3.1 item 8), BINARYMIME goes beyond it (RFC 3030 §3).
EIGHT_BIT_KEYWORDS: Final = frozenset({"8BITMIME", "BINARYMIME", "SMTPUTF8"})
EIGHT_BIT_PARAMETERS: Final = frozenset({"BODY", "SMTPUTF8"})
RECEIVED_MAX_DEFAULT: Final = 100  # RFC 5321 §6.3: a loop threshold of "at least 100 Received entries"

S550_NO_ROUTE: Final = replies.reply(550, "5.4.4", "Unable to route to that domain")  # RFC 3463 X.4.4
S554_ROUTING_LOOP: Final = replies.reply(554, "5.4.6", "Routing loop detected: too many Received: fields")


class Phase(enum.Enum):
    CONNECTED = "connected"
    GREETED = "greeted"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"
    CHUNKING = "chunking"
    CHUNKING_FAILED = "chunking failed"
    CLOSED = "closed"


_TRANSACTION: Final = frozenset({Phase.MAIL, Phase.RCPT, Phase.CHUNKING, Phase.CHUNKING_FAILED})
_ANY: Final = frozenset(Phase) - {Phase.DATA, Phase.CLOSED}

# Where each verb is legal (RFC 5321 §4.1.4, RFC 3030 §2, RFC 3207 §4, RFC 4954 §4).
LEGAL_PHASES: Final[Mapping[str, frozenset[Phase]]] = {
    "EHLO": _ANY,
    "HELO": _ANY,
    "MAIL": frozenset({Phase.GREETED}),
    "RCPT": frozenset({Phase.MAIL, Phase.RCPT}),
    "DATA": frozenset({Phase.RCPT}),
    "BDAT": frozenset({Phase.RCPT, Phase.CHUNKING}),
    "RSET": _ANY,
    "NOOP": _ANY,
    "QUIT": _ANY,
    "HELP": _ANY,
    "VRFY": _ANY,
    "EXPN": _ANY,
    "STARTTLS": frozenset({Phase.GREETED}),
    "AUTH": frozenset({Phase.GREETED}),
}
EXTENSION_VERBS: Final = frozenset({"BDAT", "STARTTLS", "AUTH"})  # only after EHLO advertised them
NOT_IMPLEMENTED_VERBS: Final = frozenset({"SEND", "SOML", "SAML", "TURN", "ETRN", "ATRN"})
# RFC 2920 §3.2 (2): replies to these may wait in a buffer; all others are sent at once.
BUFFERABLE_VERBS: Final = frozenset({"MAIL", "RCPT", "RSET", "BDAT"})
BAD_COMMAND_CODES: Final = frozenset({500, 501, 502, 503, 504, 535, 555})

SYNTAX: Final[Mapping[str, str]] = {
    "EHLO": "EHLO <domain or address literal>",
    "HELO": "HELO <domain>",
    "MAIL": "MAIL FROM:<reverse-path> [SIZE=n] [BODY=7BIT|8BITMIME|BINARYMIME] [SMTPUTF8] [AUTH=xtext]",
    "RCPT": "RCPT TO:<forward-path>",
    "DATA": "DATA",
    "BDAT": "BDAT <chunk-size> [LAST]",
    "RSET": "RSET",
    "VRFY": "VRFY <user name or mailbox> [SMTPUTF8]",
    "EXPN": "EXPN <list name> [SMTPUTF8]",
    "HELP": "HELP [command]",
    "NOOP": "NOOP [string]",
    "QUIT": "QUIT",
    "STARTTLS": "STARTTLS",
    "AUTH": "AUTH <mechanism> [initial-response]",
}


# --- effects: what the asyncio edge must do before the session can answer ------------


@dataclass(frozen=True)
class ReceiveData:
    """Read dot-stuffed mail data until <CRLF>.<CRLF>, then call `data_finished`."""

    policy: DataPolicy


@dataclass(frozen=True)
class ReceiveChunk:
    """Read exactly `size` octets; store at most `store_limit` of them if `keep`; then `chunk_finished`."""

    size: int
    last: bool
    keep: bool
    store_limit: int | None


@dataclass(frozen=True)
class CheckCredentials:
    """Verify off the event loop, then call `credentials_checked`."""

    credentials: auth.Credentials


@dataclass(frozen=True)
class Deliver:
    """Store the spooled message durably for the envelope's users, then `delivery_finished`."""

    envelope: Envelope


Effect = ReceiveData | ReceiveChunk | StartTls | CheckCredentials | Deliver | Close


@dataclass(frozen=True)
class Outcome:
    """Replies to send (in order) and at most one effect; `flush` per RFC 2920 §3.2 (5)-(6)."""

    replies: tuple[Reply, ...] = ()
    effect: Effect | None = None
    flush: bool = True


@dataclass(frozen=True)
class Recipient:
    """An accepted forward-path: for a local account, for the outgoing queue (`relay`), or dropped.

    `login` None without `relay` means accepted and dropped (only a fault does that).
    """

    path: Path
    login: str | None
    relay: bool = False


@dataclass(frozen=True)
class Envelope:
    """Everything the transaction decided; the envelope, never To:/Cc:, decides delivery."""

    reverse_path: Path
    recipients: tuple[Recipient, ...]
    options: MailOptions
    helo: str | None
    peer_ip: str
    protocol: str  # the Received: "with" value (RFC 3848, RFC 6531 §4.3)

    @property
    def users(self) -> tuple[str, ...]:
        """Local logins to deliver to, each once, in RCPT order."""
        return tuple(dict.fromkeys(r.login for r in self.recipients if r.login is not None))

    @property
    def relay_recipients(self) -> tuple[str, ...]:
        """Forward-paths (without brackets) for the outgoing queue, each once, in RCPT order."""
        return tuple(dict.fromkeys(str(r.path.mailbox) for r in self.recipients if r.relay))


def address_literal(ip: str) -> str:
    """The TCP peer as an RFC 5321 §4.1.3 address literal."""
    return f"[IPv6:{ip}]" if ":" in ip else f"[{ip}]"


def received_field(envelope: Envelope, hostname: str, now: datetime, queue_id: str) -> str:
    """This server's Received: field (RFC 5321 §4.4).

    The FROM clause gives the EHLO name and the address literal from the TCP connection;
    FOR is given only with exactly one recipient (§4.4, §7.2); the date is local time
    with a numeric offset, as §4.4 recommends.
    """
    peer = address_literal(envelope.peer_ip)
    source = envelope.helo or peer
    recipient = f"\r\n\tfor {envelope.recipients[0].path}" if len(envelope.recipients) == 1 else ""
    return (
        f"Received: from {source} ({peer})\r\n\tby {hostname} with {envelope.protocol} id {queue_id}"
        f"{recipient};\r\n\t{_date_text(now.replace(microsecond=0), now.utcoffset())}\r\n"
    )


@functools.lru_cache(maxsize=4)
def _date_text(moment: datetime, offset: timedelta | None) -> str:
    """RFC 5322 §3.3 date-time in whole seconds, cached: every delivery in one second shares it.

    `offset` is part of the cache key only: aware datetimes compare equal by their instant, so
    the same second at another UTC offset (the zone changed) must not get the old text.
    """
    return format_datetime(moment)


def trace_prefix(envelope: Envelope, hostname: str, now: datetime, queue_id: str, faults: Faults = NO_FAULTS) -> bytes:
    """Return-Path: and Received: for final delivery (RFC 5321 §4.4)."""
    lines = []
    if not faults.on("smtp.return-path-missing"):
        lines.append(f"Return-Path: {envelope.reverse_path}\r\n")
    if not faults.on("smtp.received-missing"):
        lines.append(received_field(envelope, hostname, now, queue_id))
    return "".join(lines).encode("utf-8")


def relay_prefix(envelope: Envelope, hostname: str, now: datetime, queue_id: str, faults: Faults = NO_FAULTS) -> bytes:
    """What a message for the outgoing queue gets: Received: only.

    Return-Path: is added by the server that makes the final delivery (RFC 5321 §4.4), so a
    relayed copy must not carry one of ours.
    """
    if faults.on("relay.received-missing"):
        return b""
    return received_field(envelope, hostname, now, queue_id).encode("utf-8")


@dataclass(frozen=True)
class SessionSettings:
    """Per-listener policy, shared by all sessions of that listener."""

    hostname: str
    submission: bool = False  # RFC 6409 MSA: AUTH required before MAIL
    tls_available: bool = False  # STARTTLS can be offered (a certificate is loaded)
    max_message_size: int | None = None  # None: no fixed limit (advertised as SIZE 0)
    max_recipients: int = RECIPIENTS_MIN
    reject_bare_newlines: bool = True
    auth_requires_tls: bool = True
    vrfy: str = "answer"  # "answer" | "refuse"
    expn: str = "answer"  # "answer" | "refuse"
    eight_bit_mime: bool = True  # False: 7bit only; BODY= and SMTPUTF8 are unknown parameters
    max_bad_commands: int = 20
    # Relaying for authenticated clients: None = off, else "is there a route to this domain?"
    # (a pure answer from configuration; DNS, if any, is asked only when the queue delivers).
    relay_route: Callable[[str], bool] | None = None
    max_received: int = RECEIVED_MAX_DEFAULT  # RFC 5321 §6.3: more Received: fields -> 554 5.4.6
    faults: Faults = NO_FAULTS


@dataclass
class _Transaction:
    """The three RFC 5321 §4.1.1 buffers, minus the data (which streams to the spool)."""

    reverse_path: Path | None = None
    options: MailOptions = field(default_factory=MailOptions)
    recipients: list[Recipient] = field(default_factory=list)
    chunked_octets: int = 0
    used_bdat: bool = False


class SmtpSession:
    """One client's SMTP session; feed it command lines and effect results."""

    def __init__(
        self,
        settings: SessionSettings,
        accounts: Accounts,
        *,
        peer_ip: str = "127.0.0.1",
        tls_active: bool = False,
    ) -> None:
        self.settings = settings
        self._accounts = accounts
        self._faults = faults = settings.faults
        # What the listener's settings and faults make of the limits, worked out once per session
        # rather than on every command: the faults of a server run never change.
        self._command_line_max = COMMAND_LINE_MAX - (1 if faults.on("smtp.command-line-limit-exclusive") else 0)
        self._verbs_as_sent = faults.on("smtp.verbs-case-sensitive")
        # 1 under smtp.path-limits-exclusive: paths at the §4.5.3.1 limits are refused.
        self._limit_slack = 1 if faults.on("smtp.path-limits-exclusive") else 0
        self._path_syntax = {
            "ipv6": not faults.on("smtp.ipv6-literal-rejected"),
            "underscore": faults.on("smtp.domain-underscore-accepted"),
        }
        # The fixed maximum message size; smtp.message-limit-below-64k reads the value as KiB twice.
        self._max_message_size = settings.max_message_size
        if self._max_message_size is not None and faults.on("smtp.message-limit-below-64k"):
            self._max_message_size //= 1024
        self.peer_ip = peer_ip
        self.tls_active = tls_active
        self.phase = Phase.CONNECTED
        self.helo: str | None = None
        self.extended = False  # EHLO (not HELO) accepted: extensions negotiated
        self.authenticated: Account | None = None
        self._transaction = _Transaction()
        self._sasl: auth.Exchange | None = None
        self._chunk_error: Reply | None = None
        self._last_chunk = False
        self._bad_commands = 0
        self._handlers: Mapping[str, Callable[[Command], Outcome]] = {
            "EHLO": self._ehlo,
            "HELO": self._helo,
            "MAIL": self._mail,
            "RCPT": self._rcpt,
            "DATA": self._data,
            "BDAT": self._bdat,
            "RSET": self._rset,
            "NOOP": self._noop,
            "QUIT": self._quit,
            "HELP": self._help,
            "VRFY": self._vrfy,
            "EXPN": self._expn,
            "STARTTLS": self._starttls,
            "AUTH": self._auth,
        }

    # --- what the edge asks ------------------------------------------------------------

    @property
    def in_sasl_exchange(self) -> bool:
        """The next line is a SASL response (the edge masks it in logs)."""
        return self._sasl is not None

    @property
    def line_limit(self) -> int:
        """Longest line (without CRLF) the reader should accept before calling `line_too_long`."""
        return SASL_LINE_MAX - 2 if self._sasl is not None else LINE_READ_MAX - 2

    @property
    def closed(self) -> bool:
        return self.phase is Phase.CLOSED

    # --- events --------------------------------------------------------------------------

    def greet(self, accepting: bool = True) -> Outcome:
        """The opening reply (§3.1); 421 when the server cannot take another session."""
        if not accepting:
            self.phase = Phase.CLOSED
            return Outcome((replies.s421_too_many_sessions(self.settings.hostname),), Close())
        return Outcome((replies.s220_greeting(self.settings.hostname),))

    def handle_line(self, line: bytes) -> Outcome:
        """One complete line (CRLF removed) received while not in DATA/BDAT."""
        if self.phase in (Phase.DATA, Phase.CLOSED):
            raise RuntimeError(f"handle_line() in phase {self.phase.value}")
        if self._sasl is not None:
            return self._counted(self._sasl_response(line))
        command = split_command(line)
        if command.verb != "MAIL" and len(line) + 2 > self._command_line_max:
            return self._counted(Outcome((replies.S500_LINE_TOO_LONG,)))
        verb = command.verb
        if self._verbs_as_sent:
            verb = line.partition(b" ")[0].decode("ascii", "replace")  # as sent, not upper-cased
        handler = self._handlers.get(verb)
        if handler is None:
            return self._counted(self._unrecognized(command))
        outcome = handler(command)
        if command.verb in BUFFERABLE_VERBS and outcome.effect is None:
            outcome = Outcome(outcome.replies, None, flush=False)
        return self._counted(outcome)

    def line_too_long(self) -> Outcome:
        """The reader dropped a line longer than `line_limit` (§4.5.3.1.4, RFC 4954 §4)."""
        if self._sasl is not None:
            self._sasl = None
            return self._counted(Outcome((replies.S500_AUTH_LINE_TOO_LONG,)))
        return self._counted(Outcome((replies.S500_LINE_TOO_LONG,)))

    def timeout(self) -> Outcome:
        """No input in time (§4.5.3.2): 421 and close (§3.8)."""
        self._close()
        return Outcome((replies.s421_timeout(self.settings.hostname),), Close())

    def shutdown(self) -> Outcome:
        """The server is stopping (§3.8: SHOULD send 421 first)."""
        self._close()
        return Outcome((replies.s421_shutting_down(self.settings.hostname),), Close())

    def internal_error(self) -> Outcome:
        self._close()
        return Outcome((replies.s421_internal_error(self.settings.hostname),), Close())

    def connection_lost(self) -> None:
        """Treated as QUIT: an open transaction is abandoned (§4.1.1.5, §4.1.1.10)."""
        self._close()

    def tls_started(self) -> None:
        """RFC 3207 §4.2: back to the state after the greeting; forget what the client said."""
        self.tls_active = True
        if self._faults.on("smtp.starttls-no-state-reset"):
            return
        self.phase = Phase.CONNECTED
        self.helo = None
        self.extended = False
        self.authenticated = None
        self._transaction = _Transaction()

    def data_finished(self, defects: set[Defect], stored: bool, received_fields: int = 0) -> Outcome:
        """End of DATA seen; answer per §4.2.5 or ask for delivery.

        `received_fields` is the number of Received: header fields the edge counted (§6.3).
        """
        self._expect(Phase.DATA)
        transaction = self._transaction
        self._reset_transaction()
        problem = self._data_problem(defects, stored) or self._loop_problem(received_fields)
        if problem is not None:
            return Outcome((problem,))
        if not transaction.recipients:  # only reachable with smtp.data-without-rcpt-accepted
            return Outcome((replies.S554_NO_VALID_RECIPIENTS,))
        return Outcome((), Deliver(self._envelope(transaction)))

    def chunk_finished(self, received: int, stored: bool, received_fields: int = 0) -> Outcome:
        """A BDAT chunk has been read completely (RFC 3030 §2: reply only after the data).

        `received_fields` counts the Received: header fields of the message so far (§6.3).
        """
        if self._chunk_error is not None:
            error, self._chunk_error = self._chunk_error, None
            return self._counted(Outcome((error,), flush=False))
        transaction = self._transaction
        transaction.chunked_octets += received
        limit = self._max_message_size
        if limit is not None and transaction.chunked_octets > limit:
            self.phase = Phase.CHUNKING_FAILED
            return Outcome((replies.S552_MESSAGE_TOO_BIG,))
        if not stored:
            self.phase = Phase.CHUNKING_FAILED
            return Outcome((replies.S451_LOCAL_ERROR,))
        if not self._last_chunk:
            self.phase = Phase.CHUNKING
            return Outcome((replies.S250_CHUNK_OK,), flush=False)
        self._reset_transaction()
        looped = self._loop_problem(received_fields)
        if looped is not None:
            return Outcome((looped,))
        return Outcome((), Deliver(self._envelope(transaction)))

    def credentials_checked(self, account: Account | None) -> Outcome:
        if account is None:
            return self._counted(Outcome((replies.S535_BAD_CREDENTIALS,)))
        self.authenticated = account
        return Outcome((replies.S235_AUTH_SUCCEEDED,))

    def delivery_finished(self, ok: bool) -> Outcome:
        """§4.1.1.4 / §6.1: 250 only once the message is durably stored."""
        return Outcome((replies.S250_MESSAGE_ACCEPTED if ok else replies.S451_LOCAL_ERROR,))

    # --- legality: the one place -----------------------------------------------------------

    def _sequence_error(self, verb: str) -> Reply | None:
        """None if `verb` may be used now, else the 503/554 reply (§4.1.4, §3.3, RFC 3030 §2)."""
        phase = self.phase
        if verb in EXTENSION_VERBS and not self.extended:
            return replies.S503_HELLO_FIRST
        if phase in LEGAL_PHASES[verb]:
            return None
        if verb == "MAIL":
            if phase is Phase.CONNECTED:
                return replies.S503_HELLO_FIRST
            if phase is Phase.CHUNKING_FAILED:
                return replies.S503_TRANSACTION_FAILED
            return None if self._faults.on("smtp.second-mail-accepted") else replies.S503_NESTED_MAIL
        if verb == "RCPT":
            if phase in (Phase.CONNECTED, Phase.GREETED):
                return None if self._faults.on("smtp.rcpt-before-mail-accepted") else replies.S503_NEED_MAIL
            return replies.S503_BAD_SEQUENCE
        if verb == "DATA":
            if phase is Phase.MAIL:
                return None if self._faults.on("smtp.data-without-rcpt-accepted") else replies.S554_NO_VALID_RECIPIENTS
            if phase is Phase.CHUNKING:
                return None if self._faults.on("smtp.data-after-bdat-accepted") else replies.S503_DATA_AFTER_BDAT
            return replies.S503_NEED_MAIL if phase in (Phase.CONNECTED, Phase.GREETED) else replies.S503_BAD_SEQUENCE
        if verb == "BDAT":
            if phase is Phase.MAIL:
                return replies.S554_NO_VALID_RECIPIENTS
            if phase is Phase.CHUNKING_FAILED:
                return replies.S503_TRANSACTION_FAILED
            return replies.S503_NEED_MAIL
        if verb == "AUTH" and phase in _TRANSACTION:
            return None if self._faults.on("smtp.auth-in-transaction-accepted") else replies.S503_AUTH_IN_TRANSACTION
        if phase is Phase.CONNECTED:
            return replies.S503_HELLO_FIRST
        return replies.S503_BAD_SEQUENCE

    # --- commands ------------------------------------------------------------------------

    def _ehlo(self, command: Command) -> Outcome:
        return self._hello(command, extended=True)

    def _helo(self, command: Command) -> Outcome:
        return self._hello(command, extended=False)

    def _hello(self, command: Command, *, extended: bool) -> Outcome:
        """§4.1.1.1; a failed EHLO leaves the state as it was (§4.1.4)."""
        if (error := self._sequence_error(command.verb)) is not None:
            return Outcome((error,))
        if self._faults.on("smtp.failed-ehlo-resets"):
            self._reset_transaction()  # before the argument is known to be acceptable
        try:
            helo = parse_ehlo_argument(
                command.argument,
                ipv6=self._path_syntax["ipv6"],
                limit_slack=self._limit_slack,
            )
        except CommandSyntaxError as exc:
            return Outcome((replies.S501_BAD_DOMAIN.with_text(exc.reason),))
        keep_transaction = self.phase in _TRANSACTION and self._faults.on("smtp.ehlo-no-reset")
        if not keep_transaction:
            self._reset_transaction()
            self.phase = Phase.GREETED
        self.helo = helo
        self.extended = extended
        greeting = f"{self.settings.hostname} Hello {helo} {address_literal(self.peer_ip)}"
        if not extended and not self._faults.on("smtp.helo-gets-ehlo-reply"):
            return Outcome((replies.reply(250, None, greeting),))
        return Outcome((replies.Reply(250, None, (greeting, *self._ehlo_keywords())),))

    def _ehlo_keywords(self) -> list[str]:
        """Every extension this session offers now (§4.1.1.1: all non-required commands)."""
        size = self._max_message_size or 0
        keywords = ["PIPELINING", f"SIZE {size}", "8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8"]
        if not self.tls_active and self._faults.on("smtp.8bitmime-only-after-tls"):
            keywords.remove("8BITMIME")
        if not self.settings.eight_bit_mime:
            keywords = [k for k in keywords if k not in EIGHT_BIT_KEYWORDS]
        keywords.append("ENHANCEDSTATUSCODES")
        if self.settings.expn == "answer":
            keywords.append("EXPN")  # §3.5.2: if EXPN is supported it MUST be listed
        keywords.append("HELP")
        if self.settings.tls_available and (
            not self.tls_active or self._faults.on("smtp.starttls-advertised-after-tls")
        ):
            keywords.append("STARTTLS")
        if self._auth_offered():
            keywords.append("AUTH " + " ".join(auth.MECHANISMS))
        return keywords

    def _auth_offered(self) -> bool:
        """RFC 4954 §4 / §6 (538): plaintext mechanisms only under TLS unless configured otherwise."""
        return self.tls_active or not self.settings.auth_requires_tls or self._faults.on("smtp.auth-before-tls")

    def _mail(self, command: Command) -> Outcome:
        """MAIL FROM (§3.3, §4.1.1.2) with SIZE, BODY, SMTPUTF8, AUTH parameters."""
        if (error := self._sequence_error("MAIL")) is not None:
            return Outcome((error,))
        if self.settings.submission and self.authenticated is None:
            return Outcome((replies.S530_AUTH_REQUIRED,))  # RFC 6409 §4.3
        if (
            self.helo is not None
            and self.helo.startswith("[")
            and self._faults.on("smtp.ehlo-literal-mismatch-refused")
            and self.helo != address_literal(self.peer_ip)
        ):
            return Outcome((replies.reply(550, "5.7.1", "EHLO address literal is not your address"),))
        try:
            path, params = parse_mail_argument(command.argument, **self._path_syntax, limit_slack=self._limit_slack)
        except PathTooLongError as exc:
            return Outcome((replies.S501_BAD_SENDER.with_text(exc.reason),))
        except CommandSyntaxError as exc:
            if self._faults.on("smtp.bad-mail-opens-transaction"):
                self._reset_transaction()
                self._transaction.reverse_path = Path(None)
                self.phase = Phase.MAIL
            return Outcome((replies.S501_BAD_SENDER.with_text(exc.reason),))
        if params and not self.extended:
            return Outcome((replies.S555_UNKNOWN_PARAMETER,))  # no extensions without EHLO
        if params and self._faults.on("smtp.size-parameter-refused") and any(p.keyword == "SIZE" for p in params):
            return Outcome((replies.S555_UNKNOWN_PARAMETER,))
        if not self.settings.eight_bit_mime and any(p.keyword in EIGHT_BIT_PARAMETERS for p in params):
            return Outcome((replies.S555_UNKNOWN_PARAMETER,))  # §4.1.1.11: parameters of extensions not offered
        try:
            options = mail_options(params)
        except UnknownParameterError:
            return Outcome((replies.S555_UNKNOWN_PARAMETER,))
        except CommandSyntaxError as exc:
            return Outcome((replies.S501_BAD_PARAMETER.with_text(exc.reason),))
        if path.source_route and self._faults.on("smtp.source-route-rejected"):
            return Outcome((replies.S501_BAD_SENDER.with_text("Source routes not accepted"),))
        limit = self._max_message_size
        if (
            options.size is not None
            and limit is not None
            and options.size > limit
            and not self._faults.on("smtp.size-not-enforced")
        ):
            return Outcome((replies.S552_MESSAGE_TOO_BIG,))  # RFC 1870 §6.1 (2)
        if path.needs_smtputf8 and (not options.smtputf8 or self._faults.on("smtp.smtputf8-addresses-refused")):
            return Outcome((replies.S550_UTF8_SENDER,))  # RFC 6531 §3.5
        mailbox = path.mailbox
        if self.settings.submission and mailbox is None and self._faults.on("smtp.submission-null-sender-rejected"):
            return Outcome((replies.S550_NULL_SENDER,))
        if self.settings.submission and mailbox and not mailbox.is_literal and "." not in mailbox.domain:
            return Outcome((replies.S554_SENDER_NOT_QUALIFIED,))  # RFC 6409 §4.2
        self._reset_transaction()
        self._transaction.reverse_path = path
        self._transaction.options = options
        self.phase = Phase.MAIL
        return Outcome((replies.S250_SENDER_OK,))

    def _rcpt(self, command: Command) -> Outcome:
        """RCPT TO (§3.3, §4.1.1.3): local mailboxes only; postmaster always (§4.5.1)."""
        if (error := self._sequence_error("RCPT")) is not None:
            return Outcome((error,))
        try:
            path, params = parse_rcpt_argument(command.argument, **self._path_syntax, limit_slack=self._limit_slack)
            check_rcpt_parameters(params)
        except UnknownParameterError:
            return Outcome((replies.S555_UNKNOWN_PARAMETER,))
        except CommandSyntaxError as exc:
            return Outcome((replies.S501_BAD_RECIPIENT.with_text(exc.reason),))
        mailbox = path.mailbox
        assert mailbox is not None  # forward-paths are never null
        if path.source_route and self._faults.on("smtp.source-route-rejected"):
            return Outcome((replies.S501_BAD_RECIPIENT.with_text("Source routes not accepted"),))
        if path.needs_smtputf8 and (
            not self._transaction.options.smtputf8 or self._faults.on("smtp.smtputf8-addresses-refused")
        ):
            return Outcome((replies.S553_UTF8_RECIPIENT,))  # RFC 6531 §3.5
        max_recipients = self.settings.max_recipients
        if self._faults.on("smtp.recipients-buffer-too-small"):
            max_recipients = min(max_recipients, RECIPIENTS_TABLE_TOO_SMALL)
        if len(self._transaction.recipients) >= max_recipients:
            if self._faults.on("smtp.too-many-recipients-552"):
                return Outcome((replies.S552_TOO_MANY_RECIPIENTS,))
            return Outcome((replies.S452_TOO_MANY_RECIPIENTS,))  # §4.5.3.1.10
        resolved = self._resolve(path)
        if isinstance(resolved, Reply):
            return Outcome((resolved,))
        self._transaction.recipients.append(resolved)
        if self.phase is Phase.MAIL:
            self.phase = Phase.RCPT
        return Outcome((replies.S250_RECIPIENT_OK,))

    def _resolve(self, path: Path) -> Recipient | Reply:
        """Where a forward-path goes (a local login, the outgoing queue, nowhere) or the refusal."""
        mailbox = path.mailbox
        assert mailbox is not None
        is_postmaster = mailbox.local_part.casefold() == POSTMASTER
        if not mailbox.domain:  # "<Postmaster>" (§4.1.1.3)
            local_domain = True
        elif mailbox.is_literal:
            local_domain = False
        else:
            local_domain = self._accounts.is_local_domain(mailbox.domain)
        if not local_domain:
            if self.settings.submission and not mailbox.is_literal and "." not in mailbox.domain:
                return replies.S554_RECIPIENT_NOT_QUALIFIED  # RFC 6409 §4.2
            relay_route = self.settings.relay_route
            if self.authenticated is not None and relay_route is not None:
                # RFC 5321 §3.6.2 / §7.9: relaying only for clients known to be ours.
                return Recipient(path, None, relay=True) if relay_route(mailbox.domain) else S550_NO_ROUTE
            return Recipient(path, None) if self._faults.on("smtp.open-relay") else replies.S550_RELAY_DENIED
        if is_postmaster and self._faults.on("smtp.postmaster-rejected"):
            return replies.S550_NO_SUCH_USER
        account = (
            self._accounts.postmaster
            if not mailbox.domain
            else self._accounts.by_address(mailbox.local_part, mailbox.domain)
        )
        if account is None:
            return Recipient(path, None) if self._faults.on("smtp.unknown-user-accepted") else replies.S550_NO_SUCH_USER
        return Recipient(path, account.login)

    def _data(self, command: Command) -> Outcome:
        """DATA (§4.1.1.4): 354 only with at least one valid recipient (RFC 2920 §3.2 (3))."""
        if command.has_argument:
            return Outcome((replies.S501_NO_PARAMETERS,))
        if (error := self._sequence_error("DATA")) is not None:
            return Outcome((error,))
        if self._transaction.options.body == "BINARYMIME" and not self._faults.on("smtp.binarymime-data-accepted"):
            return Outcome((replies.S503_BINARYMIME_NEEDS_BDAT,))  # RFC 3030 §3
        self.phase = Phase.DATA
        limit = self._max_message_size
        if limit is not None and self._transaction.used_bdat:
            limit = max(limit - self._transaction.chunked_octets, 0)
        policy = DataPolicy(limit, reject_bare_newlines=self.settings.reject_bare_newlines)
        return Outcome((replies.S354_START_DATA,), ReceiveData(policy))

    def _data_problem(self, defects: set[Defect], stored: bool) -> Reply | None:
        """The reply after <CRLF>.<CRLF> for a message that cannot be accepted (§4.2.5)."""
        if Defect.TOO_BIG in defects:
            return replies.S552_MESSAGE_TOO_BIG  # RFC 1870 §6.3, §4.5.3.1.9
        if Defect.LONG_LINE in defects:
            return replies.S500_TEXT_LINE_TOO_LONG  # §4.5.3.1.9 "500 Line too long"
        if self.settings.reject_bare_newlines and defects & {Defect.BARE_LF, Defect.BARE_CR}:
            return replies.S550_BARE_NEWLINE  # §2.3.8, §4.1.1.4
        if Defect.RESENT_INCOMPLETE in defects:
            return replies.reply(554, "5.6.0", "Resent- fields incomplete")
        if not stored:
            return replies.S451_LOCAL_ERROR
        return None

    def _loop_problem(self, received_fields: int) -> Reply | None:
        """RFC 5321 §6.3: a message that has passed through too many servers is refused, not stored."""
        if received_fields > self.settings.max_received and not self._faults.on("relay.loop-not-detected"):
            return S554_ROUTING_LOOP
        return None

    def _bdat(self, command: Command) -> Outcome:
        """BDAT (RFC 3030 §2): a refused chunk is still read and discarded before the reply."""
        try:
            size, last = parse_bdat_argument(command.argument)
        except CommandSyntaxError as exc:
            if not self.extended:
                return Outcome((replies.S503_HELLO_FIRST,))
            return Outcome((replies.S501_SYNTAX.with_text(exc.reason),))
        if self._faults.on("smtp.bdat-chunk-size-off-by-two"):
            size += 2
        error = self._sequence_error("BDAT")
        if error is not None:
            if self._faults.on("smtp.refused-bdat-data-parsed-as-commands"):
                return Outcome((error,))
            self._chunk_error = error
            return Outcome((), ReceiveChunk(size, last, keep=False, store_limit=0))
        self._transaction.used_bdat = True
        self._last_chunk = last
        limit = self._max_message_size
        store_limit = None if limit is None else max(limit - self._transaction.chunked_octets, 0)
        return Outcome((), ReceiveChunk(size, last, keep=True, store_limit=store_limit))

    def _rset(self, command: Command) -> Outcome:
        """RSET (§4.1.1.5): always 250, clears the transaction, never closes."""
        if command.has_argument:
            return Outcome((replies.S501_NO_PARAMETERS,))
        if not self._faults.on("smtp.rset-ignored"):
            self._reset_transaction()
        return Outcome((replies.S250_RESET,))

    def _noop(self, command: Command) -> Outcome:
        """NOOP (§4.1.1.9): a parameter string is ignored."""
        if self._faults.on("smtp.noop-in-transaction-503") and self.phase in _TRANSACTION:
            return Outcome((replies.S503_BAD_SEQUENCE,))
        return Outcome((replies.S250_OK,))

    def _quit(self, command: Command) -> Outcome:
        """QUIT (§4.1.1.10): 221, then close."""
        if command.has_argument:
            return Outcome((replies.S501_NO_PARAMETERS,))
        closing = replies.s221_closing(self.settings.hostname)
        if self._faults.on("smtp.quit-no-close"):
            return Outcome((closing,))
        self._close()
        return Outcome((closing,), Close())

    def _help(self, command: Command) -> Outcome:
        """HELP [topic] (§4.1.1.8): 214, or 504 for a topic we know nothing about."""
        if self._faults.on("smtp.help-not-implemented"):
            return Outcome((replies.S502_NOT_IMPLEMENTED,))
        if command.has_argument:
            topic = command.argument.decode("ascii", "replace").strip().upper()
            if topic not in SYNTAX:
                return Outcome((replies.S504_HELP_TOPIC,))
            return Outcome((replies.reply(214, "2.0.0", f"Syntax: {SYNTAX[topic]}"),))
        verbs = " ".join(SYNTAX)
        lines = ("Commands supported:", verbs, "HELP <command> for its syntax")
        return Outcome((replies.Reply(214, "2.0.0", lines),))

    def _vrfy(self, command: Command) -> Outcome:
        """VRFY (§3.5): 250 only for a mailbox actually verified (§3.5.3)."""
        if self._faults.on("smtp.vrfy-not-implemented"):
            return Outcome((replies.S502_NOT_IMPLEMENTED,))
        if not command.has_argument:
            return Outcome((replies.S501_SYNTAX.with_text("Syntax: VRFY <user name or mailbox>"),))
        if self.settings.vrfy != "answer":
            return Outcome((replies.S252_CANNOT_VRFY,))
        return Outcome((self._verify(command.argument),))

    def _expn(self, command: Command) -> Outcome:
        """EXPN (§3.5): no mailing lists here; a user name expands to its one mailbox."""
        if self.settings.expn != "answer" or self._faults.on("smtp.expn-advertised-not-implemented"):
            return Outcome((replies.S502_NOT_IMPLEMENTED,))
        if not command.has_argument:
            return Outcome((replies.S501_SYNTAX.with_text("Syntax: EXPN <list name>"),))
        return Outcome((self._verify(command.argument),))

    def _verify(self, argument: bytes) -> Reply:
        try:
            target = parse_verify_argument(argument)
        except CommandSyntaxError as exc:
            return replies.S501_SYNTAX.with_text(exc.reason)
        domain = target.domain
        if domain is not None and (domain.startswith("[") or not self._accounts.is_local_domain(domain)):
            return replies.S550_NOT_LOCAL
        account: Account | None
        if target.local_part.casefold() == POSTMASTER:
            postmaster_domain = domain or sorted(self._accounts.domains)[0]
            return replies.reply(250, "2.1.5", f"Postmaster <postmaster@{postmaster_domain}>")
        if domain is None:
            account = self._accounts.by_login(target.local_part) or self._unique_local(target.local_part)
        else:
            account = self._accounts.by_address(target.local_part, domain)
        if account is None:
            if self._faults.on("smtp.vrfy-syntax-only-250"):
                guess = f"{target.local_part}@{domain or sorted(self._accounts.domains)[0]}"
                return replies.reply(250, "2.1.5", f"<{guess}>")
            return replies.S550_NO_SUCH_USER
        return replies.reply(250, "2.1.5", f"{account.login} <{account.primary_address}>")

    def _unique_local(self, local_part: str) -> Account | None:
        """A bare user name that names exactly one mailbox across the local domains."""
        found = {self._accounts.by_address(local_part, domain) for domain in self._accounts.domains}
        found.discard(None)
        return found.pop() if len(found) == 1 else None

    def _starttls(self, command: Command) -> Outcome:
        """STARTTLS (RFC 3207 §4): 220, handshake, reset; never twice (§4.2)."""
        if command.has_argument:
            return Outcome((replies.S501_NO_PARAMETERS,))
        if self.tls_active and not self._faults.on("smtp.starttls-accepted-twice"):
            return Outcome((replies.S503_TLS_ACTIVE,))
        if not self.settings.tls_available:
            return Outcome((replies.S502_NOT_IMPLEMENTED,))
        if (error := self._sequence_error("STARTTLS")) is not None:
            return Outcome((error,))
        return Outcome((replies.S220_TLS_READY,), StartTls())

    def _auth(self, command: Command) -> Outcome:
        """AUTH (RFC 4954 §4)."""
        if self.authenticated is not None and not self._faults.on("smtp.auth-twice-accepted"):
            return Outcome((replies.S503_ALREADY_AUTHENTICATED,))
        if (error := self._sequence_error("AUTH")) is not None:
            return Outcome((error,))
        try:
            mechanism, initial = parse_auth_argument(command.argument)
        except CommandSyntaxError as exc:
            return Outcome((replies.S501_SYNTAX.with_text(exc.reason),))
        if not self._auth_offered():
            return Outcome((replies.S538_ENCRYPTION_REQUIRED,))
        exchange = auth.new_exchange(
            mechanism,
            plain_requires_initial_response=self._faults.on("smtp.plain-requires-initial-response"),
            plain_allows_empty_password=self._faults.on("smtp.plain-empty-password-accepted"),
        )
        if exchange is None:
            return Outcome((replies.S504_UNKNOWN_MECHANISM,))
        lenient = self._faults.on("smtp.sasl-base64-lenient")
        try:
            step = exchange.start(None if initial is None else auth.decode_initial_response(initial, lenient))
        except auth.Base64Error:
            return Outcome((replies.S501_BAD_BASE64,))
        except auth.SaslError:
            return Outcome((replies.S501_BAD_SASL_MESSAGE,))
        return self._sasl_step(exchange, step)

    def _sasl_response(self, line: bytes) -> Outcome:
        exchange = self._sasl
        assert exchange is not None
        self._sasl = None
        if line == b"*":
            if self._faults.on("smtp.auth-cancel-answered-535"):
                return Outcome((replies.S535_BAD_CREDENTIALS,))
            return Outcome((replies.S501_AUTH_CANCELLED,))  # RFC 4954 §4: MUST 501
        try:
            step = exchange.respond(auth.decode_base64(line, self._faults.on("smtp.sasl-base64-lenient")))
        except auth.Base64Error:
            return Outcome((replies.S501_BAD_BASE64,))
        except auth.SaslError:
            return Outcome((replies.S501_BAD_SASL_MESSAGE,))
        return self._sasl_step(exchange, step)

    def _sasl_step(self, exchange: auth.Exchange, step: auth.Step) -> Outcome:
        if isinstance(step, auth.Challenge):
            self._sasl = exchange
            return Outcome((replies.reply(334, None, auth.encode_challenge(step)),))
        if not step.password and self._faults.on("smtp.plain-empty-password-accepted"):
            return self.credentials_checked(self._accounts.by_login(step.login))  # "unauthenticated bind"
        return Outcome((), CheckCredentials(step))

    def _unrecognized(self, command: Command) -> Outcome:
        """§4.2.4: 502 for a known but unimplemented verb, 500 for anything else."""
        if command.verb in NOT_IMPLEMENTED_VERBS:
            return Outcome((replies.S502_NOT_IMPLEMENTED,))
        if self._faults.on("smtp.unknown-command-closes"):
            self._close()
            return Outcome((replies.S500_UNRECOGNIZED,), Close())
        return Outcome((replies.S500_UNRECOGNIZED,))

    # --- helpers -------------------------------------------------------------------------

    def _counted(self, outcome: Outcome) -> Outcome:
        """The bad-command budget: past it, the reply is 421 and the session closes."""
        if not any(r.code in BAD_COMMAND_CODES for r in outcome.replies):
            return outcome
        self._bad_commands += 1
        if self._bad_commands <= self.settings.max_bad_commands:
            return outcome
        self._close()
        return Outcome((replies.s421_too_many_errors(self.settings.hostname),), Close())

    def _expect(self, phase: Phase) -> None:
        if self.phase is not phase:
            raise RuntimeError(f"expected phase {phase.value}, in {self.phase.value}")

    def _reset_transaction(self) -> None:
        """Clear the reverse-path, forward-path and data buffers (§4.1.1.5)."""
        self._transaction = _Transaction()
        self._last_chunk = False
        if self.phase in _TRANSACTION or self.phase is Phase.DATA:
            self.phase = Phase.GREETED

    def _close(self) -> None:
        self._transaction = _Transaction()
        self._sasl = None
        self.phase = Phase.CLOSED

    def _protocol(self, smtputf8: bool) -> str:
        """The "with" keyword: RFC 3848 (ESMTP[S][A]) and RFC 6531 §4.3 (UTF8SMTP[S][A])."""
        if not self.extended:
            return "SMTP"
        suffix = ("S" if self.tls_active else "") + ("A" if self.authenticated is not None else "")
        return ("UTF8SMTP" if smtputf8 else "ESMTP") + suffix

    def _envelope(self, transaction: _Transaction) -> Envelope:
        reverse_path = transaction.reverse_path if transaction.reverse_path is not None else Path(None)
        return Envelope(
            reverse_path=reverse_path,
            recipients=tuple(transaction.recipients),
            options=transaction.options,
            helo=self.helo,
            peer_ip=self.peer_ip,
            protocol=self._protocol(transaction.options.smtputf8),
        )
