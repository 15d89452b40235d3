"""Pure SMTP command parsing: bytes in, command and argument values out, no I/O.

The grammar is RFC 5321 §4.1.1-§4.1.3 (commands, paths, address literals), with the
UTF-8 extensions of RFC 6531 §3.3 accepted in addresses and *reported* (the session
decides whether the client was allowed to use them). Errors are exceptions carrying a
short reason; the session state machine picks the reply code, because the same syntax
error means 501 5.1.7 in MAIL and 501 5.1.3 in RCPT.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Final

COMMAND_LINE_MAX: Final = 512  # RFC 5321 §4.5.3.1.4: command line incl. verb and CRLF
MAIL_LINE_EXTRA: Final = 26 + 500 + 16  # RFC 1870 §3 (5) SIZE, RFC 4954 §3 (5) AUTH=, RFC 3030 §3 (8)
SASL_LINE_MAX: Final = 12288  # RFC 4954 §4: "sufficient line length limit" for SASL responses
LOCAL_PART_MAX: Final = 64  # RFC 5321 §4.5.3.1.1
DOMAIN_MAX: Final = 255  # RFC 5321 §4.5.3.1.2
PATH_MAX: Final = 256  # RFC 5321 §4.5.3.1.3, "including the punctuation and element separators"
SIZE_VALUE_DIGITS_MAX: Final = 20  # RFC 1870 §3 (4): size-value ::= 1*20DIGIT
BDAT_SIZE_DIGITS_MAX: Final = 20  # RFC 3030 §2 says 1*DIGIT; more than 20 digits is no real chunk
SASL_MECHANISM_MAX: Final = 20  # RFC 4422 §3.1: mechanism names are 1 to 20 characters


class CommandSyntaxError(ValueError):
    """The argument of a command does not match its grammar; `reason` is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PathTooLongError(CommandSyntaxError):
    """A path, local part or domain exceeds the RFC 5321 §4.5.3.1 limits."""


@dataclass(frozen=True)
class Command:
    """One command line split into its verb and its raw argument."""

    verb: str  # upper-case; "" when the line does not start with an alphabetic word
    argument: bytes  # everything after the first SP, trailing white space removed
    has_argument: bool


_VERB: Final = re.compile(rb"[A-Za-z]{1,16}")


def split_command(line: bytes) -> Command:
    """Split a command line (without CRLF) into verb and argument.

    RFC 5321 §4.1.1: the verb is alphabetic and ends at SP or CRLF; verbs are
    case-insensitive (§2.4); trailing white space before CRLF SHOULD be tolerated.
    """
    line = line.rstrip(b" \t")
    head, sep, argument = line.partition(b" ")
    verb = head.decode("ascii").upper() if _VERB.fullmatch(head) else ""
    return Command(verb, argument, bool(sep))


# --- addresses: RFC 5321 §4.1.2 with RFC 6531 §3.3 UTF-8 extensions ------------------

_U: Final = "\u0080-\U0010ffff"  # UTF8-non-ascii once decoded (RFC 6531 §3.3)
_ATEXT: Final = rf"[A-Za-z0-9!#$%&'*+\-/=?^_`{{|}}~{_U}]"
_DOT_STRING: Final = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_QUOTED_STRING: Final = rf'"(?:[\x20\x21\x23-\x5b\x5d-\x7e{_U}]|\\[\x20-\x7e])*"'
_LET_DIG: Final = rf"[A-Za-z0-9{_U}]"
_LABEL: Final = rf"{_LET_DIG}(?:[A-Za-z0-9\-{_U}]*{_LET_DIG})?"
_DOMAIN: Final = rf"{_LABEL}(?:\.{_LABEL})*"
_LITERAL: Final = r"\[[^\[\]\\\s]*\]"
_MAILBOX: Final = rf"(?P<local>{_DOT_STRING}|{_QUOTED_STRING})@(?P<domain>{_DOMAIN}|{_LITERAL})"
_ADL: Final = rf"@{_DOMAIN}(?:,@{_DOMAIN})*"

_PATH_RE: Final = re.compile(rf"<(?:(?P<adl>{_ADL}):)?{_MAILBOX}>")
# fault smtp.domain-underscore-accepted: labels as lax servers parse them, "_" allowed
_LAX_LABEL: Final = rf"[A-Za-z0-9_{_U}](?:[A-Za-z0-9_\-{_U}]*[A-Za-z0-9_{_U}])?"
_LAX_DOMAIN: Final = rf"{_LAX_LABEL}(?:\.{_LAX_LABEL})*"
_LAX_PATH_RE: Final = re.compile(
    rf"<(?:(?P<adl>{_ADL}):)?(?P<local>{_DOT_STRING}|{_QUOTED_STRING})@(?P<domain>{_LAX_DOMAIN}|{_LITERAL})>"
)
_NULL_PATH_RE: Final = re.compile(r"<>")
_POSTMASTER_RE: Final = re.compile(r"<(?P<local>postmaster)>", re.IGNORECASE)
_DOMAIN_RE: Final = re.compile(_DOMAIN)
_ASCII_DOMAIN_RE: Final = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)
_LOCAL_RE: Final = re.compile(rf"{_DOT_STRING}|{_QUOTED_STRING}")
_ATOM_ONLY_RE: Final = re.compile(rf"{_DOT_STRING}")
_SNUM_LITERAL: Final = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})")
_IPV6_CHARS: Final = re.compile(r"[0-9A-Fa-f:.]+")
_GENERAL_LITERAL: Final = re.compile(r"[A-Za-z0-9-]*[A-Za-z0-9]:[\x21-\x5a\x5e-\x7e]+")


def _unquote(local_part: str) -> str:
    """The value of a local part: quotes and quoted-pair backslashes removed (§4.1.2)."""
    if not local_part.startswith('"'):
        return local_part
    return re.sub(r"\\(.)", r"\1", local_part[1:-1])


def quote_local_part(value: str) -> str:
    """The minimally quoted wire form of a local part value (§4.1.2 'minimum quoting')."""
    if _ATOM_ONLY_RE.fullmatch(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def check_address_literal(literal: str, *, ipv6: bool = True) -> None:
    """Validate "[...]" per RFC 5321 §4.1.3 (IPv4, IPv6 and general forms)."""
    inner = literal[1:-1]
    if not ipv6 and inner.lower().startswith("ipv6:"):
        raise CommandSyntaxError("invalid address literal")
    if match := _SNUM_LITERAL.fullmatch(inner):
        if any(int(snum) > 255 for snum in match.groups()):
            raise CommandSyntaxError("IPv4 address literal out of range")
        return
    tag, sep, rest = inner.partition(":")
    if sep and tag.lower() == "ipv6":
        if not _IPV6_CHARS.fullmatch(rest):
            raise CommandSyntaxError("invalid IPv6 address literal")
        try:
            ipaddress.IPv6Address(rest)
        except ValueError:
            raise CommandSyntaxError("invalid IPv6 address literal") from None
        return
    if not _GENERAL_LITERAL.fullmatch(inner):
        raise CommandSyntaxError("invalid address literal")


@dataclass(frozen=True)
class Mailbox:
    """local-part@domain; `local_part` is the unquoted value, `domain` as sent.

    A domain of "" stands for the bare "<Postmaster>" form of RCPT (§4.1.1.3).
    """

    local_part: str
    domain: str

    @property
    def is_literal(self) -> bool:
        return self.domain.startswith("[")

    @property
    def needs_smtputf8(self) -> bool:
        return not (self.local_part.isascii() and self.domain.isascii())

    def __str__(self) -> str:
        local = quote_local_part(self.local_part)
        return f"{local}@{self.domain}" if self.domain else local


@dataclass(frozen=True)
class Path:
    """A reverse- or forward-path; `mailbox` is None for the null reverse-path "<>"."""

    mailbox: Mailbox | None
    source_route: tuple[str, ...] = ()

    @property
    def needs_smtputf8(self) -> bool:
        return self.mailbox is not None and self.mailbox.needs_smtputf8

    def __str__(self) -> str:
        """The path as it goes into Return-Path: (source route dropped, §4.1.1.3)."""
        return f"<{self.mailbox}>" if self.mailbox is not None else "<>"


@dataclass(frozen=True)
class Parameter:
    """One esmtp-param: keyword upper-cased (keywords are case-insensitive), raw value."""

    keyword: str
    value: str | None


_PARAM_RE: Final = re.compile(rf"(?P<key>[A-Za-z0-9][A-Za-z0-9-]*)(?:=(?P<value>[\x21-\x3c\x3e-\x7e{_U}]+))?")


_CONTROL_RE: Final = re.compile(r"[\x00-\x1f\x7f]")


def _decode(argument: bytes) -> str:
    try:
        text = argument.decode("utf-8")
    except UnicodeDecodeError:
        raise CommandSyntaxError("argument is not valid UTF-8") from None
    if _CONTROL_RE.search(text):
        raise CommandSyntaxError("control characters are not allowed")  # §4.1.2: MUST NOT be used
    return text


def _check_lengths(raw_path: str, mailbox: Mailbox, raw_local: str, slack: int = 0) -> None:
    if len(raw_path.encode("utf-8")) > PATH_MAX - slack:
        raise PathTooLongError("Path too long")
    if len(raw_local.encode("utf-8")) > LOCAL_PART_MAX - slack:
        raise PathTooLongError("Local part too long")
    if len(mailbox.domain.encode("utf-8")) > DOMAIN_MAX - slack:
        raise PathTooLongError("Domain too long")


def _parse_path(
    text: str,
    *,
    allow_null: bool,
    allow_postmaster: bool,
    ipv6: bool = True,
    underscore: bool = False,
    slack: int = 0,
) -> tuple[Path, str]:
    """Parse a path at the start of `text`; return it and the unparsed rest."""
    if allow_null and (match := _NULL_PATH_RE.match(text)):
        return Path(None), text[match.end() :]
    if allow_postmaster and (match := _POSTMASTER_RE.match(text)):
        return Path(Mailbox(match["local"], "")), text[match.end() :]
    match = (_LAX_PATH_RE if underscore else _PATH_RE).match(text)
    if match is None:
        end = text.find(">")
        if end >= 0 and len(text[: end + 1].encode("utf-8")) > PATH_MAX:
            raise PathTooLongError("Path too long")
        raise CommandSyntaxError("Bad address syntax")
    domain = match["domain"]
    if domain.startswith("["):
        check_address_literal(domain, ipv6=ipv6)
    mailbox = Mailbox(_unquote(match["local"]), domain)
    _check_lengths(match[0], mailbox, match["local"], slack)
    route = tuple(hop[1:] for hop in match["adl"].split(",")) if match["adl"] else ()
    if any(len(hop.encode("utf-8")) > DOMAIN_MAX for hop in route):
        raise PathTooLongError("Domain too long")
    return Path(mailbox, route), text[match.end() :]


def parse_parameters(text: str) -> tuple[Parameter, ...]:
    """esmtp-param *(SP esmtp-param) (RFC 5321 §4.1.2)."""
    params = []
    for word in text.split(" "):
        match = _PARAM_RE.fullmatch(word)
        if match is None:
            raise CommandSyntaxError("Bad parameter syntax")
        params.append(Parameter(match["key"].upper(), match["value"]))
    return tuple(params)


def _path_argument(
    argument: bytes,
    prefix: bytes,
    *,
    allow_null: bool,
    allow_postmaster: bool,
    ipv6: bool = True,
    underscore: bool = False,
    slack: int = 0,
) -> tuple[Path, tuple[Parameter, ...]]:
    if argument[: len(prefix)].upper() != prefix:
        raise CommandSyntaxError(f"Syntax: {prefix.decode()}<address> [parameters]")
    text = _decode(argument[len(prefix) :])
    path, rest = _parse_path(
        text,
        allow_null=allow_null,
        allow_postmaster=allow_postmaster,
        ipv6=ipv6,
        underscore=underscore,
        slack=slack,
    )
    if not rest:
        return path, ()
    if not rest.startswith(" ") or len(rest) == 1:
        raise CommandSyntaxError("Bad address syntax")
    return path, parse_parameters(rest[1:])


def parse_mail_argument(
    argument: bytes, *, ipv6: bool = True, underscore: bool = False, limit_slack: int = 0
) -> tuple[Path, tuple[Parameter, ...]]:
    """'FROM:' Reverse-path [SP Mail-parameters] (§4.1.1.2); no spaces around the colon (§3.3).

    The keyword flags exist for faults: `ipv6=False` refuses IPv6 literals, `underscore`
    admits '_' in domain labels, `limit_slack` lowers the §4.5.3.1 length limits.
    """
    return _path_argument(
        argument,
        b"FROM:",
        allow_null=True,
        allow_postmaster=False,
        ipv6=ipv6,
        underscore=underscore,
        slack=limit_slack,
    )


def parse_rcpt_argument(
    argument: bytes, *, ipv6: bool = True, underscore: bool = False, limit_slack: int = 0
) -> tuple[Path, tuple[Parameter, ...]]:
    """'TO:' ( "<Postmaster>" / Forward-path ) [SP Rcpt-parameters] (§4.1.1.3); flags as for MAIL."""
    return _path_argument(
        argument,
        b"TO:",
        allow_null=False,
        allow_postmaster=True,
        ipv6=ipv6,
        underscore=underscore,
        slack=limit_slack,
    )


def parse_ehlo_argument(argument: bytes, *, allow_literal: bool = True, ipv6: bool = True, limit_slack: int = 0) -> str:
    """Domain / address-literal (§4.1.1.1); ASCII only (RFC 6531 §3.7.1).

    Text after an address literal is tolerated: §4.1.1.1 asks servers to be prepared for
    the identifying information that RFC 2821 encouraged clients to append.
    """
    if not argument or not argument.isascii():
        raise CommandSyntaxError("Domain name or address literal required")
    text = _decode(argument)
    if text.startswith("[") and allow_literal:
        literal = text.split(" ", 1)[0]
        if not literal.endswith("]"):
            raise CommandSyntaxError("Invalid address literal")
        check_address_literal(literal, ipv6=ipv6)
        return literal
    if not _ASCII_DOMAIN_RE.fullmatch(text):
        raise CommandSyntaxError("Invalid domain name")
    if len(text) > DOMAIN_MAX - limit_slack:
        raise PathTooLongError("Domain too long")
    return text


@dataclass(frozen=True)
class MailOptions:
    """The MAIL parameters this server implements, checked against their RFCs."""

    size: int | None = None  # RFC 1870 declared size
    body: str = "7BIT"  # RFC 6152 / RFC 3030: 7BIT, 8BITMIME or BINARYMIME
    smtputf8: bool = False  # RFC 6531 §3.4
    auth: str | None = None  # RFC 4954 §5: decoded xtext ("<>" or a mailbox), logged only


class UnknownParameterError(CommandSyntaxError):
    """A parameter this server does not implement: 555 (RFC 5321 §4.1.1.11)."""


_XTEXT_RE: Final = re.compile(r"(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-F]{2})*")
_BODY_VALUES: Final = frozenset({"7BIT", "8BITMIME", "BINARYMIME"})


def decode_xtext(value: str) -> str:
    """RFC 3461 §4 xtext, as used by AUTH= (RFC 4954 §8); hex digits are upper case."""
    if not _XTEXT_RE.fullmatch(value):
        raise CommandSyntaxError("Invalid xtext")
    return re.sub(r"\+([0-9A-F]{2})", lambda m: chr(int(m[1], 16)), value)


def mail_options(params: tuple[Parameter, ...]) -> MailOptions:
    """Interpret MAIL parameters; duplicates and bad values raise, unknown ones raise 555."""
    seen: set[str] = set()
    size: int | None = None
    body = "7BIT"
    smtputf8 = False
    auth: str | None = None
    for param in params:
        if param.keyword in seen:
            raise CommandSyntaxError(f"Duplicate {param.keyword} parameter")
        seen.add(param.keyword)
        value = param.value
        if param.keyword == "SIZE":
            if value is None or not value.isascii() or not value.isdigit() or len(value) > SIZE_VALUE_DIGITS_MAX:
                raise CommandSyntaxError("SIZE needs a decimal value (RFC 1870)")
            size = int(value)
        elif param.keyword == "BODY":
            if value is None or value.upper() not in _BODY_VALUES:
                raise CommandSyntaxError("BODY must be 7BIT, 8BITMIME or BINARYMIME")
            body = value.upper()
        elif param.keyword == "SMTPUTF8":
            if value is not None:
                raise CommandSyntaxError("SMTPUTF8 takes no value (RFC 6531 §3.4)")
            smtputf8 = True
        elif param.keyword == "AUTH":
            if value is None:
                raise CommandSyntaxError("AUTH needs a value (RFC 4954 §5)")
            auth = decode_xtext(value)
            if auth != "<>" and "@" not in auth:
                raise CommandSyntaxError("AUTH must be <> or a mailbox (RFC 4954 §5)")
        else:
            raise UnknownParameterError(f"Parameter {param.keyword} not supported")
    return MailOptions(size, body, smtputf8, auth)


def check_rcpt_parameters(params: tuple[Parameter, ...]) -> None:
    """This server implements no RCPT parameters (no DSN): any one is 555."""
    if params:
        raise UnknownParameterError(f"Parameter {params[0].keyword} not supported")


@dataclass(frozen=True)
class VerifyTarget:
    """The argument of VRFY/EXPN: a user name, or local-part@domain (RFC 5321 §3.5.1)."""

    local_part: str
    domain: str | None
    smtputf8: bool  # RFC 6531 §3.7.4.2 parameter


def parse_verify_argument(argument: bytes) -> VerifyTarget:
    """String [SP "SMTPUTF8"] where String may also be local@domain or <local@domain>."""
    text = _decode(argument)
    smtputf8 = False
    if text.upper().endswith(" SMTPUTF8"):
        text, smtputf8 = text[: -len(" SMTPUTF8")], True
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    if not text:
        raise CommandSyntaxError("User name or mailbox required")
    local, at, domain = text.rpartition("@")
    if not at:
        local, domain = text, ""
    if not _LOCAL_RE.fullmatch(local):
        raise CommandSyntaxError("Bad user name syntax")
    if at:
        if domain.startswith("["):
            check_address_literal(domain)
        elif not _DOMAIN_RE.fullmatch(domain):
            raise CommandSyntaxError("Bad domain syntax")
    return VerifyTarget(_unquote(local), domain if at else None, smtputf8)


_MECHANISM_RE: Final = re.compile(rb"[A-Za-z0-9_-]{1,%d}" % SASL_MECHANISM_MAX)


def parse_auth_argument(argument: bytes) -> tuple[str, bytes | None]:
    """sasl-mech [SP initial-response] (RFC 4954 §4); the mechanism is upper-cased."""
    mechanism, sep, initial = argument.partition(b" ")
    if not _MECHANISM_RE.fullmatch(mechanism) or (sep and not initial) or b" " in initial:
        raise CommandSyntaxError("Syntax: AUTH mechanism [initial-response]")
    return mechanism.decode("ascii").upper(), initial if sep else None


_BDAT_RE: Final = re.compile(rb"(\d{1,%d})(?: ([Ll][Aa][Ss][Tt]))?" % BDAT_SIZE_DIGITS_MAX)


def parse_bdat_argument(argument: bytes) -> tuple[int, bool]:
    """chunk-size [SP end-marker] (RFC 3030 §2); returns (size, is_last)."""
    match = _BDAT_RE.fullmatch(argument)
    if match is None:
        raise CommandSyntaxError("Syntax: BDAT chunk-size [LAST]")
    return int(match[1]), match[2] is not None
