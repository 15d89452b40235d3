"""SMTP replies as values: the code, the enhanced status code and the text lines.

Fixed replies are module constants named after their code (``S503_BAD_SEQUENCE``), so a
reader sees the code where it is used and a test checks that every name matches its code.
Enhanced status codes (RFC 3463, announced with ENHANCEDSTATUSCODES, RFC 2034) are part
of each reply; RFC 2034 §4 leaves them off the greeting and the replies to HELO/EHLO, and
3xx replies never carry one. Reply text is plain ASCII and never echoes credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from reference_server.faults import NO_FAULTS, Faults

REPLY_LINE_MAX: Final = 512  # RFC 5321 §4.5.3.1.5: reply line including code and CRLF


@dataclass(frozen=True)
class Reply:
    """One complete reply; several lines make a multi-line reply (RFC 5321 §4.2.1)."""

    code: int
    enhanced: str | None
    lines: tuple[str, ...]

    def __post_init__(self) -> None:
        if not 200 <= self.code <= 599:
            raise ValueError(f"reply code {self.code} outside 2yz-5yz (RFC 5321 §4.2)")
        if not self.lines:
            raise ValueError("a reply has at least one line")
        for line in self.lines:
            if "\r" in line or "\n" in line:
                raise ValueError("reply text must not contain CR or LF")
        if self.enhanced is not None and self.enhanced[0] != str(self.code)[0]:
            raise ValueError(f"enhanced code {self.enhanced} disagrees with {self.code} (RFC 2034 §4)")

    @property
    def is_positive(self) -> bool:
        return self.code < 400

    def with_text(self, *lines: str) -> Reply:
        """The same code and enhanced code with other text."""
        return Reply(self.code, self.enhanced, lines)


def reply(code: int, enhanced: str | None, *lines: str) -> Reply:
    return Reply(code, enhanced, lines if lines else ("",))


@lru_cache(maxsize=1024)
def render(value: Reply, faults: Faults = NO_FAULTS) -> bytes:
    """Wire form of a reply; every reply-format fault is decided here.

    Cached on the pair: both are immutable, and most replies a server sends are a handful of
    constants, so a busy session looks its replies up instead of formatting them anew.
    """
    return _render(
        value,
        faults.on("smtp.enhanced-codes-missing"),
        faults.on("smtp.multiline-continuation-wrong"),
        faults.on("smtp.reply-bare-lf"),
        faults.on("smtp.enhanced-code-class-wrong"),
        faults.on("smtp.enhanced-code-first-line-only"),
    )


def _render(
    value: Reply,
    omit_enhanced: bool,
    space_on_every_line: bool,
    lf_only: bool = False,
    fixed_enhanced: bool = False,
    enhanced_first_line_only: bool = False,
) -> bytes:
    enhanced = "2.0.0" if fixed_enhanced and value.enhanced else value.enhanced
    prefix = f"{enhanced} " if enhanced and not omit_enhanced else ""
    last = len(value.lines) - 1
    end = "\n" if lf_only else "\r\n"
    out = []
    for index, text in enumerate(value.lines):
        separator = " " if index == last or space_on_every_line else "-"
        line_prefix = prefix if index == 0 or not enhanced_first_line_only else ""
        out.append(f"{value.code}{separator}{line_prefix}{text}{end}")
    return "".join(out).encode("ascii", "replace")


# --- positive completion -------------------------------------------------------------

S211_STATUS: Final = reply(211, "2.0.0", "System status OK")
S235_AUTH_SUCCEEDED: Final = reply(235, "2.7.0", "Authentication successful")
S250_OK: Final = reply(250, "2.0.0", "OK")
S250_RESET: Final = reply(250, "2.0.0", "Reset OK")
S250_SENDER_OK: Final = reply(250, "2.1.0", "Sender OK")
S250_RECIPIENT_OK: Final = reply(250, "2.1.5", "Recipient OK")
S250_CHUNK_OK: Final = reply(250, "2.0.0", "Chunk received")
S250_MESSAGE_ACCEPTED: Final = reply(250, "2.6.0", "Message accepted for delivery")
S252_CANNOT_VRFY: Final = reply(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery")
S220_TLS_READY: Final = reply(220, "2.0.0", "Ready to start TLS")

# --- positive intermediate -----------------------------------------------------------

S354_START_DATA: Final = reply(354, None, "Start mail input; end with <CRLF>.<CRLF>")
S334_EMPTY_CHALLENGE: Final = reply(334, None, "")  # RFC 4954 §4: "334 " with nothing after

# --- transient negative --------------------------------------------------------------

S451_LOCAL_ERROR: Final = reply(451, "4.3.0", "Requested action aborted: local error in processing")
S452_TOO_MANY_RECIPIENTS: Final = reply(452, "4.5.3", "Too many recipients")
S454_TLS_UNAVAILABLE: Final = reply(454, "4.7.0", "TLS not available due to temporary reason")
S454_AUTH_UNAVAILABLE: Final = reply(454, "4.7.0", "Temporary authentication failure")

# --- permanent negative --------------------------------------------------------------

S500_UNRECOGNIZED: Final = reply(500, "5.5.2", "Syntax error, command unrecognized")
S500_LINE_TOO_LONG: Final = reply(500, "5.5.2", "Line too long")
S500_AUTH_LINE_TOO_LONG: Final = reply(500, "5.5.6", "Authentication exchange line is too long")
S500_TEXT_LINE_TOO_LONG: Final = reply(500, "5.6.0", "Message has a line longer than 1000 octets")
S501_SYNTAX: Final = reply(501, "5.5.4", "Syntax error in parameters or arguments")
S501_NO_PARAMETERS: Final = reply(501, "5.5.4", "Syntax error (no parameters allowed)")
S501_BAD_DOMAIN: Final = reply(501, "5.5.4", "Invalid domain name or address literal")
S501_BAD_SENDER: Final = reply(501, "5.1.7", "Bad sender address syntax")
S501_BAD_RECIPIENT: Final = reply(501, "5.1.3", "Bad recipient address syntax")
S501_BAD_PARAMETER: Final = reply(501, "5.5.4", "Invalid parameter value")
S501_AUTH_CANCELLED: Final = reply(501, "5.7.0", "Authentication cancelled")
S501_BAD_BASE64: Final = reply(501, "5.5.2", "Invalid base64 data")
S501_BAD_SASL_MESSAGE: Final = reply(501, "5.5.2", "Malformed authentication message")
S502_NOT_IMPLEMENTED: Final = reply(502, "5.5.1", "Command not implemented")
S503_BAD_SEQUENCE: Final = reply(503, "5.5.1", "Bad sequence of commands")
S503_HELLO_FIRST: Final = reply(503, "5.5.1", "Send EHLO first")
S503_NESTED_MAIL: Final = reply(503, "5.5.1", "Sender already specified; RSET first")
S503_NEED_MAIL: Final = reply(503, "5.5.1", "Need MAIL command first")
S503_TLS_ACTIVE: Final = reply(503, "5.5.1", "TLS already active")
S503_ALREADY_AUTHENTICATED: Final = reply(503, "5.5.1", "Already authenticated")
S503_AUTH_IN_TRANSACTION: Final = reply(503, "5.5.1", "AUTH not permitted during a mail transaction")
S503_DATA_AFTER_BDAT: Final = reply(503, "5.5.1", "DATA cannot be mixed with BDAT in one transaction")
S503_BINARYMIME_NEEDS_BDAT: Final = reply(503, "5.5.1", "BODY=BINARYMIME requires BDAT")
S503_TRANSACTION_FAILED: Final = reply(503, "5.5.1", "Transaction failed; send RSET")
S504_UNKNOWN_MECHANISM: Final = reply(504, "5.5.4", "Unrecognized authentication mechanism")
S504_HELP_TOPIC: Final = reply(504, "5.5.4", "HELP topic unknown")
S530_AUTH_REQUIRED: Final = reply(530, "5.7.0", "Authentication required")
S535_BAD_CREDENTIALS: Final = reply(535, "5.7.8", "Authentication credentials invalid")
S538_ENCRYPTION_REQUIRED: Final = reply(538, "5.7.11", "Encryption required for requested authentication mechanism")
S550_NO_SUCH_USER: Final = reply(550, "5.1.1", "No such user here")
S550_NOT_LOCAL: Final = reply(550, "5.1.2", "Not a domain served here")
S550_RELAY_DENIED: Final = reply(550, "5.7.1", "Relaying denied")
S550_BARE_NEWLINE: Final = reply(550, "5.6.0", "Bare CR or LF in message data; lines must end with CRLF")
S550_NULL_SENDER: Final = reply(550, "5.7.1", "Null sender not permitted here")
S550_UTF8_SENDER: Final = reply(550, "5.6.7", "Non-ASCII addresses need the SMTPUTF8 parameter")
S553_UTF8_RECIPIENT: Final = reply(553, "5.6.7", "Non-ASCII addresses need the SMTPUTF8 parameter")
S552_MESSAGE_TOO_BIG: Final = reply(552, "5.3.4", "Message size exceeds fixed maximum message size")
S552_TOO_MANY_RECIPIENTS: Final = reply(552, "5.5.3", "Too many recipients")
S554_NO_VALID_RECIPIENTS: Final = reply(554, "5.5.1", "No valid recipients")
S554_SENDER_NOT_QUALIFIED: Final = reply(554, "5.1.8", "Sender domain must be fully qualified")
S554_RECIPIENT_NOT_QUALIFIED: Final = reply(554, "5.1.2", "Recipient domain must be fully qualified")
S555_UNKNOWN_PARAMETER: Final = reply(555, "5.5.4", "MAIL FROM/RCPT TO parameters not recognized or not implemented")


# --- replies that name the server (RFC 5321 §4.2: 220, 221 and 421 carry the domain) ---


def s220_greeting(hostname: str) -> Reply:
    """The connection greeting; RFC 2034 §4 leaves the enhanced code off it."""
    return reply(220, None, f"{hostname} ESMTP mailconform reference server ready")


def s221_closing(hostname: str) -> Reply:
    return reply(221, "2.0.0", f"{hostname} Service closing transmission channel")


def s421_shutting_down(hostname: str) -> Reply:
    return reply(421, "4.3.2", f"{hostname} Service shutting down, closing transmission channel")


def s421_too_many_sessions(hostname: str) -> Reply:
    return reply(421, "4.3.2", f"{hostname} Too many connections, try again later")


def s421_timeout(hostname: str) -> Reply:
    return reply(421, "4.4.2", f"{hostname} Timeout waiting for client input, closing")


def s421_too_many_errors(hostname: str) -> Reply:
    return reply(421, "4.7.0", f"{hostname} Too many errors, closing transmission channel")


def s421_internal_error(hostname: str) -> Reply:
    return reply(421, "4.3.0", f"{hostname} Internal error, closing transmission channel")
