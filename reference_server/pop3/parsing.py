"""Pure POP3 parsing and encoding: command lines in, wire bytes of message bodies out, no I/O.

Commands are a case-insensitive keyword and arguments separated by single spaces (RFC 1939
§3); a line may be 255 octets with its CRLF once CAPA is supported (RFC 2449 §4). Message
bodies go out as multi-line responses: every line ends in CRLF -- a stored bare LF is sent
as CRLF, which is how the store counts sizes (RFC 1939 §11) -- a line that starts with
"." gets a second one (byte-stuffing, §3), and ".CRLF" ends the response. The encoder
works on chunks as they stream from disk, so a message is never held whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

COMMAND_LINE_MAX: Final = 255  # RFC 2449 §4: commands up to 255 octets including the CRLF
SASL_LINE_MAX: Final = 12288  # RFC 5034 §4: SASL responses "may be of arbitrary length"
RESPONSE_LINE_MAX: Final = 512  # RFC 1939 §3, RFC 2449 §4: first response line including CRLF
UNIQUE_ID_MAX: Final = 70  # RFC 1939 §7: one to 70 characters in the range 0x21 to 0x7E
MESSAGE_NUMBER_DIGITS_MAX: Final = 10  # no maildrop holds 10**10 messages; longer is "no such message"
APOP_DIGEST_HEX: Final = 32  # RFC 1939 §7: a 16-octet MD5 digest in hexadecimal
TERMINATION_OCTET: Final = b"."  # RFC 1939 §3
END_OF_MULTILINE: Final = b".\r\n"


class CommandSyntaxError(ValueError):
    """The arguments of a command do not match its grammar; `reason` is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Command:
    """A command line split at single spaces; `rest` is everything after the keyword and one SP."""

    keyword: str  # upper-cased; "" if the line does not start with a 3-4 letter keyword
    arguments: tuple[str, ...]
    rest: str  # PASS takes the whole rest as one argument, spaces included (§7)


_KEYWORD: Final = re.compile(rb"[A-Za-z]{3,4}")
_PRINTABLE: Final = re.compile(r"[\x20-\x7e]*")


def split_command(line: bytes, *, case_sensitive: bool = False) -> Command:
    """Split a line (CRLF removed) into keyword and arguments (RFC 1939 §3).

    Keywords are matched case-insensitively; `case_sensitive` exists for the fault
    pop3.verbs-case-sensitive, which leaves the keyword as sent. Arguments are printable
    ASCII; a line with other octets gets an empty keyword and so an -ERR.
    """
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        return Command("", (), "")
    if not _PRINTABLE.fullmatch(text):
        return Command("", (), "")
    head, sep, rest = text.partition(" ")
    if not _KEYWORD.fullmatch(head.encode("ascii")):
        return Command("", (), "")
    keyword = head if case_sensitive else head.upper()
    stripped = rest.rstrip(" ")
    arguments = tuple(stripped.split(" ")) if stripped else ()
    return Command(keyword, arguments, rest if sep else "")


def has_empty_argument(command: Command) -> bool:
    """Two spaces in a row: arguments are separated by a *single* space (§3)."""
    return any(not argument for argument in command.arguments)


def parse_message_number(argument: str) -> int | None:
    """A message-number (§4: decimal, from 1); None when the number cannot name a message.

    Syntax errors raise; a well-formed number that is 0 or absurdly long is simply a
    message that does not exist, answered "no such message".
    """
    if not argument.isascii() or not argument.isdigit():
        raise CommandSyntaxError("message-number must be a decimal number")
    if len(argument) > MESSAGE_NUMBER_DIGITS_MAX:
        return None
    number = int(argument)
    return number if number >= 1 else None


def parse_line_count(argument: str) -> int:
    """The non-negative number of body lines for TOP (§7)."""
    if not argument.isascii() or not argument.isdigit():
        raise CommandSyntaxError("number of lines must be a non-negative decimal number")
    return int(argument)  # the 255-octet line limit bounds the digits


def atoi(argument: str) -> int:
    """The value of the leading decimal digits, 0 if there are none -- how C's atoi reads a number.

    Not the §3 grammar: only the fault pop3.top-line-count-atoi reads counts this way.
    """
    digits = len(argument) - len(argument.lstrip("0123456789"))
    return int(argument[:digits]) if digits else 0


_APOP_DIGEST: Final = re.compile(rf"[0-9A-Fa-f]{{{APOP_DIGEST_HEX}}}")


def parse_apop_digest(argument: str) -> str:
    """The APOP digest: 32 hexadecimal digits (§7 says lower case; upper case is tolerated)."""
    if not _APOP_DIGEST.fullmatch(argument):
        raise CommandSyntaxError("digest must be 32 hexadecimal digits")
    return argument.lower()


_MECHANISM: Final = re.compile(r"[A-Za-z0-9_-]{1,20}")  # RFC 4422 §3.1: 1 to 20 characters


def parse_auth_arguments(arguments: tuple[str, ...]) -> tuple[str, str | None]:
    """AUTH mechanism [initial-response] (RFC 5034 §4); the mechanism is upper-cased."""
    if not 1 <= len(arguments) <= 2 or not _MECHANISM.fullmatch(arguments[0]):
        raise CommandSyntaxError("Syntax: AUTH mechanism [initial-response]")
    return arguments[0].upper(), arguments[1] if len(arguments) == 2 else None


_UNIQUE_ID: Final = re.compile(rf"[\x21-\x7e]{{1,{UNIQUE_ID_MAX}}}")


def is_valid_unique_id(value: str) -> bool:
    """RFC 1939 §7: one to 70 characters in the range 0x21 to 0x7E."""
    return bool(_UNIQUE_ID.fullmatch(value))


def stuff_line(line: bytes) -> bytes:
    """One line of a multi-line response, byte-stuffed (§3); `line` has no CRLF."""
    return TERMINATION_OCTET + line if line.startswith(TERMINATION_OCTET) else line


class MessageEncoder:
    """Turns stored message bytes into the body of a RETR or TOP response, chunk by chunk.

    * every line end goes out as CRLF: a bare LF becomes CRLF, so the octets sent match the
      size the store reports (RFC 1939 §11);
    * a line starting with "." is byte-stuffed (§3) unless `stuff` is False (fault
      pop3.no-byte-stuffing);
    * with `body_lines` set (TOP, §7), the headers, the blank line and that many body lines
      are sent and the rest is dropped; `done` then tells the caller to stop reading.

    RETR sends every line, so whole chunks are rewritten with a few bytes operations (they
    run in C; a Python loop over 78-octet lines costs several times more). TOP must count
    lines and walks them one by one. `finish()` closes an unterminated last line and adds
    the ".CRLF" terminator.
    """

    def __init__(self, body_lines: int | None = None, *, stuff: bool = True) -> None:
        self._body_lines = body_lines
        self._stuff = stuff
        self._line_octets = 0  # stored octets of the current line fed so far (a trailing CR included)
        self._last_cr = False  # the last octet fed was CR: a CRLF may be split between two chunks
        self._in_body = False
        self._sent_body_lines = 0
        self.done = False

    def feed(self, data: bytes) -> bytes:
        """The wire bytes for the next piece of the stored message."""
        if self.done or not data:
            return b""
        if self._body_lines is None:
            return self._feed_whole(data)
        return self._feed_lines(data)

    def _feed_whole(self, data: bytes) -> bytes:
        """RETR: normalise line ends, then stuff every "." that follows a line end (§3)."""
        lead = b""
        if self._last_cr and data.startswith(b"\n"):
            lead = b"\n"  # completes the CRLF whose CR went out with the previous chunk
            data = data[1:]
            self._line_octets = 0
            self._last_cr = False
            if not data:
                return lead
        line_ends = data.count(b"\n")
        bare_lf = line_ends != data.count(b"\r\n")
        wire = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") if bare_lf else data
        if self._stuff:
            wire = wire.replace(b"\r\n" + TERMINATION_OCTET, b"\r\n" + TERMINATION_OCTET * 2)
            if self._line_octets == 0 and wire.startswith(TERMINATION_OCTET):
                wire = TERMINATION_OCTET + wire
        if line_ends:
            self._line_octets = len(data) - data.rfind(b"\n") - 1
        else:
            self._line_octets += len(data)
        self._last_cr = data.endswith(b"\r")
        return lead + wire if lead else wire

    def _feed_lines(self, data: bytes) -> bytes:
        """TOP: line by line, counting body lines after the blank line that ends the headers."""
        out = bytearray()
        position = 0
        size = len(data)
        while position < size and not self.done:
            newline = data.find(b"\n", position)
            end = size if newline < 0 else newline
            segment = data[position:end]
            if segment:
                if self._line_octets == 0 and self._stuff and segment.startswith(TERMINATION_OCTET):
                    out += TERMINATION_OCTET
                out += segment
                self._line_octets += len(segment)
                self._last_cr = segment.endswith(b"\r")
            if newline < 0:
                break
            out += b"\n" if self._last_cr else b"\r\n"
            self._end_line()
            position = newline + 1
        return bytes(out)

    def _end_line(self) -> None:
        blank = self._line_octets == 0 or (self._line_octets == 1 and self._last_cr)
        self._line_octets = 0
        self._last_cr = False
        if self._body_lines is None:
            return
        if not self._in_body:
            if blank:
                self._in_body = True
                self.done = self._body_lines == 0
            return
        self._sent_body_lines += 1
        self.done = self._sent_body_lines >= self._body_lines

    def finish(self) -> bytes:
        """What ends the response: CRLF for an unterminated last line, then ".CRLF"."""
        if self._line_octets:
            tail = b"\n" if self._last_cr else b"\r\n"
            self._line_octets = 0
            return tail + END_OF_MULTILINE
        return END_OF_MULTILINE
