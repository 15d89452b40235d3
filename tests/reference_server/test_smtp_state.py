"""The SMTP session state machine: every reply decision, checked without sockets.

Expected codes come from RFC 5321 §4.1-§4.3 (the §4.3.2 table) and the extension RFCs
named in each test, not from the implementation.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Final

import pytest

from reference_server.effects import Close, StartTls
from reference_server.faults import Faults
from reference_server.smtp import replies
from reference_server.smtp.data import Defect
from reference_server.smtp.parsing import Mailbox, MailOptions, Path
from reference_server.smtp.state import (
    CheckCredentials,
    Deliver,
    Envelope,
    Outcome,
    Phase,
    ReceiveChunk,
    ReceiveData,
    Recipient,
    SessionSettings,
    SmtpSession,
    trace_prefix,
)
from tests.reference_server.smtp_support import make_accounts

ACCOUNTS: Final = make_accounts()
HOST: Final = "mail.example.test"


def new_session(*, tls: bool = False, faults: tuple[str, ...] = (), **settings: Any) -> SmtpSession:
    settings.setdefault("tls_available", True)
    settings.setdefault("max_message_size", 10_000)
    session = SmtpSession(
        SessionSettings(hostname=HOST, faults=Faults.of(faults), **settings), ACCOUNTS, tls_active=tls
    )
    assert session.greet().replies[0].code == 220
    return session


def send(session: SmtpSession, line: str | bytes) -> Outcome:
    return session.handle_line(line.encode() if isinstance(line, str) else line)


def codes(outcome: Outcome) -> list[int]:
    return [reply.code for reply in outcome.replies]


def code(session: SmtpSession, line: str | bytes) -> int:
    replies_ = codes(send(session, line))
    assert len(replies_) == 1, f"§4.2: every command MUST generate exactly one reply, got {replies_}"
    return replies_[0]


def greeted(**kwargs: Any) -> SmtpSession:
    session = new_session(**kwargs)
    assert code(session, "EHLO client.example.org") == 250
    return session


def in_transaction(**kwargs: Any) -> SmtpSession:
    session = greeted(**kwargs)
    assert code(session, "MAIL FROM:<sender@example.org>") == 250
    assert code(session, "RCPT TO:<alice@example.test>") == 250
    return session


def ehlo_keywords(session: SmtpSession) -> list[str]:
    outcome = send(session, "EHLO client.example.org")
    assert codes(outcome) == [250]
    return [line.split(" ")[0].upper() for line in outcome.replies[0].lines[1:]]


def authenticate(session: SmtpSession, login: str = "alice") -> None:
    outcome = send(session, "AUTH PLAIN " + base64.b64encode(f"\0{login}\0pw".encode()).decode())
    assert isinstance(outcome.effect, CheckCredentials)
    assert codes(session.credentials_checked(ACCOUNTS.by_login(login))) == [235]


# --- greeting, EHLO, HELO -------------------------------------------------------------------


def test_greeting_names_the_server_and_has_no_enhanced_code() -> None:
    """§4.3.1: 220 with the domain first; RFC 2034 §4: no status code on the greeting."""
    session = SmtpSession(SessionSettings(hostname=HOST), ACCOUNTS)
    greeting = session.greet().replies[0]
    assert greeting.code == 220 and greeting.enhanced is None
    assert greeting.lines[0].split(" ")[0] == HOST


def test_greeting_when_full_is_421_and_close() -> None:
    session = SmtpSession(SessionSettings(hostname=HOST), ACCOUNTS)
    outcome = session.greet(accepting=False)
    assert codes(outcome) == [421] and isinstance(outcome.effect, Close)


def test_ehlo_reply_lists_extensions_without_enhanced_codes() -> None:
    """§4.1.1.1 ehlo-ok-rsp; §4.1.1.1: keywords for every non-required command; RFC 2034 §4."""
    session = new_session()
    reply = send(session, "EHLO client.example.org").replies[0]
    assert reply.code == 250 and reply.enhanced is None
    assert reply.lines[0].split(" ")[0] == HOST
    keywords = [line.split(" ")[0] for line in reply.lines[1:]]
    for keyword in ("PIPELINING", "SIZE", "8BITMIME", "ENHANCEDSTATUSCODES", "CHUNKING", "SMTPUTF8", "HELP"):
        assert keyword in keywords
    assert "SIZE 10000" in reply.lines  # RFC 1870 §3 (3): the fixed maximum
    assert "STARTTLS" in keywords
    assert "AUTH" not in keywords  # RFC 4954 §4: no plaintext mechanism before TLS
    for line in reply.lines[1:]:
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*( [\x21-\x7e]+)*", line)  # ehlo-line


def test_size_zero_advertises_no_limit() -> None:
    assert "SIZE 0" in send(new_session(max_message_size=None), "EHLO x.example").replies[0].lines


def test_helo_gets_a_single_line() -> None:
    """§3.2: Servers MUST NOT return the extended EHLO-style response to a HELO command."""
    outcome = send(new_session(), "HELO client.example.org")
    assert codes(outcome) == [250] and len(outcome.replies[0].lines) == 1


@pytest.mark.parametrize("argument", ["", " ", "bad_host.example", "[999.0.0.1]"])
def test_bad_ehlo_is_501_and_state_is_unchanged(argument: str) -> None:
    """§4.1.4: 501 and the server MUST stay in the same state."""
    session = in_transaction()
    assert code(session, f"EHLO {argument}".rstrip()) == 501
    assert session.phase is Phase.RCPT
    assert code(session, "DATA") == 354


def test_ehlo_mid_transaction_resets() -> None:
    """§4.1.4: EHLO after the session begins MUST reset the state as RSET does."""
    session = in_transaction()
    assert code(session, "EHLO client.example.org") == 250
    assert code(session, "RCPT TO:<bob@example.test>") == 503


def test_address_literal_ehlo() -> None:
    session = new_session()
    assert code(session, "EHLO [192.0.2.1]") == 250
    assert session.helo == "[192.0.2.1]"


# --- order of commands (§4.1.4, §3.3) ----------------------------------------------------------


def test_mail_before_ehlo_is_503() -> None:
    assert code(new_session(), "MAIL FROM:<a@example.org>") == 503


def test_nested_mail_is_503() -> None:
    session = greeted()
    assert code(session, "MAIL FROM:<a@example.org>") == 250
    assert code(session, "MAIL FROM:<b@example.org>") == 503
    assert session.phase is Phase.MAIL


def test_rcpt_without_mail_is_503() -> None:
    """§3.3: If a RCPT command appears without a previous MAIL command, the server MUST return 503."""
    assert code(greeted(), "RCPT TO:<alice@example.test>") == 503


@pytest.mark.parametrize(
    ("setup", "expected"),
    [((), {503}), (("MAIL FROM:<a@example.org>",), {503, 554})],
)
def test_data_without_recipients(setup: tuple[str, ...], expected: set[int]) -> None:
    """§3.3: no MAIL or no valid RCPT: 503 or 554; never 354 (RFC 2920 §3.2 (3))."""
    session = greeted()
    for line in setup:
        assert code(session, line) == 250
    assert code(session, "DATA") in expected


def test_commands_without_parameters_reject_them() -> None:
    """§4.1.1 / §4.3.2: DATA, RSET and QUIT SHOULD return 501 if arguments are supplied."""
    session = in_transaction()
    for line in ("DATA now", "RSET all", "QUIT please"):
        assert code(session, line) == 501
    assert session.phase is Phase.RCPT


@pytest.mark.parametrize("verb", ["NOOP", "RSET", "HELP", "VRFY alice", "EXPN alice", "QUIT"])
def test_non_mail_commands_work_before_ehlo(verb: str) -> None:
    """§4.1.4: NOOP, HELP, EXPN, VRFY and RSET SHOULD work before EHLO (not 503)."""
    assert code(new_session(), verb) not in (500, 502, 503)


def test_unknown_and_unimplemented_commands() -> None:
    """§4.2.4: 500 for an unrecognized command, 502 for a recognized but unimplemented one."""
    session = greeted()
    assert code(session, "FROB") == 500
    assert code(session, "XFOO bar") == 500  # §4.1.5: private commands we do not know
    assert code(session, b"\x00\x01\xff\xfe") == 500
    assert code(session, "") == 500
    assert code(session, "TURN") == 502
    assert code(session, "NOOP") == 250  # the session goes on (§3.8)


def test_command_line_limit() -> None:
    """§4.5.3.1.4: 512 octets including CRLF; longer is 500, shorter never is (§4.3.2)."""
    session = greeted()
    assert code(session, "NOOP " + "x" * (512 - 2 - 5)) == 250
    assert code(session, "NOOP " + "x" * (512 - 2 - 4)) == 500
    assert session.line_limit >= 512 + 26 + 500 - 2  # MAIL may grow with SIZE and AUTH=
    assert codes(session.line_too_long()) == [500]


def test_mail_line_may_grow_with_parameters() -> None:
    """RFC 1870 §3 (5) and RFC 4954 §3 (5) lengthen the MAIL line."""
    session = greeted()
    line = "MAIL FROM:<a@example.org> SIZE=100 AUTH=" + "x" * 480 + "@example.org"
    assert len(line) + 2 > 512
    assert code(session, line) == 250


# --- MAIL and RCPT -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argument",
    ["FROM:<>", "FROM:<a@example.org>", 'FROM:<"odd local"@example.org>', "FROM:<a@[192.0.2.1]>"],
)
def test_reverse_paths_accepted(argument: str) -> None:
    assert code(greeted(), f"MAIL {argument}") == 250


@pytest.mark.parametrize(
    "argument", ["FROM: <a@example.org>", "FROM:a@example.org", "FROM:<a@bad_domain.org>", "TO:<a@example.org>"]
)
def test_bad_reverse_path_is_501(argument: str) -> None:
    """§4.1.4: an unacceptable MAIL argument gets 501; §4.1.2: invalid characters MUST get 501."""
    session = greeted()
    outcome = send(session, f"MAIL {argument}")
    assert codes(outcome) == [501]
    assert session.phase is Phase.GREETED


def test_source_routes_are_accepted_and_ignored() -> None:
    """§4.1.1.3: servers MUST recognize source routes and SHOULD ignore them."""
    session = greeted()
    assert code(session, "MAIL FROM:<@relay.example:a@example.org>") == 250
    assert code(session, "RCPT TO:<@hosta.int,@jkl.org:alice@example.test>") == 250


def test_path_too_long_is_501_or_553() -> None:
    """§4.5.3.1.3 / §4.5.3.1.9: '501 Path too long'."""
    session = greeted()
    assert code(session, "MAIL FROM:<" + "a" * 65 + "@example.org>") in (501, 553)


@pytest.mark.parametrize(
    ("recipient", "expected"),
    [
        ("alice@example.test", 250),
        ("ALICE@EXAMPLE.TEST", 250),  # domain case-insensitive; local part looked up likewise
        ('"alice"@example.test', 250),  # §4.1.2: all quoted forms MUST be treated as equivalent
        ("nobody@example.test", 550),  # §3.3: not a deliverable address
        ("alice@elsewhere.example", 550),  # no relaying (§3.6.2, §7.9)
        ("alice@[192.0.2.1]", 550),
        ("Postmaster", 250),  # §4.5.1
        ("postmaster@example.test", 250),
        ("POSTMASTER@Example.Test", 250),
    ],
)
def test_recipients(recipient: str, expected: int) -> None:
    session = greeted()
    assert code(session, "MAIL FROM:<a@example.org>") == 250
    assert code(session, f"RCPT TO:<{recipient}>") == expected


def test_unknown_user_and_relay_carry_their_enhanced_codes() -> None:
    session = greeted()
    send(session, "MAIL FROM:<a@example.org>")
    assert send(session, "RCPT TO:<nobody@example.test>").replies[0].enhanced == "5.1.1"
    assert send(session, "RCPT TO:<x@elsewhere.example>").replies[0].enhanced == "5.7.1"


def test_recipient_limit_is_452() -> None:
    """§4.5.3.1.8: at least 100 recipients; §4.5.3.1.10: then 452, keeping those accepted."""
    session = greeted()
    send(session, "MAIL FROM:<a@example.org>")
    for _ in range(100):
        assert code(session, "RCPT TO:<alice@example.test>") == 250
    assert code(session, "RCPT TO:<bob@example.test>") == 452
    assert code(session, "DATA") == 354


def test_parameters() -> None:
    session = greeted()
    assert code(session, "MAIL FROM:<a@example.org> SIZE=10000 BODY=8BITMIME") == 250
    session = greeted()
    assert code(session, "MAIL FROM:<a@example.org> SIZE=10001") == 552  # RFC 1870 §6.1 (2)
    assert send(session, "MAIL FROM:<a@example.org> SIZE=10001").replies[0].enhanced == "5.3.4"
    assert code(session, "MAIL FROM:<a@example.org> FROB=1") == 555  # §4.1.1.11
    assert code(session, "MAIL FROM:<a@example.org> SIZE=big") == 501
    assert code(session, "MAIL FROM:<a@example.org>") == 250
    assert code(session, "RCPT TO:<alice@example.test> NOTIFY=NEVER") == 555


def test_parameters_after_helo_are_not_negotiated() -> None:
    """Without EHLO no extension was offered, so its parameters are not recognized (555)."""
    session = new_session()
    assert code(session, "HELO client.example.org") == 250
    assert code(session, "MAIL FROM:<a@example.org> SIZE=10") == 555


def test_smtputf8_addresses_need_the_parameter() -> None:
    """RFC 6531 §3.5: 550 for MAIL, 553 for RCPT, with X.6.7."""
    session = greeted()
    outcome = send(session, "MAIL FROM:<δοκιμή@example.org>")
    assert codes(outcome) == [550] and outcome.replies[0].enhanced == "5.6.7"
    assert code(session, "MAIL FROM:<δοκιμή@example.org> SMTPUTF8") == 250
    assert code(session, "RCPT TO:<alice@example.test>") == 250
    session = greeted()
    assert code(session, "MAIL FROM:<a@example.org>") == 250
    assert code(session, "RCPT TO:<δοκιμή@example.test>") == 553


def test_binarymime_requires_bdat() -> None:
    """RFC 3030 §3: DATA after BODY=BINARYMIME MUST get 503."""
    session = greeted()
    send(session, "MAIL FROM:<a@example.org> BODY=BINARYMIME")
    send(session, "RCPT TO:<alice@example.test>")
    assert code(session, "DATA") == 503


# --- DATA ------------------------------------------------------------------------------------------


def test_data_success_path() -> None:
    session = in_transaction()
    assert code(session, "RCPT TO:<bob@example.test>") == 250
    outcome = send(session, "DATA")
    assert codes(outcome) == [354] and isinstance(outcome.effect, ReceiveData)
    assert outcome.effect.policy.max_size == 10_000
    assert outcome.replies[0].enhanced is None  # RFC 2034 §4: no code on 3xx
    deliver = session.data_finished(set(), stored=True)
    assert deliver.replies == () and isinstance(deliver.effect, Deliver)
    envelope = deliver.effect.envelope
    assert envelope.users == ("alice", "bob")
    assert str(envelope.reverse_path) == "<sender@example.org>"
    assert envelope.protocol == "ESMTP"
    assert codes(session.delivery_finished(True)) == [250]
    assert session.phase is Phase.GREETED
    assert code(session, "MAIL FROM:<again@example.org>") == 250  # a new transaction may start


def test_repeated_recipient_is_delivered_once() -> None:
    session = in_transaction()
    send(session, "RCPT TO:<ALICE@example.test>")
    send(session, "DATA")
    effect = session.data_finished(set(), True).effect
    assert isinstance(effect, Deliver) and effect.envelope.users == ("alice",)


@pytest.mark.parametrize(
    ("defects", "stored", "expected"),
    [
        ({Defect.TOO_BIG}, True, 552),  # RFC 1870 §6.3 / §4.5.3.1.9 "552 Too much mail data"
        ({Defect.LONG_LINE}, True, 500),  # §4.5.3.1.9 "500 Line too long"
        ({Defect.BARE_LF}, True, 550),
        ({Defect.BARE_CR}, True, 550),
        (set(), False, 451),  # §4.2.5: a 4yz when the message could not be stored
    ],
)
def test_data_refusals_come_after_the_data(defects: set[Defect], stored: bool, expected: int) -> None:
    session = in_transaction()
    send(session, "DATA")
    outcome = session.data_finished(defects, stored)
    assert codes(outcome) == [expected] and outcome.effect is None
    assert session.phase is Phase.GREETED  # §4.1.1.4: buffers cleared either way


def test_bare_newlines_accepted_by_policy() -> None:
    session = in_transaction(reject_bare_newlines=False)
    outcome = send(session, "DATA")
    assert isinstance(outcome.effect, ReceiveData) and not outcome.effect.policy.reject_bare_newlines
    assert isinstance(session.data_finished({Defect.BARE_LF}, True).effect, Deliver)


def test_failed_delivery_is_451() -> None:
    session = in_transaction()
    send(session, "DATA")
    session.data_finished(set(), True)
    assert codes(session.delivery_finished(False)) == [451]


def test_rset_clears_the_transaction() -> None:
    """§4.1.1.5: 250, buffers discarded."""
    session = in_transaction()
    assert code(session, "RSET") == 250
    assert code(session, "RCPT TO:<alice@example.test>") == 503
    assert code(session, "RSET") == 250 and not session.closed  # MUST NOT close


# --- other commands ------------------------------------------------------------------------------------


def test_noop_help_quit() -> None:
    session = new_session()
    assert code(session, "NOOP ignored text") == 250  # §4.1.1.9: parameter SHOULD be ignored
    help_reply = send(session, "HELP").replies[0]
    assert help_reply.code in (211, 214)
    assert code(session, "HELP mail") == 214
    assert code(session, "HELP FROBNICATE") == 504
    outcome = send(session, "QUIT")
    assert codes(outcome) == [221] and isinstance(outcome.effect, Close)  # §4.1.1.10
    assert session.closed


def test_vrfy_answers_only_what_it_verified() -> None:
    """§3.5.1/§3.5.2: 250 includes the mailbox in <local@domain>; §3.5.3: never 250 unverified."""
    session = new_session()
    reply = send(session, "VRFY alice").replies[0]
    assert reply.code == 250 and "<alice@example.test>" in reply.lines[0]
    assert code(session, "VRFY alice@example.test") == 250
    assert code(session, "VRFY <bob@example.test>") == 250
    assert code(session, "VRFY nobody") in (550, 551, 553)
    assert code(session, "VRFY nobody@elsewhere.example") in (550, 551, 553, 252)
    assert code(session, "VRFY") == 501


def test_vrfy_and_expn_refused_by_configuration() -> None:
    """§3.5.3: 252 when not verifying; EXPN 502, and then not listed in EHLO (§3.5.2)."""
    session = new_session(vrfy="refuse", expn="refuse")
    assert code(session, "VRFY alice") == 252
    assert code(session, "EXPN staff") == 502
    assert "EXPN" not in ehlo_keywords(session)
    assert "EXPN" in ehlo_keywords(new_session())


def test_seven_bit_only_server_offers_no_eight_bit_extension_and_refuses_their_parameters() -> None:
    """[smtp] eight_bit_mime = false: RFC 6152 §3's server "not including the EHLO keyword value
    8BITMIME"; SMTPUTF8 needs 8BITMIME (RFC 6531 §3.1 item 8); parameters of extensions not
    offered get 555 (RFC 5321 §4.1.1.11)."""
    session = greeted(eight_bit_mime=False)
    keywords = ehlo_keywords(session)
    assert not {"8BITMIME", "BINARYMIME", "SMTPUTF8"} & set(keywords)
    assert {"PIPELINING", "SIZE", "CHUNKING", "ENHANCEDSTATUSCODES"} <= set(keywords)
    assert code(session, "MAIL FROM:<sender@example.org> BODY=8BITMIME") == 555
    assert code(session, "MAIL FROM:<sender@example.org> BODY=7BIT") == 555
    assert code(session, "MAIL FROM:<sender@example.org> SMTPUTF8") == 555
    assert code(session, "MAIL FROM:<sender@example.org> SIZE=100") == 250
    assert {"8BITMIME", "BINARYMIME", "SMTPUTF8"} <= set(ehlo_keywords(new_session()))


# --- STARTTLS (RFC 3207) --------------------------------------------------------------------------------


def test_starttls_then_reset() -> None:
    session = in_transaction()
    assert code(session, "STARTTLS") == 503  # not in the middle of a transaction
    send(session, "RSET")
    outcome = send(session, "STARTTLS")
    assert codes(outcome) == [220] and isinstance(outcome.effect, StartTls)
    assert outcome.replies[0].enhanced == "2.0.0"  # not the greeting: RFC 2034 §4 applies
    session.tls_started()
    assert session.phase is Phase.CONNECTED and session.helo is None  # §4.2: forget the EHLO
    assert code(session, "MAIL FROM:<a@example.org>") == 503
    keywords = ehlo_keywords(session)
    assert "STARTTLS" not in keywords  # §4.2: MUST NOT be listed after the handshake
    assert "AUTH" in keywords
    assert code(session, "STARTTLS") == 503  # §4.2: a client MUST NOT start TLS twice


def test_starttls_errors() -> None:
    assert code(greeted(), "STARTTLS now") == 501  # RFC 3207 §4: no parameters
    assert code(new_session(), "STARTTLS") == 503  # extension not negotiated yet
    assert code(greeted(tls_available=False), "STARTTLS") in (502, 454)


# --- AUTH (RFC 4954, RFC 4616) ----------------------------------------------------------------------------


def test_auth_before_tls_is_refused() -> None:
    """RFC 4954 §4: plaintext mechanisms not permitted without TLS; §6: 538 5.7.11."""
    session = greeted()
    outcome = send(session, "AUTH PLAIN AGFsaWNlAGFsaWNlcHc=")
    assert codes(outcome) == [538] and outcome.replies[0].enhanced == "5.7.11"


def test_auth_allowed_without_tls_when_configured() -> None:
    session = greeted(auth_requires_tls=False)
    assert "AUTH" in ehlo_keywords(session)
    authenticate(session)


def test_auth_plain_with_initial_response() -> None:
    session = greeted(tls=True)
    outcome = send(session, "AUTH PLAIN " + base64.b64encode(b"\0alice\0secret").decode())
    assert outcome.replies == () and isinstance(outcome.effect, CheckCredentials)
    assert (outcome.effect.credentials.login, outcome.effect.credentials.password) == ("alice", "secret")
    assert "secret" not in repr(outcome)  # never in logs
    reply = session.credentials_checked(ACCOUNTS.by_login("alice")).replies[0]
    assert (reply.code, reply.enhanced) == (235, "2.7.0")
    assert code(session, "AUTH PLAIN " + base64.b64encode(b"\0alice\0x").decode()) == 503  # §4: once only


def test_auth_plain_without_initial_response() -> None:
    """RFC 4954 §4: an empty challenge is "334 " with nothing after the space."""
    session = greeted(tls=True)
    outcome = send(session, "AUTH PLAIN")
    assert codes(outcome) == [334]
    assert replies.render(outcome.replies[0]) == b"334 \r\n"
    assert session.in_sasl_exchange and session.line_limit >= 12288 - 2
    outcome = send(session, base64.b64encode(b"alice\0alice\0pw"))
    assert isinstance(outcome.effect, CheckCredentials) and outcome.effect.credentials.authzid == "alice"


def test_auth_login_prompts() -> None:
    session = greeted(tls=True)
    first = send(session, "AUTH LOGIN")
    assert first.replies[0].lines == (base64.b64encode(b"Username:").decode(),)
    second = send(session, base64.b64encode(b"alice"))
    assert second.replies[0].lines == (base64.b64encode(b"Password:").decode(),)
    third = send(session, base64.b64encode(b"alicepw"))
    assert isinstance(third.effect, CheckCredentials) and third.effect.credentials.login == "alice"


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["AUTH PLAIN", "*"], 501),  # §4: cancel MUST be 501
        (["AUTH PLAIN", "not base64!"], 501),  # §4: 501 with 5.5.2
        (["AUTH PLAIN", "AAA=BBB"], 501),  # '=' only at the end
        (["AUTH PLAIN =AAA"], 501),
        (["AUTH PLAIN ="], 501),  # present but empty: not a PLAIN message
        (["AUTH CRAM-MD5"], 504),  # §4: unsupported mechanism
        (["AUTH"], 501),
    ],
)
def test_auth_errors(lines: list[str], expected: int) -> None:
    session = greeted(tls=True)
    outcome = Outcome()
    for line in lines:
        outcome = send(session, line)
    assert codes(outcome) == [expected]
    assert not session.in_sasl_exchange


def test_bad_credentials_are_535() -> None:
    session = greeted(tls=True)
    send(session, "AUTH PLAIN " + base64.b64encode(b"\0alice\0wrong").decode())
    reply = session.credentials_checked(None).replies[0]
    assert (reply.code, reply.enhanced) == (535, "5.7.8")
    assert session.authenticated is None


def test_auth_in_transaction_is_503() -> None:
    """RFC 4954 §4: an AUTH command issued during a mail transaction MUST be rejected with 503."""
    assert code(in_transaction(tls=True), "AUTH PLAIN AGFsaWNlAGFsaWNlcHc=") == 503


def test_sasl_line_too_long_is_500_5_5_6() -> None:
    session = greeted(tls=True)
    send(session, "AUTH PLAIN")
    reply = session.line_too_long().replies[0]
    assert (reply.code, reply.enhanced) == (500, "5.5.6")
    assert not session.in_sasl_exchange


# --- submission (RFC 6409) -----------------------------------------------------------------------------------


def test_submission_requires_auth_before_mail() -> None:
    """RFC 6409 §4.3: MUST issue an error to MAIL without authentication; 530 (RFC 4954 §6)."""
    session = greeted(tls=True, submission=True)
    outcome = send(session, "MAIL FROM:<alice@example.test>")
    assert codes(outcome) == [530] and outcome.replies[0].enhanced == "5.7.0"
    authenticate(session)
    assert code(session, "MAIL FROM:<alice@example.test>") == 250
    assert code(session, "RCPT TO:<bob@example.test>") == 250
    send(session, "DATA")
    effect = session.data_finished(set(), True).effect
    assert isinstance(effect, Deliver) and effect.envelope.protocol == "ESMTPSA"  # RFC 4954 §7


def test_submission_requires_qualified_domains() -> None:
    """RFC 6409 §4.2: 554 for improper domain references."""
    session = greeted(tls=True, submission=True)
    authenticate(session)
    assert code(session, "MAIL FROM:<alice@localhost>") == 554
    assert code(session, "MAIL FROM:<alice@example.test>") == 250
    assert code(session, "RCPT TO:<bob@intranet>") == 554


# --- BDAT (RFC 3030) --------------------------------------------------------------------------------------------


def test_bdat_chunks_then_last() -> None:
    session = in_transaction()
    outcome = send(session, "BDAT 5")
    assert outcome.replies == () and outcome.effect == ReceiveChunk(5, False, keep=True, store_limit=10_000)
    assert codes(session.chunk_finished(5, True)) == [250]  # §2: a 250 to each successful chunk
    assert code(session, "DATA") == 503  # §2: DATA after BDAT in one transaction MUST be 503
    outcome = send(session, "BDAT 3 LAST")
    assert isinstance(outcome.effect, ReceiveChunk) and outcome.effect.store_limit == 10_000 - 5
    deliver = session.chunk_finished(3, True)
    assert isinstance(deliver.effect, Deliver)
    assert session.phase is Phase.GREETED


def test_bdat_without_transaction_reads_then_refuses() -> None:
    """RFC 3030 §2: accept and discard the chunk before sending the error."""
    session = greeted()
    outcome = send(session, "BDAT 10 LAST")
    assert outcome.replies == () and isinstance(outcome.effect, ReceiveChunk) and not outcome.effect.keep
    assert codes(session.chunk_finished(10, True)) == [503]
    send(session, "MAIL FROM:<a@example.org>")
    send(session, "BDAT 1")
    assert codes(session.chunk_finished(1, True))[0] in (503, 554)


def test_bdat_over_the_size_limit_fails_the_transaction() -> None:
    session = in_transaction(max_message_size=4000)
    send(session, "BDAT 5000")
    assert codes(session.chunk_finished(5000, True)) == [552]
    outcome = send(session, "BDAT 10 LAST")  # already pipelined: read, discard, refuse
    assert isinstance(outcome.effect, ReceiveChunk) and not outcome.effect.keep
    assert codes(session.chunk_finished(10, True)) == [503]
    assert code(session, "RSET") == 250
    assert code(session, "MAIL FROM:<a@example.org>") == 250


def test_bdat_needs_ehlo() -> None:
    """Not negotiated after HELO: the chunk is still read (so it cannot run as commands), then 503."""
    session = new_session()
    send(session, "HELO client.example.org")
    outcome = send(session, "BDAT 1 LAST")
    assert isinstance(outcome.effect, ReceiveChunk) and not outcome.effect.keep
    assert codes(session.chunk_finished(1, True)) == [503]


# --- the bad-command budget and closing -------------------------------------------------------------------------


def test_too_many_bad_commands_close_with_421() -> None:
    session = greeted(max_bad_commands=3)
    for _ in range(3):
        assert code(session, "FROB") == 500
    outcome = send(session, "FROB")
    assert codes(outcome) == [421] and isinstance(outcome.effect, Close)


def test_timeout_and_shutdown_are_421() -> None:
    """§3.8 / §4.5.3.2: 421 before closing."""
    for outcome in (greeted().timeout(), greeted().shutdown(), greeted().internal_error()):
        assert codes(outcome) == [421] and isinstance(outcome.effect, Close)
        assert outcome.replies[0].lines[0].startswith(HOST)


def test_pipelined_replies_may_be_buffered_only_for_mail_rcpt_rset() -> None:
    """RFC 2920 §3.2 (5)-(6): EHLO, DATA, VRFY, EXPN, QUIT, NOOP, unknown: never buffered."""
    session = new_session()
    assert send(session, "EHLO a.example").flush
    assert not send(session, "MAIL FROM:<a@example.org>").flush
    assert not send(session, "RCPT TO:<alice@example.test>").flush
    assert send(session, "NOOP").flush
    assert send(session, "FROB").flush
    assert send(session, "VRFY alice").flush
    assert not send(session, "RSET").flush


def test_every_reply_agrees_with_its_enhanced_code() -> None:
    """RFC 2034 §4: 2xx/4xx/5xx carry a status code of the same class (except greeting, EHLO)."""
    session = greeted(tls=True)
    script = [
        "NOOP",
        "MAIL FROM:<a@example.org>",
        "RCPT TO:<nobody@example.test>",
        "RCPT TO:<alice@example.test>",
        "FROB",
        "RSET",
        "VRFY alice",
        "HELP",
        "DATA",
        "QUIT",
    ]
    for line in script:
        for reply in send(session, line).replies:
            if reply.code >= 400 or reply.code in (211, 214, 221, 250, 252):
                assert reply.enhanced is not None and reply.enhanced[0] == str(reply.code)[0], line


# --- trace information (§4.4) ----------------------------------------------------------------------------------


def envelope(recipients: int = 1, helo: str | None = "client.example.org", ip: str = "192.0.2.5") -> Envelope:
    return Envelope(
        reverse_path=Path(Mailbox("sender", "example.org")),
        recipients=tuple(Recipient(Path(Mailbox(f"r{i}", "example.test")), f"r{i}") for i in range(recipients)),
        options=MailOptions(),
        helo=helo,
        peer_ip=ip,
        protocol="ESMTPS",
    )


NOW: Final = datetime(2024, 3, 1, 12, 30, 5, tzinfo=timezone(timedelta(hours=-8)))


def test_trace_prefix() -> None:
    text = trace_prefix(envelope(), HOST, NOW, "Q1").decode()
    return_path, received = text.split("\r\n", 1)
    assert return_path == "Return-Path: <sender@example.org>"  # §4.4 Return-path-line
    unfolded = re.sub(r"\r\n[ \t]+", " ", received).strip()
    assert unfolded == (
        "Received: from client.example.org ([192.0.2.5]) by mail.example.test with ESMTPS id Q1"
        " for <r0@example.test>; Fri, 01 Mar 2024 12:30:05 -0800"
    )
    assert all(len(line) <= 998 for line in text.split("\r\n"))


def test_trace_for_clause_only_with_one_recipient_and_ipv6_literal() -> None:
    """§4.4: FOR contains exactly one path; §7.2: do not copy all recipients into headers."""
    text = trace_prefix(envelope(recipients=2, helo=None, ip="2001:db8::5"), HOST, NOW, "Q2").decode()
    assert " for " not in text
    assert "from [IPv6:2001:db8::5] ([IPv6:2001:db8::5])" in text


def test_null_reverse_path_in_return_path() -> None:
    env = Envelope(Path(None), (), MailOptions(), "h.example", "192.0.2.1", "ESMTP")
    assert trace_prefix(env, HOST, NOW, "Q3").startswith(b"Return-Path: <>\r\n")


# --- faults decided in the state machine: on, the reply changes; off, it does not --------------------------------

FAULT_SCRIPTS: Final[list[tuple[str, dict[str, Any], list[str], int, int]]] = [
    # fault, session settings, commands before the probe, probe -> (normal code, faulty code)
    ("smtp.rcpt-before-mail-accepted", {}, ["EHLO a.example", "RCPT TO:<alice@example.test>"], 503, 250),
    (
        "smtp.second-mail-accepted",
        {},
        ["EHLO a.example", "MAIL FROM:<a@example.org>", "MAIL FROM:<b@example.org>"],
        503,
        250,
    ),
    (
        "smtp.data-without-rcpt-accepted",
        {},
        ["EHLO a.example", "MAIL FROM:<a@example.org>", "DATA"],
        554,
        354,
    ),
    (
        "smtp.unknown-user-accepted",
        {},
        ["EHLO a.example", "MAIL FROM:<a@e.org>", "RCPT TO:<zz@example.test>"],
        550,
        250,
    ),
    ("smtp.postmaster-rejected", {}, ["EHLO a.example", "MAIL FROM:<a@e.org>", "RCPT TO:<Postmaster>"], 250, 550),
    (
        "smtp.source-route-rejected",
        {},
        ["EHLO a.example", "MAIL FROM:<a@e.org>", "RCPT TO:<@x.example:alice@example.test>"],
        250,
        501,
    ),
    ("smtp.open-relay", {}, ["EHLO a.example", "MAIL FROM:<a@e.org>", "RCPT TO:<x@elsewhere.example>"], 550, 250),
    ("smtp.size-not-enforced", {}, ["EHLO a.example", "MAIL FROM:<a@e.org> SIZE=99999"], 552, 250),
    ("smtp.vrfy-syntax-only-250", {}, ["VRFY nobody"], 550, 250),
    ("smtp.auth-before-tls", {}, ["EHLO a.example", "AUTH LOGIN"], 538, 334),
    (
        "smtp.data-after-bdat-accepted",
        {},
        ["EHLO a.example", "MAIL FROM:<a@e.org>", "RCPT TO:<alice@example.test>", "BDAT 0", "DATA"],
        503,
        354,
    ),
]


@pytest.mark.parametrize(("fault", "settings", "lines", "normal", "faulty"), FAULT_SCRIPTS)
def test_state_faults(fault: str, settings: dict[str, Any], lines: list[str], normal: int, faulty: int) -> None:
    for faults, expected in (((), normal), ((fault,), faulty)):
        session = new_session(faults=faults, **settings)
        outcome = Outcome()
        for line in lines:
            outcome = send(session, line)
            if isinstance(outcome.effect, ReceiveChunk):
                outcome = session.chunk_finished(0, True)
        assert codes(outcome) == [expected], f"{fault} {'on' if faults else 'off'}"


def test_fault_too_many_recipients_552() -> None:
    for faults, expected in (((), 452), (("smtp.too-many-recipients-552",), 552)):
        session = greeted(faults=faults, max_recipients=1)
        send(session, "MAIL FROM:<a@example.org>")
        assert code(session, "RCPT TO:<alice@example.test>") == 250
        assert code(session, "RCPT TO:<bob@example.test>") == expected


def test_fault_rset_ignored_and_ehlo_no_reset() -> None:
    for fault, line in (("smtp.rset-ignored", "RSET"), ("smtp.ehlo-no-reset", "EHLO a.example")):
        for faults, expected in (((), 503), ((fault,), 250)):
            session = in_transaction(faults=faults)
            assert code(session, line) == 250
            assert code(session, "RCPT TO:<bob@example.test>") == expected, fault


def test_fault_helo_gets_ehlo_reply() -> None:
    outcome = send(new_session(faults=("smtp.helo-gets-ehlo-reply",)), "HELO a.example")
    assert len(outcome.replies[0].lines) > 1


def test_fault_quit_no_close_and_unknown_command_closes() -> None:
    outcome = send(new_session(faults=("smtp.quit-no-close",)), "QUIT")
    assert codes(outcome) == [221] and outcome.effect is None
    outcome = send(new_session(faults=("smtp.unknown-command-closes",)), "FROB")
    assert codes(outcome) == [500] and isinstance(outcome.effect, Close)


def test_fault_starttls_no_state_reset_and_advertised_after_tls() -> None:
    session = in_transaction(faults=("smtp.starttls-no-state-reset",))
    send(session, "RSET")
    send(session, "STARTTLS")
    session.tls_started()
    assert code(session, "MAIL FROM:<a@example.org>") == 250  # the pre-TLS EHLO still counts
    session = greeted(faults=("smtp.starttls-advertised-after-tls",))
    send(session, "STARTTLS")
    session.tls_started()
    assert "STARTTLS" in ehlo_keywords(session)


def test_fault_auth_twice_accepted() -> None:
    session = greeted(tls=True, faults=("smtp.auth-twice-accepted",))
    authenticate(session)
    outcome = send(session, "AUTH PLAIN " + base64.b64encode(b"\0bob\0pw").decode())
    assert isinstance(outcome.effect, CheckCredentials)


def test_faults_remove_trace_fields() -> None:
    assert b"Received:" not in trace_prefix(envelope(), HOST, NOW, "Q", Faults.of(["smtp.received-missing"]))
    without = trace_prefix(envelope(), HOST, NOW, "Q", Faults.of(["smtp.return-path-missing"]))
    assert b"Return-Path:" not in without and b"Received:" in without


MORE_FAULT_SCRIPTS: Final[list[tuple[str, dict[str, Any], list[str], int, int]]] = [
    # §4.5.3.1.4: a command line of 512 octets with its CRLF must be received
    ("smtp.command-line-limit-exclusive", {}, ["EHLO a.example", "NOOP " + "x" * 505], 250, 500),
    # §4.5.3.1.1: a 64-octet local part must be received
    ("smtp.path-limits-exclusive", {}, ["EHLO a.example", f"MAIL FROM:<{'l' * 64}@example.org>"], 250, 501),
    # RFC 1870 §6: SIZE is advertised, so the parameter is understood
    ("smtp.size-parameter-refused", {}, ["EHLO a.example", "MAIL FROM:<a@e.org> SIZE=100"], 250, 555),
    # §4.5.3.1.7 / RFC 1870 §6.1: 5000 octets are within a 10000-octet limit (the fault makes it 9)
    ("smtp.message-limit-below-64k", {}, ["EHLO a.example", "MAIL FROM:<a@e.org> SIZE=5000"], 250, 552),
    # RFC 6531 §3.2: with SMTPUTF8, a UTF-8 mailbox is accepted
    ("smtp.smtputf8-addresses-refused", {}, ["EHLO a.example", "MAIL FROM:<jö@example.org> SMTPUTF8"], 250, 550),
    # RFC 3030 §3: DATA after BODY=BINARYMIME gets 503
    (
        "smtp.binarymime-data-accepted",
        {},
        ["EHLO a.example", "MAIL FROM:<a@e.org> BODY=BINARYMIME", "RCPT TO:<alice@example.test>", "DATA"],
        503,
        354,
    ),
]


@pytest.mark.parametrize(("fault", "settings", "lines", "normal", "faulty"), MORE_FAULT_SCRIPTS)
def test_more_state_faults(fault: str, settings: dict[str, Any], lines: list[str], normal: int, faulty: int) -> None:
    for faults, expected in (((), normal), ((fault,), faulty)):
        session = new_session(faults=faults, **settings)
        outcome = Outcome()
        for line in lines:
            outcome = send(session, line)
        assert codes(outcome) == [expected], f"{fault} {'on' if faults else 'off'}"


def test_fault_starttls_accepted_twice() -> None:
    """RFC 3207 §4: STARTTLS inside a TLS session is refused (503 here, as the session knows TLS is on)."""
    for faults, expected in (((), 503), (("smtp.starttls-accepted-twice",), 220)):
        assert code(greeted(tls=True, faults=faults), "STARTTLS") == expected


def test_fault_recipients_buffer_too_small() -> None:
    """§4.5.3.1.8: at least 100 recipients MUST be buffered."""
    for faults, expected in (((), 250), (("smtp.recipients-buffer-too-small",), 452)):
        session = greeted(faults=faults, max_recipients=100)
        send(session, "MAIL FROM:<a@example.org>")
        for _ in range(50):
            assert code(session, "RCPT TO:<alice@example.test>") == 250
        assert code(session, "RCPT TO:<alice@example.test>") == expected


def test_fault_8bitmime_only_after_tls() -> None:
    """RFC 6531 §3.1 (8): a server offering SMTPUTF8 MUST announce 8BITMIME too."""
    assert "8BITMIME" in ehlo_keywords(greeted())
    keywords = ehlo_keywords(greeted(faults=("smtp.8bitmime-only-after-tls",)))
    assert "SMTPUTF8" in keywords and "8BITMIME" not in keywords


def test_fault_submission_null_sender_rejected() -> None:
    """RFC 6409 §3.2: MAIL FROM:<> MUST NOT in itself cause a rejection."""
    for faults, expected in (((), 250), (("smtp.submission-null-sender-rejected",), 550)):
        session = greeted(tls=True, submission=True, faults=faults)
        authenticate(session)
        assert code(session, "MAIL FROM:<>") == expected


def test_fault_bdat_faults() -> None:
    """RFC 3030 §2: a chunk is exactly its size; the data of a refused BDAT is still read and discarded."""
    session = greeted(faults=("smtp.bdat-chunk-size-off-by-two",))
    send(session, "MAIL FROM:<a@example.org>")
    send(session, "RCPT TO:<alice@example.test>")
    effect = send(session, "BDAT 10").effect
    assert isinstance(effect, ReceiveChunk) and effect.size == 12
    normal = send(greeted(), "BDAT 5")
    assert isinstance(normal.effect, ReceiveChunk) and not normal.effect.keep
    faulty = send(greeted(faults=("smtp.refused-bdat-data-parsed-as-commands",)), "BDAT 5")
    assert faulty.effect is None and codes(faulty) == [503]


def plain(login: str, password: str) -> str:
    return base64.b64encode(f"\0{login}\0{password}".encode()).decode()


def test_fault_auth_in_transaction_accepted() -> None:
    """RFC 4954 §4: AUTH during a mail transaction gets 503."""
    assert code(in_transaction(tls=True), "AUTH PLAIN " + plain("alice", "pw")) == 503
    outcome = send(
        in_transaction(tls=True, faults=("smtp.auth-in-transaction-accepted",)), "AUTH PLAIN " + plain("a", "p")
    )
    assert isinstance(outcome.effect, CheckCredentials)


def test_fault_sasl_exchange_faults() -> None:
    """RFC 4954 §4: empty 334 without an initial response, 501 for '*' and for invalid base64."""
    assert code(greeted(tls=True), "AUTH PLAIN") == 334
    assert code(greeted(tls=True, faults=("smtp.plain-requires-initial-response",)), "AUTH PLAIN") == 501
    for faults, expected in (((), 501), (("smtp.auth-cancel-answered-535",), 535)):
        session = greeted(tls=True, faults=faults)
        assert code(session, "AUTH PLAIN") == 334
        assert code(session, "*") == expected
    garbled = plain("alice", "pw")[:4] + "!" + plain("alice", "pw")[4:]
    assert code(greeted(tls=True), "AUTH PLAIN " + garbled) == 501
    outcome = send(greeted(tls=True, faults=("smtp.sasl-base64-lenient",)), "AUTH PLAIN " + garbled)
    assert isinstance(outcome.effect, CheckCredentials)


def test_fault_plain_empty_password_accepted() -> None:
    """RFC 4616 §2: an empty password never verifies."""
    assert code(greeted(tls=True), "AUTH PLAIN " + plain("alice", "")) in (501, 535)
    session = greeted(tls=True, faults=("smtp.plain-empty-password-accepted",))
    assert code(session, "AUTH PLAIN " + plain("alice", "")) == 235
