"""The POP3 session state machine: command + state -> responses + effects, without sockets.

States are the ones RFC 1939 §3 names: AUTHORIZATION (greeting sent, not logged in),
TRANSACTION (maildrop locked and listed), UPDATE (QUIT given: deletions being applied),
plus CLOSED. Which command is legal in which state is decided in one place,
`Pop3Session._legality_error`, from `LEGAL_STATES`.

Anything that needs the outside world -- the TLS handshake, a password check, locking
and listing the maildrop, sending a message, expunging -- is returned as an *effect*;
the asyncio edge performs it and reports back through the ``*_finished``-style methods.

Login policy (RFC 2595 §2.3, RFC 5034 §4): by default USER/PASS and AUTH PLAIN are
neither advertised nor accepted before STLS; APOP, which sends no password, is. A
failed login is answered ``-ERR [AUTH]`` after a delay and never says whether the name
or the password was wrong; USER answers +OK for every name (RFC 1939 §13).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from reference_server.accounts import Account, Accounts
from reference_server.effects import Close, StartTls
from reference_server.faults import NO_FAULTS, Faults
from reference_server.pop3 import responses
from reference_server.pop3.maildrop import DropMessage, Maildrop
from reference_server.pop3.parsing import (
    COMMAND_LINE_MAX,
    SASL_LINE_MAX,
    Command,
    CommandSyntaxError,
    atoi,
    has_empty_argument,
    parse_apop_digest,
    parse_auth_arguments,
    parse_line_count,
    parse_message_number,
    split_command,
)
from reference_server.pop3.responses import Continuation, Reply, Response
from reference_server.smtp.auth import Base64Error, SaslError, decode_base64, parse_plain

IMPLEMENTATION: Final = "mailconform-reference"  # RFC 2449 §6.9: one token, no spaces
SASL_MECHANISMS: Final = ("PLAIN",)  # RFC 5034 §4: PLAIN over TLS is the one every server MUST have


class State(enum.Enum):
    AUTHORIZATION = "AUTHORIZATION"
    TRANSACTION = "TRANSACTION"
    UPDATE = "UPDATE"
    CLOSED = "CLOSED"


_AUTH: Final = frozenset({State.AUTHORIZATION})
_TRANS: Final = frozenset({State.TRANSACTION})
_BOTH: Final = _AUTH | _TRANS

# RFC 1939 §4-§7 and §9, RFC 2449 §5 (CAPA: both states), RFC 2595 §4 (STLS), RFC 5034 §4 (AUTH).
LEGAL_STATES: Final[Mapping[str, frozenset[State]]] = {
    "USER": _AUTH,
    "PASS": _AUTH,
    "APOP": _AUTH,
    "AUTH": _AUTH,
    "STLS": _AUTH,
    "CAPA": _BOTH,
    "QUIT": _BOTH,
    "STAT": _TRANS,
    "LIST": _TRANS,
    "RETR": _TRANS,
    "DELE": _TRANS,
    "NOOP": _TRANS,
    "RSET": _TRANS,
    "TOP": _TRANS,
    "UIDL": _TRANS,
}
# §7 USER: after a +OK to USER "the client may issue either the PASS command ... or the QUIT
# command"; CAPA has no restrictions (RFC 2449 §5).
AFTER_USER: Final = frozenset({"PASS", "QUIT", "CAPA"})
# Faults that let one command through in a state where §3 says it MUST be refused.
OUT_OF_STATE_FAULTS: Final[Mapping[tuple[str, State], str]] = {
    ("NOOP", State.AUTHORIZATION): "pop3.noop-before-login",
    ("USER", State.TRANSACTION): "pop3.user-after-login",
    ("AUTH", State.TRANSACTION): "pop3.auth-after-login",
}
SASL_CHALLENGE_TEXT: Final = "go ahead"  # fault pop3.sasl-challenge-text; RFC 5034 §4: MUST be empty


# --- effects: what the asyncio edge must do before the session can go on ---------------


@dataclass(frozen=True)
class CheckCredentials:
    """Verify off the event loop (Accounts.authenticate), then call `credentials_checked`."""

    login: str
    password: str = field(repr=False)
    authzid: str = ""


@dataclass(frozen=True)
class OpenMaildrop:
    """Lock the user's maildrop and list it, then call `maildrop_opened` / `maildrop_in_use`."""

    login: str


@dataclass(frozen=True)
class SendMessage:
    """Open the message; if that works send `status` and the encoded body, else `message_unavailable`."""

    status: Response
    uid: int
    body_lines: int | None  # TOP: header, blank line and this many body lines; None: everything
    stuff: bool = True


@dataclass(frozen=True)
class Expunge:
    """Remove these messages for good; with `update`, call `update_finished` afterwards (§6)."""

    uids: tuple[int, ...]
    update: bool


Effect = StartTls | CheckCredentials | OpenMaildrop | SendMessage | Expunge | Close


@dataclass(frozen=True)
class Outcome:
    """Responses to send (in order), at most one effect, and a pause before sending."""

    replies: tuple[Reply, ...] = ()
    effect: Effect | None = None
    delay: float = 0.0  # seconds: failed logins are answered late (a brake on password guessing)


@dataclass(frozen=True)
class Pop3Settings:
    """Per-listener policy, shared by all sessions of that listener."""

    hostname: str
    tls_available: bool = False  # STLS can be offered (a certificate is loaded, tls = "starttls")
    login_requires_tls: bool = True  # RFC 5034 §4: SHOULD be the default
    failed_login_delay: float = 1.0
    max_bad_commands: int = 20
    apop_secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    faults: Faults = NO_FAULTS


def apop_timestamp(pid: int, clock: int, serial: int, hostname: str) -> str:
    """<process-ID.clock@hostname> as RFC 1939 §7 suggests; `serial` makes each one unique."""
    return f"<{pid}.{clock}.{serial}@{hostname}>"


def apop_digest(timestamp: str, secret: str) -> str:
    """MD5 of the timestamp followed by the shared secret, in lower-case hex (§7)."""
    return hashlib.md5((timestamp + secret).encode("utf-8"), usedforsecurity=False).hexdigest()


class Pop3Session:
    """One client's POP3 session; feed it command lines and effect results."""

    def __init__(
        self,
        settings: Pop3Settings,
        accounts: Accounts,
        *,
        tls_active: bool = False,
        timestamp: str | None = None,
    ) -> None:
        self.settings = settings
        self._accounts = accounts
        self._faults = settings.faults
        self.tls_active = tls_active
        self.state = State.AUTHORIZATION
        # RFC 1939 §7: the greeting carries a timestamp only when APOP can work for someone.
        self.timestamp = timestamp if settings.apop_secrets else None
        self.login: str | None = None  # set once the maildrop is locked
        self.maildrop: Maildrop | None = None
        self._pending_user: str | None = None
        self._early_password: str | None = None  # fault pop3.pass-before-user-accepted only
        self._sasl_pending = False
        self._checking_auth = False  # the pending CheckCredentials came from AUTH, not PASS
        self._bad_commands = 0
        self._handlers: Mapping[str, Callable[[Command], Outcome]] = {
            "USER": self._user,
            "PASS": self._pass,
            "APOP": self._apop,
            "AUTH": self._auth,
            "STLS": self._stls,
            "CAPA": self._capa,
            "QUIT": self._quit,
            "STAT": self._stat,
            "LIST": self._list,
            "RETR": self._retr,
            "DELE": self._dele,
            "NOOP": self._noop,
            "RSET": self._rset,
            "TOP": self._top,
            "UIDL": self._uidl,
        }

    # --- what the edge asks ------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self.state is State.CLOSED

    @property
    def in_sasl_exchange(self) -> bool:
        """The next line is a SASL response (the edge masks it in logs)."""
        return self._sasl_pending

    @property
    def line_limit(self) -> int:
        """Longest line (without CRLF) the reader should accept before calling `line_too_long`."""
        return (SASL_LINE_MAX if self._sasl_pending else COMMAND_LINE_MAX) - 2

    # --- events --------------------------------------------------------------------------

    def greet(self) -> Outcome:
        """The one-line greeting (§4); the session is now in the AUTHORIZATION state."""
        return Outcome((responses.greeting(self.settings.hostname, self.timestamp),))

    def handle_line(self, line: bytes) -> Outcome:
        """One complete line (CRLF removed)."""
        if self.state in (State.UPDATE, State.CLOSED):
            raise RuntimeError(f"handle_line() in state {self.state.value}")
        if self._sasl_pending:
            return self._counted(self._sasl_response(line))
        command = split_command(line, case_sensitive=self._faults.on("pop3.verbs-case-sensitive"))
        handler = self._handlers.get(command.keyword)
        if handler is None:
            if self._faults.on("pop3.unknown-command-ok"):
                return Outcome((responses.OK_PLAIN,))  # the defect: whatever is not understood "works"
            return self._counted(Outcome((responses.ERR_UNKNOWN_COMMAND,)))  # §3: MUST be negative
        error = self._legality_error(command.keyword)
        if error is not None:
            return self._counted(Outcome((error,)))
        if command.keyword != "PASS" and has_empty_argument(command):
            return self._counted(Outcome((responses.ERR_SYNTAX,)))
        return self._counted(handler(command))

    def line_too_long(self) -> Outcome:
        """The reader dropped a line over `line_limit` (RFC 2449 §4); a SASL exchange ends."""
        if self._sasl_pending:
            self._sasl_pending = False
            return self._counted(Outcome((responses.ERR_BAD_SASL_MESSAGE,)))
        return self._counted(Outcome((responses.ERR_LINE_TOO_LONG,)))

    def tls_started(self) -> None:
        """RFC 2595 §4: still AUTHORIZATION; forget anything the client said before TLS."""
        self.tls_active = True
        self._pending_user = None
        self._sasl_pending = False

    def credentials_checked(self, account: Account | None) -> Outcome:
        """The result of CheckCredentials (PASS or AUTH PLAIN)."""
        via_auth, self._checking_auth = self._checking_auth, False
        if account is None:
            failed = self._login_failed()
            return self._auth_failed(failed) if via_auth else failed
        if self.state is State.TRANSACTION:  # only under the fault pop3.auth-after-login
            return Outcome((responses.ok("already logged in"),))
        return Outcome((), OpenMaildrop(account.login))

    def maildrop_opened(self, login: str, maildrop: Maildrop) -> Outcome:
        """Lock taken and listing made: the session enters the TRANSACTION state (§4)."""
        self._expect(State.AUTHORIZATION)
        self.state = State.TRANSACTION
        self.login = login
        self.maildrop = maildrop
        return Outcome((responses.logged_in(len(maildrop.live), maildrop.octets),))

    def maildrop_in_use(self) -> Outcome:
        """Another session holds the lock (RFC 2449 §8.1.2: -ERR [IN-USE])."""
        return Outcome((responses.ERR_IN_USE,))

    def maildrop_failed(self) -> Outcome:
        """The maildrop could not be listed; the lock has been released again (§4)."""
        return Outcome((responses.ERR_MAILDROP_UNAVAILABLE,))

    def message_unavailable(self) -> Outcome:
        """RETR/TOP: the message could not be opened (removed by another client meanwhile)."""
        return Outcome((responses.ERR_MESSAGE_UNAVAILABLE,))

    def update_finished(self, removed: bool) -> Outcome:
        """§6: the status of the removal, then the connection closes either way."""
        self._expect(State.UPDATE)
        self.state = State.CLOSED
        return Outcome((responses.OK_SIGNING_OFF if removed else responses.ERR_UPDATE_FAILED,), Close())

    def connection_lost(self) -> tuple[int, ...]:
        """Ended without QUIT (dropped, timed out, server stopping): §6 says remove nothing.

        Returns the UIDs the edge must expunge -- none, except under the fault
        pop3.update-without-quit, which applies the deletion marks anyway.
        """
        doomed: tuple[int, ...] = ()
        if (
            self.state is State.TRANSACTION
            and self.maildrop is not None
            and self._faults.on("pop3.update-without-quit")
        ):
            doomed = self.maildrop.deleted_uids
        self.state = State.CLOSED
        return doomed

    def internal_error(self) -> Outcome:
        self.state = State.CLOSED
        return Outcome((responses.ERR_INTERNAL,), Close())

    # --- legality: the one place ---------------------------------------------------------

    def _legality_error(self, keyword: str) -> Response | None:
        """-ERR for a command in the wrong state (§3: MUST), or out of turn around USER/PASS."""
        if self.state not in LEGAL_STATES[keyword]:
            fault = OUT_OF_STATE_FAULTS.get((keyword, self.state))
            if fault is None or not self._faults.on(fault):
                return responses.ERR_WRONG_STATE
        if self.state is State.AUTHORIZATION:
            if self._pending_user is not None and keyword not in AFTER_USER:
                return responses.ERR_USER_PENDING
            before_user = self._pending_user is None and keyword == "PASS"
            if before_user and not self._faults.on("pop3.pass-before-user-accepted"):
                return responses.ERR_NEED_USER
        return None

    def _plaintext_login_allowed(self) -> bool:
        """RFC 5034 §4 / RFC 2595 §2.3: USER/PASS and PLAIN only under TLS unless configured otherwise."""
        if self._faults.on("pop3.auth-before-tls"):
            return True
        return self.tls_active or not self.settings.login_requires_tls

    # --- AUTHORIZATION state --------------------------------------------------------------

    def _user(self, command: Command) -> Outcome:
        """USER name (§7): +OK for every name, so USER tells nobody which names exist (§13)."""
        if len(command.arguments) != 1:
            return Outcome((responses.ERR_SYNTAX,))
        if not self._plaintext_login_allowed():
            return Outcome((responses.ERR_PLAINTEXT_NEEDS_TLS,))
        name = command.arguments[0]
        if self._faults.on("pop3.user-reveals-unknown-names") and self._accounts.by_login(name) is None:
            return Outcome((responses.err(f"never heard of mailbox {name}"),))
        if self._early_password is not None:  # fault pop3.pass-before-user-accepted: PASS came first
            password, self._early_password = self._early_password, None
            return Outcome((), CheckCredentials(name, password))
        self._pending_user = name
        return Outcome((responses.OK_USER,))

    def _pass(self, command: Command) -> Outcome:
        """PASS string (§7): the whole rest of the line is the password, spaces included."""
        login, self._pending_user = self._pending_user, None
        if not command.rest:
            return Outcome((responses.ERR_SYNTAX,))
        if login is None:  # only under the fault pop3.pass-before-user-accepted
            if not self._plaintext_login_allowed():
                return Outcome((responses.ERR_PLAINTEXT_NEEDS_TLS,))
            self._early_password = command.rest
            return Outcome((responses.ok("send USER"),))
        return Outcome((), CheckCredentials(login, command.rest))

    def _apop(self, command: Command) -> Outcome:
        """APOP name digest (§7): only for accounts whose plain password the server knows."""
        if len(command.arguments) != 2:
            return Outcome((responses.ERR_SYNTAX,))
        name, digest_text = command.arguments
        try:
            digest = parse_apop_digest(digest_text)
        except CommandSyntaxError:
            return Outcome((responses.ERR_SYNTAX,))
        if self.timestamp is None:
            return Outcome((responses.ERR_UNKNOWN_COMMAND,))  # no timestamp was offered: no APOP
        secret = self.settings.apop_secrets.get(name)
        account = self._accounts.by_login(name)
        if secret is None or account is None:
            return self._login_failed()
        if not hmac.compare_digest(apop_digest(self.timestamp, secret), digest):
            return self._login_failed()
        return Outcome((), OpenMaildrop(account.login))

    def _auth(self, command: Command) -> Outcome:
        """AUTH mechanism [initial-response] (RFC 5034 §4), PLAIN only."""
        try:
            mechanism, initial = parse_auth_arguments(command.arguments)
        except CommandSyntaxError:
            return Outcome((responses.ERR_SYNTAX,))
        if mechanism not in SASL_MECHANISMS:
            return Outcome((responses.ERR_UNKNOWN_MECHANISM,))
        if not self._plaintext_login_allowed():
            return Outcome((responses.ERR_PLAINTEXT_NEEDS_TLS,))
        if initial is None:
            self._sasl_pending = True
            # RFC 5034 §4: the empty challenge is "+ " and "MUST NOT contain any other data"
            return Outcome((Continuation(SASL_CHALLENGE_TEXT if self._faults.on("pop3.sasl-challenge-text") else ""),))
        return self._plain_message(b"" if initial == "=" else initial.encode("ascii"), initial == "=")

    def _sasl_response(self, line: bytes) -> Outcome:
        self._sasl_pending = False
        if line == b"*":
            return self._auth_failed(Outcome((responses.ERR_AUTH_CANCELLED,)))  # RFC 5034 §4: MUST -ERR
        return self._plain_message(line, False)

    def _plain_message(self, encoded: bytes, empty: bool) -> Outcome:
        lenient = self._faults.on("pop3.sasl-base64-lenient")  # RFC 5034 §4: MUST reject, not ignore
        try:
            message = b"" if empty else decode_base64(encoded, lenient)
            credentials = parse_plain(message)
        except Base64Error:
            return self._auth_failed(Outcome((responses.ERR_BAD_BASE64,)))
        except SaslError:
            return self._auth_failed(Outcome((responses.ERR_BAD_SASL_MESSAGE,)))
        self._checking_auth = True
        return Outcome((), CheckCredentials(credentials.login, credentials.password, credentials.authzid))

    def _auth_failed(self, outcome: Outcome) -> Outcome:
        """RFC 5034 §4: after a failed AUTH the server "MUST behave as if the client had not issued
        the AUTH command" -- the session goes on, unless the fault pop3.failed-auth-disconnects is on."""
        if not self._faults.on("pop3.failed-auth-disconnects"):
            return outcome
        self.state = State.CLOSED
        return Outcome(outcome.replies, Close(), outcome.delay)

    def _stls(self, command: Command) -> Outcome:
        """STLS (RFC 2595 §4): +OK, then the handshake; -ERR when TLS is active or unavailable."""
        if command.arguments:
            return Outcome((responses.ERR_SYNTAX,))
        if self.tls_active:
            return Outcome((responses.ERR_TLS_ACTIVE,))
        if not self.settings.tls_available:
            return Outcome((responses.ERR_TLS_UNAVAILABLE,))
        return Outcome((responses.OK_STLS,), StartTls())

    def _capa(self, command: Command) -> Outcome:
        """CAPA (RFC 2449 §5): what is available in this state on this connection."""
        if command.arguments:
            return Outcome((responses.ERR_SYNTAX,))
        lines = ["TOP", "UIDL"]
        if self._plaintext_login_allowed():
            lines += ["USER", "SASL " + " ".join(SASL_MECHANISMS)]
        lines += ["RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]
        if self.state is State.AUTHORIZATION and self.settings.tls_available and not self.tls_active:
            lines.append("STLS")  # RFC 2595 §4: "present and permitted in the current state"
        lines.append(f"IMPLEMENTATION {IMPLEMENTATION}")
        terminated = not self._faults.on("pop3.capa-missing-terminator")
        return Outcome((Response(True, responses.OK_CAPA.text, tuple(lines), terminated),))

    def _quit(self, command: Command) -> Outcome:
        """QUIT: from AUTHORIZATION just close; from TRANSACTION enter UPDATE (§6)."""
        if command.arguments:
            return Outcome((responses.ERR_SYNTAX,))
        if self.state is State.AUTHORIZATION or self.maildrop is None:
            self.state = State.CLOSED
            return Outcome((responses.OK_SIGNING_OFF,), Close())
        self.state = State.UPDATE
        doomed = self.maildrop.deleted_uids
        if not doomed:
            return self.update_finished(True)
        if self._faults.on("pop3.update-purges-all"):
            # the defect; §6: "In no case may the server remove any messages not marked as deleted."
            doomed = tuple(m.uid for m in self.maildrop.all)
        return Outcome((), Expunge(doomed, update=True))

    # --- TRANSACTION state ----------------------------------------------------------------

    def _drop(self) -> Maildrop:
        assert self.maildrop is not None  # TRANSACTION state always has one
        return self.maildrop

    def _message(self, argument: str, *, deleted_too: bool = False) -> DropMessage | Response:
        """The message an argument names, or the -ERR to answer (§5: "no such message")."""
        try:
            number = parse_message_number(argument)
        except CommandSyntaxError:
            return responses.ERR_SYNTAX
        drop = self._drop()
        if number is None or not drop.in_range(number):
            return responses.ERR_NO_SUCH_MESSAGE
        if drop.is_deleted(number) and not deleted_too:
            return responses.ERR_NO_SUCH_MESSAGE
        return drop.all[number - 1]

    def _stat(self, command: Command) -> Outcome:
        """STAT (§5): "+OK nn mm", deleted messages counted in neither."""
        if command.arguments:
            return Outcome((responses.ERR_SYNTAX,))
        drop = self._drop()
        return Outcome((responses.drop_listing(len(drop.live), drop.octets),))

    def _list(self, command: Command) -> Outcome:
        """LIST [msg] (§5): scan listings "n size"; deleted messages are not listed."""
        if len(command.arguments) > 1:
            return Outcome((responses.ERR_SYNTAX,))
        arguments = command.arguments
        if arguments and not arguments[0].isdigit() and self._faults.on("pop3.bad-message-number-ignored"):
            arguments = ()  # the defect: an argument that does not parse counts as no argument
        if arguments:
            found = self._message(arguments[0])
            if isinstance(found, Response):
                return Outcome((found,))
            return Outcome((responses.ok(responses.scan_listing(found.number, found.size)),))
        drop = self._drop()
        listed = drop.all if self._faults.on("pop3.deleted-still-listed") else drop.live
        body = tuple(responses.scan_listing(m.number, m.size) for m in listed)
        return Outcome((responses.ok(f"{len(drop.live)} messages ({drop.octets} octets)", body),))

    def _uidl(self, command: Command) -> Outcome:
        """UIDL [msg] (§7): unique-id listings "n id"; deleted messages are not listed."""
        if len(command.arguments) > 1:
            return Outcome((responses.ERR_SYNTAX,))
        if command.arguments:
            found = self._message(command.arguments[0])
            if isinstance(found, Response):
                return Outcome((found,))
            return Outcome((responses.ok(self._unique_id_listing(found)),))
        body = tuple(self._unique_id_listing(m) for m in self._drop().live)
        return Outcome((Response(True, responses.OK_UNIQUE_ID_LISTING.text, body),))

    def _unique_id_listing(self, message: DropMessage) -> str:
        """§7: "No information follows the unique-id in the unique-id listing." """
        listing = responses.unique_id_listing(message.number, message.unique_id)
        return f"{listing} {message.size}" if self._faults.on("pop3.uidl-listing-with-size") else listing

    def _retr(self, command: Command) -> Outcome:
        """RETR msg (§5): the whole message, byte-stuffed."""
        if len(command.arguments) != 1:
            return Outcome((responses.ERR_SYNTAX,))
        found = self._message(command.arguments[0], deleted_too=self._faults.on("pop3.deleted-message-retrievable"))
        if isinstance(found, Response):
            return Outcome((found,))
        return Outcome((), SendMessage(responses.message_size(found.size), found.uid, None, self._stuffing()))

    def _top(self, command: Command) -> Outcome:
        """TOP msg n (§7): the header, the blank line and n lines of the body."""
        lenient = self._faults.on("pop3.top-line-count-atoi")
        if len(command.arguments) != 2 and not (lenient and len(command.arguments) == 1):
            return Outcome((responses.ERR_SYNTAX,))
        found = self._message(command.arguments[0])
        if isinstance(found, Response):
            return Outcome((found,))
        count = command.arguments[1] if len(command.arguments) == 2 else ""
        try:
            lines: int | None = parse_line_count(count)
        except CommandSyntaxError:
            if not lenient:
                return Outcome((responses.ERR_SYNTAX,))
            lines = atoi(count)  # the defect: "x", "-1" and a missing count all read as 0
        if self._faults.on("pop3.top-ignores-line-count"):
            lines = None  # the defect: TOP sends the whole message
        return Outcome((), SendMessage(responses.OK_TOP_FOLLOWS, found.uid, lines, self._stuffing()))

    def _stuffing(self) -> bool:
        return not self._faults.on("pop3.no-byte-stuffing")

    def _dele(self, command: Command) -> Outcome:
        """DELE msg (§5): mark only; the message goes in the UPDATE state."""
        if len(command.arguments) != 1:
            return Outcome((responses.ERR_SYNTAX,))
        found = self._message(command.arguments[0])
        if isinstance(found, Response):
            return Outcome((found,))
        self._drop().mark_deleted(found.number)
        if self._faults.on("pop3.dele-immediate"):
            return Outcome((responses.OK_DELETED,), Expunge((found.uid,), update=False))
        return Outcome((responses.OK_DELETED,))

    def _noop(self, command: Command) -> Outcome:
        if command.arguments:
            return Outcome((responses.ERR_SYNTAX,))
        return Outcome((responses.OK_PLAIN,))

    def _rset(self, command: Command) -> Outcome:
        """RSET (§5): unmark every message marked as deleted."""
        if command.arguments:
            return Outcome((responses.ERR_SYNTAX,))
        drop = self._drop()
        if not self._faults.on("pop3.rset-keeps-deletions"):
            drop.unmark_all()
        return Outcome((responses.ok(f"maildrop has {len(drop.live)} messages ({drop.octets} octets)"),))

    # --- helpers -------------------------------------------------------------------------

    def _login_failed(self) -> Outcome:
        """One answer for a wrong name and a wrong password, after a delay (§13)."""
        self._pending_user = None
        return Outcome((responses.ERR_AUTH_FAILED,), delay=self.settings.failed_login_delay)

    def _counted(self, outcome: Outcome) -> Outcome:
        """The bad-command budget: past it, -ERR and close (nothing is deleted, §6)."""
        if not any(isinstance(r, Response) and not r.ok for r in outcome.replies):
            return outcome
        self._bad_commands += 1
        if self._bad_commands <= self.settings.max_bad_commands:
            return outcome
        self.state = State.CLOSED
        return Outcome((responses.ERR_TOO_MANY_ERRORS,), Close(), outcome.delay)

    def _expect(self, state: State) -> None:
        if self.state is not state:
            raise RuntimeError(f"expected state {state.value}, in {self.state.value}")
