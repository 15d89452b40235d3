"""POP3 responses as values: status, text, and the lines of a multi-line response.

Fixed responses are module constants named after their status (``ERR_NO_SUCH_MESSAGE``).
Response codes in square brackets follow RFC 2449 §8 (IN-USE, LOGIN-DELAY) and RFC 3206
(AUTH, SYS/TEMP), announced by the RESP-CODES and AUTH-RESP-CODE capabilities. Text is
plain ASCII and never echoes a credential.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from reference_server.pop3.parsing import END_OF_MULTILINE, RESPONSE_LINE_MAX, stuff_line

OK: Final = "+OK"  # RFC 1939 §3: "Servers MUST send the "+OK" and "-ERR" in upper case"
ERR: Final = "-ERR"


@dataclass(frozen=True)
class Response:
    """One status line, optionally followed by the lines of a multi-line response (§3)."""

    ok: bool
    text: str = ""
    body: tuple[str, ...] | None = None
    terminated: bool = True  # False only under the fault pop3.capa-missing-terminator

    def __post_init__(self) -> None:
        first = self.status_line()
        if len(first) + 2 > RESPONSE_LINE_MAX:
            raise ValueError(f"response line over {RESPONSE_LINE_MAX} octets (RFC 1939 §3)")
        for line in (self.text, *(self.body or ())):
            if "\r" in line or "\n" in line or not line.isascii():
                raise ValueError("response text must be ASCII without CR or LF")

    def status_line(self) -> str:
        status = OK if self.ok else ERR
        return f"{status} {self.text}" if self.text else status

    def with_text(self, text: str) -> Response:
        return Response(self.ok, text, self.body, self.terminated)


@dataclass(frozen=True)
class Continuation:
    """A SASL server challenge: "+" SP base64 (RFC 5034 §4); empty data is "+ "."""

    data: str


Reply = Response | Continuation


def ok(text: str = "", body: tuple[str, ...] | None = None) -> Response:
    return Response(True, text, body)


def err(text: str) -> Response:
    return Response(False, text)


def render(reply: Reply) -> bytes:
    """The wire form; a multi-line body is byte-stuffed and ends with ".CRLF" (§3)."""
    if isinstance(reply, Continuation):
        return f"+ {reply.data}\r\n".encode("ascii")
    out = [reply.status_line().encode("ascii"), b"\r\n"]
    if reply.body is not None:
        for line in reply.body:
            out += (stuff_line(line.encode("ascii")), b"\r\n")
        if reply.terminated:
            out.append(END_OF_MULTILINE)
    return b"".join(out)


# --- positive ------------------------------------------------------------------------

OK_PLAIN: Final = ok()
OK_USER: Final = ok("send PASS")  # the same for every name: USER never tells which names exist (§13)
OK_STLS: Final = ok("Begin TLS negotiation")  # RFC 2595 §4
OK_CAPA: Final = ok("Capability list follows")
OK_DELETED: Final = ok("message deleted")
OK_RESET: Final = ok("deletion marks removed")
OK_MESSAGE_FOLLOWS: Final = ok("message follows")
OK_TOP_FOLLOWS: Final = ok("top of message follows")
OK_SCAN_LISTING: Final = ok("scan listing follows")
OK_UNIQUE_ID_LISTING: Final = ok("unique-id listing follows")
OK_SIGNING_OFF: Final = ok("mailconform POP3 server signing off")

# --- negative ------------------------------------------------------------------------

ERR_UNKNOWN_COMMAND: Final = err("unknown command")
ERR_WRONG_STATE: Final = err("command not valid in this state")
ERR_NEED_USER: Final = err("send USER first")
ERR_USER_PENDING: Final = err("send PASS (or QUIT) after USER")
ERR_SYNTAX: Final = err("syntax error")
ERR_LINE_TOO_LONG: Final = err("command line too long")
ERR_NO_SUCH_MESSAGE: Final = err("no such message")  # the §5 text
ERR_AUTH_FAILED: Final = err("[AUTH] authentication failed")
ERR_PLAINTEXT_NEEDS_TLS: Final = err("[AUTH] plaintext authentication is allowed only after STLS")
ERR_IN_USE: Final = err("[IN-USE] maildrop is locked by another session")  # RFC 2449 §8.1.2
ERR_MAILDROP_UNAVAILABLE: Final = err("[SYS/TEMP] unable to open the maildrop")
ERR_MESSAGE_UNAVAILABLE: Final = err("[SYS/TEMP] message cannot be read")
ERR_UPDATE_FAILED: Final = err("[SYS/TEMP] some deleted messages were not removed")
ERR_TLS_ACTIVE: Final = err("TLS already active")  # RFC 2595 §4
ERR_TLS_UNAVAILABLE: Final = err("TLS not available")
ERR_UNKNOWN_MECHANISM: Final = err("unsupported authentication mechanism")
ERR_AUTH_CANCELLED: Final = err("authentication cancelled")  # RFC 5034 §4: "*" MUST be answered -ERR
ERR_BAD_BASE64: Final = err("invalid base64 data")
ERR_BAD_SASL_MESSAGE: Final = err("malformed authentication message")
ERR_TOO_MANY_ERRORS: Final = err("too many errors, closing connection")
ERR_INTERNAL: Final = err("[SYS/TEMP] internal error, closing connection")


def greeting(hostname: str, timestamp: str | None) -> Response:
    """The banner (§4); with a timestamp it offers APOP (§7, RFC 2449 §6)."""
    text = f"{hostname} mailconform POP3 server ready"
    return ok(f"{text} {timestamp}" if timestamp else text)


def drop_listing(count: int, octets: int) -> Response:
    """STAT: "+OK nn mm" and nothing more (§5 strongly discourages extra information)."""
    return ok(f"{count} {octets}")


def scan_listing(number: int, octets: int) -> str:
    return f"{number} {octets}"


def unique_id_listing(number: int, unique_id: str) -> str:
    return f"{number} {unique_id}"


def logged_in(count: int, octets: int) -> Response:
    return ok(f"maildrop locked and ready, {count} messages ({octets} octets)")


def message_size(octets: int) -> Response:
    return ok(f"{octets} octets")
