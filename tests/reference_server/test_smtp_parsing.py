"""SMTP command and argument parsing against the RFC 5321 §4.1 grammar."""

from __future__ import annotations

import pytest

from reference_server.smtp.parsing import (
    CommandSyntaxError,
    Mailbox,
    MailOptions,
    Parameter,
    Path,
    PathTooLongError,
    UnknownParameterError,
    check_rcpt_parameters,
    decode_xtext,
    mail_options,
    parse_auth_argument,
    parse_bdat_argument,
    parse_ehlo_argument,
    parse_mail_argument,
    parse_rcpt_argument,
    parse_verify_argument,
    quote_local_part,
    split_command,
)

# --- command lines (§4.1.1) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "verb", "argument", "has_argument"),
    [
        (b"EHLO client.example.org", "EHLO", b"client.example.org", True),
        (b"ehlo client.example.org", "EHLO", b"client.example.org", True),  # §2.4: verbs case-insensitive
        (b"DATA", "DATA", b"", False),
        (b"QUIT  \t", "QUIT", b"", False),  # §4.1.1: trailing white space SHOULD be tolerated
        (b"MAIL FROM:<a@b.example>", "MAIL", b"FROM:<a@b.example>", True),
        (b"NOOP some text here", "NOOP", b"some text here", True),
        (b"", "", b"", False),
        (b"\x00\xffGARBAGE", "", b"", False),
        (b"MAIL\tFROM:<a@b>", "", b"", False),  # the verb ends at SP only
        (b"X-PRIVATE arg", "", b"arg", True),  # not alphabetic: not a verb we can know
    ],
)
def test_split_command(line: bytes, verb: str, argument: bytes, has_argument: bool) -> None:
    command = split_command(line)
    assert command.verb == verb
    if verb:
        assert command.argument == argument
        assert command.has_argument is has_argument


# --- paths (§4.1.2) ----------------------------------------------------------------------


def test_null_reverse_path() -> None:
    path, params = parse_mail_argument(b"FROM:<>")
    assert path == Path(None) and params == ()
    assert str(path) == "<>"


def test_from_keyword_is_case_insensitive() -> None:
    path, _ = parse_mail_argument(b"from:<user@example.org>")
    assert path.mailbox == Mailbox("user", "example.org")


@pytest.mark.parametrize(
    "argument",
    [
        b"FROM: <user@example.org>",  # §3.3: no space after the colon
        b"FROM :<user@example.org>",
        b"FROM:user@example.org",  # §4.1.2: Path = "<" ... ">"
        b"FROM:<user@example.org",
        b"FROM:<user>",  # Mailbox needs "@" domain
        b"FROM:<@example.org>",
        b"FROM:<user@>",
        b"FROM:<user@-example.org>",  # sub-domain starts with Let-dig
        b"FROM:<user@example-.org>",  # Ldh-str ends with Let-dig
        b"FROM:<user@exa_mple.org>",  # §4.1.2: the underscore is not permitted
        b"FROM:<user@example..org>",
        b"FROM:<us..er@example.org>",  # Dot-string: no empty atoms
        b"FROM:<.user@example.org>",
        b"FROM:<us er@example.org>",
        b'FROM:<"unterminated@example.org>',
        b"FROM:<user@example.org>  SIZE=10",  # one SP between parameters
        b"FROM:<user@example.org>SIZE=10",
        b"FROM:<user\x01@example.org>",  # control characters
        b"TO:<user@example.org>",
    ],
)
def test_invalid_reverse_paths(argument: bytes) -> None:
    with pytest.raises(CommandSyntaxError):
        parse_mail_argument(argument)


@pytest.mark.parametrize(
    ("argument", "local", "domain"),
    [
        (b"TO:<user@example.org>", "user", "example.org"),
        (b"TO:<first.last+tag@sub.example.org>", "first.last+tag", "sub.example.org"),
        (b"TO:<!#$%&'*+-/=?^_`{|}~@example.org>", "!#$%&'*+-/=?^_`{|}~", "example.org"),  # atext
        (b'TO:<"john doe"@example.org>', "john doe", "example.org"),  # Quoted-string
        (b'TO:<"Joe\\,Smith"@example.org>', "Joe,Smith", "example.org"),  # §4.1.2 example
        (b'TO:<"a\\"b"@example.org>', 'a"b', "example.org"),
        (b'TO:<""@example.org>', "", "example.org"),
        (b"TO:<user@[192.0.2.1]>", "user", "[192.0.2.1]"),  # §4.1.3 IPv4 literal
        (b"TO:<user@[IPv6:2001:db8::1]>", "user", "[IPv6:2001:db8::1]"),
        (b"TO:<user@[IPv6:::ffff:192.0.2.1]>", "user", "[IPv6:::ffff:192.0.2.1]"),
        (b"TO:<user@[x-tag:some-thing]>", "user", "[x-tag:some-thing]"),  # General-address-literal
        (b"TO:<user@1example.org>", "user", "1example.org"),
    ],
)
def test_valid_forward_paths(argument: bytes, local: str, domain: str) -> None:
    path, params = parse_rcpt_argument(argument)
    assert path.mailbox == Mailbox(local, domain)
    assert params == ()


def test_source_route_is_accepted_and_kept_apart() -> None:
    """§4.1.2: A-d-l 'MUST BE accepted, SHOULD NOT be generated, and SHOULD be ignored'."""
    path, _ = parse_rcpt_argument(b"TO:<@hosta.int,@jkl.org:userc@d.bar.org>")
    assert path.source_route == ("hosta.int", "jkl.org")
    assert path.mailbox == Mailbox("userc", "d.bar.org")
    assert str(path) == "<userc@d.bar.org>"


@pytest.mark.parametrize(
    "argument",
    [
        b"TO:<@hosta.int:>",
        b"TO:<@hosta.int;user@example.org>",
        b"TO:<hosta.int:user@example.org>",
        b"TO:<user@[256.0.0.1]>",  # Snum is 0-255
        b"TO:<user@[1.2.3]>",
        b"TO:<user@[IPv6:2001:db8::zz]>",
        b"TO:<user@[IPv6:fe80::1%eth0]>",
        b"TO:<user@[:nothing]>",
        b"TO:<>",  # the null path is only a reverse-path
        b"TO:<user@example.org",
    ],
)
def test_invalid_forward_paths(argument: bytes) -> None:
    with pytest.raises(CommandSyntaxError):
        parse_rcpt_argument(argument)


@pytest.mark.parametrize("spelling", [b"Postmaster", b"postmaster", b"POSTMASTER"])
def test_bare_postmaster_recipient(spelling: bytes) -> None:
    """§4.1.1.3: "<Postmaster>" without a domain, case-insensitive."""
    path, _ = parse_rcpt_argument(b"TO:<" + spelling + b">")
    assert path.mailbox is not None
    assert path.mailbox.domain == ""
    assert path.mailbox.local_part.lower() == "postmaster"


def test_bare_local_part_is_not_a_path_except_postmaster() -> None:
    with pytest.raises(CommandSyntaxError):
        parse_rcpt_argument(b"TO:<alice>")


def test_length_limits() -> None:
    """§4.5.3.1.1-3: local part 64, domain 255, path 256 octets."""
    local = b"a" * 64
    domain = b".".join([b"d" * 60] * 3)  # 182 octets
    parse_rcpt_argument(b"TO:<" + local + b"@" + domain + b">")
    with pytest.raises(PathTooLongError, match="Local part"):
        parse_rcpt_argument(b"TO:<" + b"a" * 65 + b"@example.org>")
    long_domain = b".".join([b"d" * 63] * 4)  # 255 octets
    assert len(long_domain) == 255
    with pytest.raises(PathTooLongError, match="Path"):  # 1 + 1 + 1 + 255 + 1 = 259 > 256
        parse_rcpt_argument(b"TO:<a@" + long_domain + b">")
    exactly = b"<" + b"a" * 64 + b"@" + b".".join([b"d" * 63, b"d" * 63, b"d" * 61]) + b">"
    assert len(exactly) == 256
    parse_rcpt_argument(b"TO:" + exactly)
    with pytest.raises(PathTooLongError):
        parse_rcpt_argument(b"TO:" + exactly[:-1] + b"x>")


def test_utf8_addresses_are_parsed_and_flagged() -> None:
    """RFC 6531 §3.3: UTF-8 in atext, qtext and U-labels; the session decides if allowed."""
    path, params = parse_mail_argument("FROM:<用户@例子.广告> SMTPUTF8".encode())
    assert path.mailbox == Mailbox("用户", "例子.广告")
    assert path.needs_smtputf8
    assert params == (Parameter("SMTPUTF8", None),)
    ascii_path, _ = parse_mail_argument(b"FROM:<user@example.org>")
    assert not ascii_path.needs_smtputf8


def test_invalid_utf8_is_a_syntax_error() -> None:
    with pytest.raises(CommandSyntaxError):
        parse_mail_argument(b"FROM:<\xff\xfe@example.org>")


def test_parameters_are_split_and_keywords_upper_cased() -> None:
    path, params = parse_mail_argument(b"FROM:<a@example.org> size=100 BODY=8BITMIME smtputf8")
    assert params == (Parameter("SIZE", "100"), Parameter("BODY", "8BITMIME"), Parameter("SMTPUTF8", None))
    assert path.mailbox == Mailbox("a", "example.org")


@pytest.mark.parametrize("bad", [b"=x", b"-KEY=1", b"KEY=", b"KEY=a=b", b"K_EY=1"])
def test_bad_parameter_syntax(bad: bytes) -> None:
    """esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"); esmtp-value excludes "=" and SP."""
    with pytest.raises(CommandSyntaxError):
        parse_mail_argument(b"FROM:<a@example.org> " + bad)


def test_quoted_local_part_with_space_does_not_split_parameters() -> None:
    path, params = parse_mail_argument(b'FROM:<"a b"@example.org> SIZE=5')
    assert path.mailbox == Mailbox("a b", "example.org")
    assert params == (Parameter("SIZE", "5"),)


def test_minimal_quoting_round_trip() -> None:
    """§4.1.2: quoted forms are equivalent; send the minimum quoting."""
    assert quote_local_part("plain.user") == "plain.user"
    assert quote_local_part("john doe") == '"john doe"'
    assert quote_local_part('a"b\\c') == '"a\\"b\\\\c"'
    assert str(Mailbox("john doe", "example.org")) == '"john doe"@example.org'


# --- MAIL parameters (RFC 1870, 6152, 3030, 6531, 4954) --------------------------------------


def test_mail_options() -> None:
    options = mail_options((Parameter("SIZE", "1000"), Parameter("BODY", "binarymime"), Parameter("SMTPUTF8", None)))
    assert options == MailOptions(size=1000, body="BINARYMIME", smtputf8=True)
    assert mail_options(()) == MailOptions()


@pytest.mark.parametrize(
    "params",
    [
        (Parameter("SIZE", None),),
        (Parameter("SIZE", "12a"),),
        (Parameter("SIZE", "1" * 21),),  # RFC 1870: 1*20DIGIT
        (Parameter("SIZE", "1"), Parameter("SIZE", "2")),  # "Only one SIZE parameter"
        (Parameter("BODY", "9BIT"),),
        (Parameter("BODY", None),),
        (Parameter("SMTPUTF8", "yes"),),  # RFC 6531 §3.4: no value
        (Parameter("AUTH", None),),
        (Parameter("AUTH", "no-at-sign"),),
        (Parameter("AUTH", "bad+zz@example.org"),),
    ],
)
def test_mail_options_errors(params: tuple[Parameter, ...]) -> None:
    with pytest.raises(CommandSyntaxError) as raised:
        mail_options(params)
    assert not isinstance(raised.value, UnknownParameterError)


def test_unknown_parameters_are_555_material() -> None:
    """§4.1.1.11: parameters not recognized or not implemented get 555."""
    with pytest.raises(UnknownParameterError):
        mail_options((Parameter("RET", "FULL"),))
    with pytest.raises(UnknownParameterError):
        check_rcpt_parameters((Parameter("NOTIFY", "NEVER"),))
    check_rcpt_parameters(())


def test_xtext() -> None:
    """RFC 4954 §5.1 example: AUTH=e+3Dmc2@example.com."""
    assert decode_xtext("e+3Dmc2@example.com") == "e=mc2@example.com"
    assert decode_xtext("<>") == "<>"
    assert mail_options((Parameter("AUTH", "<>"),)).auth == "<>"


# --- EHLO, VRFY, AUTH, BDAT -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        (b"client.example.org", "client.example.org"),
        (b"localhost", "localhost"),
        (b"[192.0.2.7]", "[192.0.2.7]"),
        (b"[IPv6:::1]", "[IPv6:::1]"),
        (b"[192.0.2.7] (my client v1.0)", "[192.0.2.7]"),  # §4.1.1.1: be prepared for trailing info
    ],
)
def test_ehlo_argument(argument: bytes, expected: str) -> None:
    assert parse_ehlo_argument(argument) == expected


@pytest.mark.parametrize(
    "argument",
    [b"", b"bad_name.example", b"-lead.example", b"a..b", b"[300.1.1.1]", "例子.广告".encode(), b"two words"],
)
def test_bad_ehlo_argument(argument: bytes) -> None:
    with pytest.raises(CommandSyntaxError):
        parse_ehlo_argument(argument)


@pytest.mark.parametrize(
    ("argument", "local", "domain", "smtputf8"),
    [
        (b"alice", "alice", None, False),
        (b"alice@example.test", "alice", "example.test", False),
        (b"<alice@example.test>", "alice", "example.test", False),
        (b'"Alice Liddell"', "Alice Liddell", None, False),
        (b"alice SMTPUTF8", "alice", None, True),  # RFC 6531 §3.7.4.2
    ],
)
def test_verify_argument(argument: bytes, local: str, domain: str | None, smtputf8: bool) -> None:
    target = parse_verify_argument(argument)
    assert (target.local_part, target.domain, target.smtputf8) == (local, domain, smtputf8)


@pytest.mark.parametrize("argument", [b"", b"two words", b"a@b@", b"<>"])
def test_bad_verify_argument(argument: bytes) -> None:
    with pytest.raises(CommandSyntaxError):
        parse_verify_argument(argument)


def test_auth_argument() -> None:
    assert parse_auth_argument(b"plain") == ("PLAIN", None)
    assert parse_auth_argument(b"PLAIN dGVzdAB0ZXN0ADEyMzQ=") == ("PLAIN", b"dGVzdAB0ZXN0ADEyMzQ=")
    assert parse_auth_argument(b"PLAIN =") == ("PLAIN", b"=")
    for bad in (b"", b"PLAIN ", b"PLAIN a b", b"PL@IN", b"X" * 21):
        with pytest.raises(CommandSyntaxError):
            parse_auth_argument(bad)


def test_bdat_argument() -> None:
    """RFC 3030 §2: bdat-cmd ::= "BDAT" SP chunk-size [ SP end-marker ]."""
    assert parse_bdat_argument(b"1024") == (1024, False)
    assert parse_bdat_argument(b"0 LAST") == (0, True)
    assert parse_bdat_argument(b"7 last") == (7, True)
    for bad in (b"", b"-1", b"12 FIRST", b"LAST", b"1 LAST x", b"9" * 21):
        with pytest.raises(CommandSyntaxError):
            parse_bdat_argument(bad)


def test_limit_slack_refuses_paths_at_the_limits() -> None:
    """§4.5.3.1.1-3: a 64-octet local part and a 255-octet domain are within the limits."""
    local = b"FROM:<" + b"l" * 64 + b"@example.org>"
    domain = b".".join([b"d" * 63] * 4)[:255]
    assert parse_mail_argument(local)[0].mailbox is not None
    assert parse_ehlo_argument(domain) == domain.decode()
    with pytest.raises(PathTooLongError):
        parse_mail_argument(local, limit_slack=1)
    with pytest.raises(PathTooLongError):
        parse_ehlo_argument(domain, limit_slack=1)
