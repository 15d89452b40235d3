"""The capture hop's SMTP session, as a pure machine: lines in, replies and messages out.

No I/O here: the asyncio edge (harness.nexthop.server) feeds each received line with
whether it arrived early (before the previous reply was sent) and writes what comes back.
The hop is a willing, simple receiver (RFC 5321 §4.5.1 minimum plus the extensions its
listener announces) whose only opinions are the ones relay cases provoke on purpose:

- `tempfail-...@`: 451 to the first RCPT for that exact address, 250 to every later one
  (RFC 5321 §4.5.4.1: the relay must queue and retry);
- `reject-...@`: 550 always (RFC 5321 §6.1: the relay must notify the reverse-path);
- anything else: 250.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Final

from harness.nexthop.record import HopCommand, HopMessage

RELAY: Final = "relay"  # announces PIPELINING, 8BITMIME, SIZE, SMTPUTF8, ENHANCEDSTATUSCODES
LEGACY: Final = "legacy"  # answers EHLO with no extension keyword at all
LISTENERS: Final = (RELAY, LEGACY)

SIZE_LIMIT: Final = 50 * 1024 * 1024  # the SIZE the relay listener announces (RFC 1870 §4)
RELAY_EXTENSIONS: Final = ("PIPELINING", "8BITMIME", f"SIZE {SIZE_LIMIT}", "SMTPUTF8", "ENHANCEDSTATUSCODES")
TEMPFAIL_PREFIX: Final = "tempfail-"
REJECT_PREFIX: Final = "reject-"
MAIL_PARAMETERS: Final = frozenset({"SIZE", "BODY", "SMTPUTF8"})  # what the relay listener's EHLO offers
BODY_VALUES: Final = frozenset({"7BIT", "8BITMIME"})  # RFC 6152 §2
_PATH_ARGUMENT: Final = re.compile(r"(?i)(FROM|TO):\s*<([^<>]*)>(.*)")
_ROUTE: Final = re.compile(r"^(@[^:,]+,)*@[^:,]+:")  # a source route, RFC 5321 §4.1.2 A-d-l


class Phase(Enum):
    READY = "ready"  # no transaction open
    MAIL = "mail"  # MAIL accepted, recipients being collected
    DATA = "data"  # 354 sent: lines are mail data until the lone "."
    CLOSED = "closed"


@dataclass(frozen=True)
class Result:
    """What one received line leads to."""

    replies: tuple[bytes, ...] = ()
    message: HopMessage | None = None  # a message the hop has just accepted
    close: bool = False
    addresses: tuple[str, ...] = ()  # addresses the line named (MAIL/RCPT), for the session trace


def parse_path_argument(argument: str, keyword: str) -> tuple[str, tuple[str, ...]]:
    """`FROM:<a@b> SIZE=10` -> ("a@b", ("SIZE=10",)); a source route is dropped (RFC 5321 §3.6.1).

    Lenient about a space after the colon (many clients send one); the brackets are required.
    Raises ValueError naming what is wrong.
    """
    match = _PATH_ARGUMENT.fullmatch(argument.strip())
    if match is None or match.group(1).upper() != keyword:
        raise ValueError(f"expected {keyword}:<path>")
    path = _ROUTE.sub("", match.group(2))
    rest = match.group(3)
    if rest and not rest.startswith(" "):
        raise ValueError("parameters must follow the path after a space")
    if path and "@" not in path and path.casefold() != "postmaster":
        raise ValueError(f"{path!r} is not a mailbox")
    return path, tuple(rest.split())


def recipient_reply(address: str, tempfailed: set[str]) -> tuple[int, str, str]:
    """(code, enhanced, text) for RCPT TO:<address>; `tempfailed` remembers the 451s already given."""
    local = address.rpartition("@")[0].casefold()
    if local.startswith(REJECT_PREFIX):
        return 550, "5.1.1", "no such mailbox here (the capture hop refuses reject-* addresses)"
    if local.startswith(TEMPFAIL_PREFIX) and address.casefold() not in tempfailed:
        tempfailed.add(address.casefold())
        return 451, "4.3.0", "try again later (the capture hop refuses tempfail-* once)"
    return 250, "2.1.5", "recipient ok"


def unstuff(line: bytes) -> bytes:
    """RFC 5321 §4.5.2: a data line starting with a period loses that first period."""
    return line[1:] if line.startswith(b".") else line


@dataclass
class HopSession:
    """One SMTP session on a capture hop listener. Feed lines (without CRLF) to `receive`."""

    listener: str
    session: int
    peer: str
    hostname: str
    tempfailed: set[str]  # shared by every session of the hop: "first RCPT" is per address, not per session
    phase: Phase = Phase.READY
    extended: bool = False  # EHLO (not HELO) was used: parameters are allowed where announced
    commands: list[HopCommand] = field(default_factory=list)
    _prelude_end: int | None = None  # commands before the first MAIL: EHLO, HELO, ...
    _segment_start: int = 0  # first command after the previous transaction ended
    _reverse_path: str = ""
    _recipients: list[str] = field(default_factory=list)
    _wire: bytearray = field(default_factory=bytearray)
    _data: bytearray = field(default_factory=bytearray)
    _oversize: bool = False
    _data_pipelined: bool | None = None

    def __post_init__(self) -> None:
        if self.listener not in LISTENERS:
            raise ValueError(f"listener must be one of {', '.join(LISTENERS)}")

    def greeting(self) -> bytes:
        return self._reply(220, "", f"{self.hostname} mailconform capture hop ({self.listener})")

    @property
    def announces(self) -> bool:
        return self.listener == RELAY

    def receive(self, line: bytes, early: bool = False) -> Result:
        """One line as received. `early`: it arrived before the reply to the previous line was sent."""
        if self.phase is Phase.CLOSED:
            return Result()
        if self.phase is Phase.DATA:
            return self._data_line(line, early)
        text = line.decode("utf-8", "replace")
        self.commands.append(HopCommand(text, early))
        verb, _, argument = text.partition(" ")
        handler = _HANDLERS.get(verb.upper())
        if handler is None:
            if verb.upper() in ("STARTTLS", "AUTH", "BDAT", "ETRN", "ATRN", "TURN", "EXPN"):
                return Result((self._reply(502, "5.5.1", f"{verb.upper()} is not offered here"),))
            return Result((self._reply(500, "5.5.2", "command not recognized"),))
        return handler(self, argument)

    # -- commands -------------------------------------------------------------------------------

    def _ehlo(self, argument: str) -> Result:
        if not argument.strip():
            return Result((self._reply(501, "5.5.4", "EHLO needs a domain"),))
        self._reset()
        self.extended = True
        keywords = RELAY_EXTENSIONS if self.announces else ()
        lines = [f"{self.hostname} capture hop", *keywords]
        reply = b"".join(
            f"250{' ' if index == len(lines) - 1 else '-'}{text}\r\n".encode() for index, text in enumerate(lines)
        )
        return Result((reply,))

    def _helo(self, argument: str) -> Result:
        if not argument.strip():
            return Result((self._reply(501, "5.5.4", "HELO needs a domain"),))
        self._reset()
        self.extended = False
        return Result((self._reply(250, "", f"{self.hostname} capture hop"),))

    def _mail(self, argument: str) -> Result:
        if self.phase is not Phase.READY:
            return Result((self._reply(503, "5.5.1", "a transaction is already open"),))
        if self._prelude_end is None:
            self._prelude_end = len(self.commands) - 1
        try:
            path, params = parse_path_argument(argument, "FROM")
        except ValueError as exc:
            return Result((self._reply(501, "5.5.4", str(exc)),))
        problem = self._mail_parameters(params)
        if problem is not None:
            return Result((problem,), addresses=(path,) if path else ())
        self.phase = Phase.MAIL
        self._reverse_path = path
        self._recipients = []
        return Result((self._reply(250, "2.1.0", "sender ok"),), addresses=(path,) if path else ())

    def _mail_parameters(self, params: tuple[str, ...]) -> bytes | None:
        for param in params:
            keyword, _, value = param.partition("=")
            keyword = keyword.upper()
            if not (self.announces and self.extended) or keyword not in MAIL_PARAMETERS:
                return self._reply(555, "5.5.4", f"parameter {keyword} was not announced")
            if keyword == "SIZE" and (not value.isdigit() or int(value) > SIZE_LIMIT):
                if not value.isdigit():
                    return self._reply(501, "5.5.4", "SIZE needs a number of octets")
                return self._reply(552, "5.3.4", "message too large")
            if keyword == "BODY" and value.upper() not in BODY_VALUES:
                return self._reply(501, "5.5.4", "BODY is 7BIT or 8BITMIME")
            if keyword == "SMTPUTF8" and value:
                return self._reply(501, "5.5.4", "SMTPUTF8 takes no value")
        return None

    def _rcpt(self, argument: str) -> Result:
        if self.phase is not Phase.MAIL:
            return Result((self._reply(503, "5.5.1", "MAIL first"),))
        try:
            path, params = parse_path_argument(argument, "TO")
        except ValueError as exc:
            return Result((self._reply(501, "5.5.4", str(exc)),))
        if params:
            return Result((self._reply(555, "5.5.4", "no RCPT parameters were announced"),), addresses=(path,))
        if not path:
            return Result((self._reply(501, "5.1.3", "a recipient cannot be null"),))
        code, enhanced, text = recipient_reply(path, self.tempfailed)
        if code == 250:
            self._recipients.append(path)
        return Result((self._reply(code, enhanced, text),), addresses=(path,))

    def _data_command(self, argument: str) -> Result:
        if argument.strip():
            return Result((self._reply(501, "5.5.4", "DATA takes no argument"),))
        if self.phase is not Phase.MAIL:
            return Result((self._reply(503, "5.5.1", "MAIL first"),))
        if not self._recipients:
            return Result((self._reply(554, "5.5.1", "no valid recipients"),))
        self.phase = Phase.DATA
        self._wire.clear()
        self._data.clear()
        self._oversize = False
        self._data_pipelined = None
        return Result((self._reply(354, "", "end data with <CR><LF>.<CR><LF>"),))

    def _rset(self, argument: str) -> Result:
        self._reset()
        self._segment_start = len(self.commands)
        return Result((self._reply(250, "2.0.0", "reset"),))

    def _noop(self, argument: str) -> Result:
        return Result((self._reply(250, "2.0.0", "ok"),))

    def _vrfy(self, argument: str) -> Result:
        return Result((self._reply(252, "2.5.0", "cannot verify, will accept"),))

    def _quit(self, argument: str) -> Result:
        self.phase = Phase.CLOSED
        return Result((self._reply(221, "2.0.0", "bye"),), close=True)

    # -- mail data ------------------------------------------------------------------------------

    def _data_line(self, line: bytes, early: bool) -> Result:
        if self._data_pipelined is None:
            self._data_pipelined = early
        if line == b".":
            return self._end_of_data()
        if len(self._wire) + len(line) + 2 > SIZE_LIMIT:
            self._oversize = True  # keep reading to the end, keep nothing more (bounded memory)
            return Result()
        self._wire += line + b"\r\n"
        self._data += unstuff(line) + b"\r\n"
        return Result()

    def _end_of_data(self) -> Result:
        self.phase = Phase.READY
        if self._oversize:
            self._reset()
            self._segment_start = len(self.commands)
            return Result((self._reply(552, "5.3.4", "message too large"),))
        start = self._prelude_end if self._prelude_end is not None else 0
        commands = (*self.commands[:start], *self.commands[max(start, self._segment_start) :])
        message = HopMessage(
            listener=self.listener,
            session=self.session,
            peer=self.peer,
            reverse_path=self._reverse_path,
            recipients=tuple(self._recipients),
            commands=tuple(commands),
            wire=bytes(self._wire),
            data=bytes(self._data),
            data_pipelined=bool(self._data_pipelined),
        )
        self._reset()
        self._segment_start = len(self.commands)
        return Result((self._reply(250, "2.0.0", "message accepted"),), message=message)

    # -- helpers --------------------------------------------------------------------------------

    def _reset(self) -> None:
        if self.phase is not Phase.CLOSED:
            self.phase = Phase.READY
        self._reverse_path = ""
        self._recipients = []
        self._wire = bytearray()
        self._data = bytearray()

    def _reply(self, code: int, enhanced: str, text: str) -> bytes:
        """One reply line; enhanced status codes only where ENHANCEDSTATUSCODES was announced (RFC 2034)."""
        if enhanced and self.announces:
            return f"{code} {enhanced} {text}\r\n".encode()
        return f"{code} {text}\r\n".encode()


_HANDLERS: Final = {
    "EHLO": HopSession._ehlo,
    "HELO": HopSession._helo,
    "MAIL": HopSession._mail,
    "RCPT": HopSession._rcpt,
    "DATA": HopSession._data_command,
    "RSET": HopSession._rset,
    "NOOP": HopSession._noop,
    "VRFY": HopSession._vrfy,
    "QUIT": HopSession._quit,
}


def delays_reply(listener: str, line: bytes) -> bool:
    """The legacy listener waits before answering MAIL and RCPT, so that a client pipelining
    without PIPELINING having been announced shows: its next command arrives before the reply."""
    return listener == LEGACY and line[:5].upper() in (b"MAIL ", b"RCPT ")
