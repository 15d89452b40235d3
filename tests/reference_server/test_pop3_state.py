"""The POP3 session state machine, every command in every state, without sockets (RFC 1939)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import Final

import pytest

from reference_server.effects import Close, StartTls
from reference_server.faults import Faults
from reference_server.pop3 import responses
from reference_server.pop3.maildrop import DropMessage, Maildrop, MaildropLocks
from reference_server.pop3.responses import Continuation, Response
from reference_server.pop3.state import (
    CheckCredentials,
    Expunge,
    OpenMaildrop,
    Outcome,
    Pop3Session,
    Pop3Settings,
    SendMessage,
    State,
)
from tests.reference_server.smtp_support import PASSWORDS, make_accounts

TIMESTAMP: Final = "<1896.697170952@dbc.mtview.ca.us>"  # RFC 1939 §7 example
ACCOUNTS: Final = make_accounts()
MESSAGES: Final = (
    DropMessage(1, 11, 120, "uid-a"),
    DropMessage(2, 12, 200, "uid-b"),
    DropMessage(3, 15, 50, "uid-c"),
)


def new_session(*faults: str, tls: bool = True, requires_tls: bool = True, apop: bool = True) -> Pop3Session:
    settings = Pop3Settings(
        hostname="mail.example.test",
        tls_available=True,
        login_requires_tls=requires_tls,
        failed_login_delay=0.5,
        apop_secrets={"alice": "tanstaaf"} if apop else {},
        faults=Faults.of(faults),
    )
    return Pop3Session(settings, ACCOUNTS, tls_active=tls, timestamp=TIMESTAMP)


def send(session: Pop3Session, line: str) -> Outcome:
    return session.handle_line(line.encode("ascii"))


def status(outcome: Outcome) -> str:
    """'+OK', '-ERR' or '+' (continuation) of the first reply, '' if none."""
    if not outcome.replies:
        return ""
    reply = outcome.replies[0]
    if isinstance(reply, Continuation):
        return "+"
    return "+OK" if reply.ok else "-ERR"


def first(outcome: Outcome) -> Response:
    reply = outcome.replies[0]
    assert isinstance(reply, Response)
    return reply


def login(session: Pop3Session, messages: Sequence[DropMessage] = MESSAGES) -> None:
    assert status(send(session, "USER alice")) == "+OK"
    outcome = send(session, f"PASS {PASSWORDS['alice']}")
    assert isinstance(outcome.effect, CheckCredentials)
    checked = session.credentials_checked(ACCOUNTS.authenticate(outcome.effect.login, outcome.effect.password))
    assert isinstance(checked.effect, OpenMaildrop) and checked.effect.login == "alice"
    assert status(session.maildrop_opened("alice", Maildrop(messages))) == "+OK"
    assert session.state is State.TRANSACTION


def logged_in(*faults: str) -> Pop3Session:
    session = new_session(*faults)
    login(session)
    return session


# --- states and legality -----------------------------------------------------------------

TRANSACTION_ONLY: Final = ("STAT", "LIST", "LIST 1", "RETR 1", "DELE 1", "NOOP", "RSET", "TOP 1 1", "UIDL", "UIDL 1")
AUTHORIZATION_ONLY: Final = ("USER alice", "PASS x", f"APOP alice {'0' * 32}", "AUTH PLAIN", "STLS")


def test_greeting_is_positive_and_carries_the_timestamp() -> None:
    reply = first(new_session().greet())
    assert reply.ok and reply.text.endswith(TIMESTAMP)  # RFC 1939 §7


def test_no_timestamp_without_apop_capable_accounts() -> None:
    reply = first(new_session(apop=False).greet())
    assert reply.ok and "<" not in reply.text


@pytest.mark.parametrize("line", TRANSACTION_ONLY)
def test_transaction_commands_refused_in_authorization(line: str) -> None:
    session = new_session()
    assert status(send(session, line)) == "-ERR"  # RFC 1939 §3: MUST be negative
    assert session.state is State.AUTHORIZATION


@pytest.mark.parametrize("line", AUTHORIZATION_ONLY)
def test_authorization_commands_refused_in_transaction(line: str) -> None:
    session = logged_in()
    outcome = send(session, line)
    assert status(outcome) == "-ERR" and outcome.effect is None
    assert session.state is State.TRANSACTION


@pytest.mark.parametrize("line", ["XYZZY", "", "RETRIEVE 1", "LIS", "LIST\t1"])
@pytest.mark.parametrize("in_transaction", [False, True])
def test_unknown_commands_are_negative(line: str, in_transaction: bool) -> None:
    session = logged_in() if in_transaction else new_session()
    assert status(send(session, line)) == "-ERR"


@pytest.mark.parametrize("line", ["stat", "Stat", "list", "uidl 1", "noop"])
def test_keywords_case_insensitive_in_transaction(line: str) -> None:
    assert status(send(logged_in(), line)) == "+OK"


@pytest.mark.parametrize(
    "line",
    [
        "STAT 1",
        "LIST 1 2",
        "LIST  1",
        "LIST x",
        "RETR",
        "RETR x",
        "RETR 1 2",
        "DELE",
        "TOP 1",
        "TOP 1 x",
        "TOP x 1",
        "NOOP x",
        "RSET x",
        "UIDL 1 2",
        "CAPA x",
        "QUIT x",
    ],
)
def test_bad_arguments_in_transaction(line: str) -> None:
    session = logged_in()
    assert status(send(session, line)) == "-ERR"
    assert status(send(session, "STAT")) == "+OK"  # the session goes on


@pytest.mark.parametrize("line", ["LIST 0", "LIST 4", "RETR 4", "DELE 0", "TOP 9 1", "UIDL 4", "LIST 99999999999"])
def test_out_of_range_is_no_such_message(line: str) -> None:
    reply = first(send(logged_in(), line))
    assert not reply.ok and reply.text == "no such message"  # RFC 1939 §5


@pytest.mark.parametrize("line", ["USER", "USER a b", "APOP alice", "APOP alice short", "AUTH", "STLS x", "CAPA x"])
def test_bad_arguments_in_authorization(line: str) -> None:
    assert status(send(new_session(), line)) == "-ERR"


def test_pass_needs_user_first_and_user_needs_pass_next() -> None:
    session = new_session()
    assert status(send(session, "PASS alicepw")) == "-ERR"
    assert status(send(session, "USER alice")) == "+OK"
    for line in ("USER bob", "STLS", "AUTH PLAIN", f"APOP alice {'0' * 32}"):
        assert status(send(session, line)) == "-ERR"  # §7: after USER only PASS or QUIT
    assert status(send(session, "CAPA")) == "+OK"  # RFC 2449 §5: no restrictions
    assert isinstance(send(session, "PASS alicepw").effect, CheckCredentials)


def test_user_answers_the_same_for_unknown_names() -> None:
    """RFC 1939 §13: -ERR to USER tells attackers which names are valid."""
    assert first(send(new_session(), "USER alice")) == first(send(new_session(), "USER nobody"))


def test_failed_login_is_one_answer_after_a_delay() -> None:
    session = new_session()
    send(session, "USER alice")
    wrong_password = session.credentials_checked(None)
    send(session, "USER nobody")
    unknown_user = session.credentials_checked(None)
    assert wrong_password == unknown_user
    assert status(wrong_password) == "-ERR" and first(wrong_password).text.startswith("[AUTH]")
    assert wrong_password.delay == 0.5
    assert session.state is State.AUTHORIZATION
    assert status(send(session, "USER alice")) == "+OK"  # §7: a new USER after a failed PASS


def test_pass_keeps_spaces() -> None:
    session = new_session()
    send(session, "USER alice")
    effect = send(session, "PASS two words ").effect
    assert isinstance(effect, CheckCredentials) and effect.password == "two words "


def test_plaintext_login_needs_tls_by_default() -> None:
    """RFC 5034 §4 / RFC 2595 §2.3: no USER/PASS or PLAIN before STLS, and not advertised."""
    session = new_session(tls=False)
    assert first(send(session, "USER alice")).text.startswith("[AUTH]")
    assert status(send(session, "AUTH PLAIN")) == "-ERR"
    capabilities = first(send(session, "CAPA")).body or ()
    assert "STLS" in capabilities and "USER" not in capabilities
    assert not any(line.startswith("SASL") for line in capabilities)
    outcome = send(session, "STLS")
    assert status(outcome) == "+OK" and isinstance(outcome.effect, StartTls)
    session.tls_started()
    assert session.state is State.AUTHORIZATION  # RFC 2595 §4
    capabilities = first(send(session, "CAPA")).body or ()
    assert "USER" in capabilities and "SASL PLAIN" in capabilities and "STLS" not in capabilities
    assert status(send(session, "STLS")) == "-ERR"  # TLS active


def test_plaintext_login_allowed_when_configured() -> None:
    session = new_session(tls=False, requires_tls=False)
    assert status(send(session, "USER alice")) == "+OK"


def test_capa_in_both_states() -> None:
    """RFC 2449 §5 and §6; RFC 2595 §4: STLS only where it is permitted."""
    before = first(send(new_session(), "CAPA"))
    after = first(send(logged_in(), "CAPA"))
    for reply in (before, after):
        assert reply.ok and reply.body is not None
        for tag in ("TOP", "UIDL", "USER", "SASL PLAIN", "RESP-CODES", "PIPELINING"):
            assert tag in reply.body
        assert "STLS" not in reply.body  # TLS already active in these sessions
    assert responses.render(before).endswith(b"\r\n.\r\n")


def test_stls_refused_without_tls_configured() -> None:
    settings = Pop3Settings(hostname="h", tls_available=False)
    session = Pop3Session(settings, ACCOUNTS)
    assert status(send(session, "STLS")) == "-ERR"
    assert "STLS" not in (first(send(session, "CAPA")).body or ())


def test_quit_in_authorization_closes_without_update() -> None:
    session = new_session()
    outcome = send(session, "QUIT")
    assert status(outcome) == "+OK" and isinstance(outcome.effect, Close)
    assert session.closed


# --- APOP and AUTH PLAIN -----------------------------------------------------------------


def test_apop_with_the_rfc_example() -> None:
    """RFC 1939 §7: secret 'tanstaaf' gives c4c9334bac560ecc979e58001b3e22fb."""
    effect = send(new_session(), "APOP alice c4c9334bac560ecc979e58001b3e22fb").effect
    assert isinstance(effect, OpenMaildrop) and effect.login == "alice"


def test_apop_wrong_digest_or_hash_only_account() -> None:
    wrong = send(new_session(), "APOP alice " + hashlib.md5(b"nope").hexdigest())
    assert status(wrong) == "-ERR" and wrong.delay > 0
    digest = hashlib.md5((TIMESTAMP + "bobpw").encode()).hexdigest()
    no_secret = send(new_session(), f"APOP bob {digest}")  # bob has no plain password configured
    assert no_secret == wrong


def test_apop_refused_when_no_timestamp_was_given() -> None:
    assert status(send(new_session(apop=False), "APOP alice c4c9334bac560ecc979e58001b3e22fb")) == "-ERR"


def plain(authzid: str, login: str, password: str) -> str:
    return base64.b64encode(f"{authzid}\0{login}\0{password}".encode()).decode()


def test_auth_plain_with_initial_response() -> None:
    effect = send(new_session(), "AUTH PLAIN " + plain("", "alice", "alicepw")).effect
    assert effect == CheckCredentials("alice", "alicepw", "")


def test_auth_plain_after_empty_challenge() -> None:
    """RFC 5034 §4: no initial response -> the empty challenge "+ "."""
    session = new_session()
    outcome = send(session, "auth plain")
    assert outcome.replies == (Continuation(""),) and session.in_sasl_exchange
    effect = session.handle_line(plain("alice", "alice", "alicepw").encode()).effect
    assert effect == CheckCredentials("alice", "alicepw", "alice")


@pytest.mark.parametrize("response", [b"*", b"not base64!", b"AAA=BBB", base64.b64encode(b"no nuls")])
def test_auth_plain_cancel_and_garbage_are_negative(response: bytes) -> None:
    session = new_session()
    send(session, "AUTH PLAIN")
    outcome = session.handle_line(response)
    assert status(outcome) == "-ERR" and outcome.effect is None  # RFC 5034 §4: MUST -ERR
    assert session.state is State.AUTHORIZATION and not session.in_sasl_exchange


def test_auth_unknown_mechanism_and_bad_initial_response() -> None:
    assert status(send(new_session(), "AUTH CRAM-MD5")) == "-ERR"
    assert status(send(new_session(), "AUTH PLAIN !!!!")) == "-ERR"
    assert status(send(new_session(), "AUTH PLAIN =")) == "-ERR"  # empty PLAIN message is malformed


def test_second_auth_after_success_is_refused() -> None:
    assert status(send(logged_in(), "AUTH PLAIN " + plain("", "alice", "alicepw"))) == "-ERR"  # RFC 5034 §4


def test_lock_busy_and_listing_failure() -> None:
    session = new_session()
    send(session, "USER alice")
    send(session, "PASS alicepw")
    assert first(session.maildrop_in_use()).text.startswith("[IN-USE]")  # RFC 2449 §8.1.2
    assert status(session.maildrop_failed()) == "-ERR"
    assert session.state is State.AUTHORIZATION


# --- TRANSACTION state --------------------------------------------------------------------


def test_stat_list_uidl() -> None:
    """RFC 1939 §5 and §7 formats: "+OK nn mm", "n size", "n unique-id"."""
    session = logged_in()
    assert first(send(session, "STAT")).text == "3 370"
    assert first(send(session, "LIST")).body == ("1 120", "2 200", "3 50")
    assert first(send(session, "LIST 2")).text == "2 200"
    assert first(send(session, "UIDL")).body == ("1 uid-a", "2 uid-b", "3 uid-c")
    assert first(send(session, "UIDL 3")).text == "3 uid-c"


def test_empty_maildrop_lists_nothing() -> None:
    session = new_session()
    login(session, ())
    assert first(send(session, "STAT")).text == "0 0"
    assert first(send(session, "LIST")).body == ()


def test_dele_marks_and_hides_until_rset() -> None:
    """RFC 1939 §5: deleted messages are not counted, not listed, and cannot be referred to."""
    session = logged_in()
    outcome = send(session, "DELE 2")
    assert status(outcome) == "+OK" and outcome.effect is None
    assert first(send(session, "STAT")).text == "2 170"
    assert first(send(session, "LIST")).body == ("1 120", "3 50")
    assert first(send(session, "UIDL")).body == ("1 uid-a", "3 uid-c")
    for line in ("LIST 2", "RETR 2", "TOP 2 0", "DELE 2", "UIDL 2"):
        assert status(send(session, line)) == "-ERR"
    assert status(send(session, "RSET")) == "+OK"
    assert first(send(session, "STAT")).text == "3 370"
    assert status(send(session, "RETR 2")) == ""  # SendMessage: the edge sends +OK after opening


def test_retr_and_top_ask_the_edge_to_send() -> None:
    session = logged_in()
    retr = send(session, "RETR 2").effect
    assert isinstance(retr, SendMessage) and retr.uid == 12 and retr.body_lines is None and retr.stuff
    assert retr.status.ok and retr.status.text.startswith("200 ")
    top = send(session, "TOP 3 5").effect
    assert isinstance(top, SendMessage) and top.uid == 15 and top.body_lines == 5
    assert status(session.message_unavailable()) == "-ERR"


def test_quit_enters_update_and_expunges_only_marked() -> None:
    """RFC 1939 §6."""
    session = logged_in()
    send(session, "DELE 1")
    send(session, "DELE 3")
    outcome = send(session, "QUIT")
    assert outcome.replies == () and outcome.effect == Expunge((11, 15), update=True)
    assert session.state is State.UPDATE
    done = session.update_finished(True)
    assert status(done) == "+OK" and isinstance(done.effect, Close) and session.closed


def test_failed_update_is_negative_and_closes() -> None:
    session = logged_in()
    send(session, "DELE 1")
    send(session, "QUIT")
    done = session.update_finished(False)
    assert status(done) == "-ERR" and isinstance(done.effect, Close)


def test_quit_without_deletions_needs_no_expunge() -> None:
    outcome = send(logged_in(), "QUIT")
    assert status(outcome) == "+OK" and isinstance(outcome.effect, Close)


def test_dropped_connection_removes_nothing() -> None:
    session = logged_in()
    send(session, "DELE 1")
    assert session.connection_lost() == ()  # RFC 1939 §6: MUST not remove any messages


def test_bad_command_budget_closes() -> None:
    session = logged_in()
    outcomes = [send(session, "XYZZY") for _ in range(21)]
    assert all(o.effect is None for o in outcomes[:20])
    assert isinstance(outcomes[20].effect, Close) and session.closed


def test_line_too_long() -> None:
    session = new_session()
    assert status(session.line_too_long()) == "-ERR"
    send(session, "AUTH PLAIN")
    assert session.in_sasl_exchange and session.line_limit > 253
    assert status(session.line_too_long()) == "-ERR" and not session.in_sasl_exchange


# --- faults decided in the state machine -----------------------------------------------------


def test_fault_dele_immediate() -> None:
    outcome = send(logged_in("pop3.dele-immediate"), "DELE 2")
    assert outcome.effect == Expunge((12,), update=False)


def test_fault_rset_keeps_deletions() -> None:
    session = logged_in("pop3.rset-keeps-deletions")
    send(session, "DELE 1")
    assert status(send(session, "RSET")) == "+OK"
    assert first(send(session, "STAT")).text == "2 250"


def test_fault_deleted_still_listed() -> None:
    session = logged_in("pop3.deleted-still-listed")
    send(session, "DELE 1")
    assert first(send(session, "LIST")).body == ("1 120", "2 200", "3 50")


def test_fault_deleted_message_retrievable() -> None:
    session = logged_in("pop3.deleted-message-retrievable")
    send(session, "DELE 1")
    assert isinstance(send(session, "RETR 1").effect, SendMessage)


def test_fault_update_without_quit() -> None:
    session = logged_in("pop3.update-without-quit")
    send(session, "DELE 2")
    assert session.connection_lost() == (12,)


def test_fault_user_reveals_unknown_names() -> None:
    session = new_session("pop3.user-reveals-unknown-names")
    assert status(send(session, "USER nobody")) == "-ERR"
    assert status(send(session, "USER alice")) == "+OK"


def test_fault_top_ignores_line_count() -> None:
    effect = send(logged_in("pop3.top-ignores-line-count"), "TOP 1 0").effect
    assert isinstance(effect, SendMessage) and effect.body_lines is None


def test_fault_no_byte_stuffing() -> None:
    effect = send(logged_in("pop3.no-byte-stuffing"), "RETR 1").effect
    assert isinstance(effect, SendMessage) and not effect.stuff


def test_fault_verbs_case_sensitive() -> None:
    session = logged_in("pop3.verbs-case-sensitive")
    assert status(send(session, "stat")) == "-ERR"
    assert status(send(session, "STAT")) == "+OK"


def test_fault_capa_missing_terminator() -> None:
    rendered = responses.render(first(send(new_session("pop3.capa-missing-terminator"), "CAPA")))
    assert not rendered.endswith(b"\r\n.\r\n")


def test_fault_auth_before_tls() -> None:
    session = new_session("pop3.auth-before-tls", tls=False)
    assert status(send(session, "USER alice")) == "+OK"
    assert "USER" in (first(send(session, "CAPA")).body or ())


def test_maildrop_lock_is_exclusive_per_user() -> None:
    locks = MaildropLocks()
    assert locks.acquire("alice") and not locks.acquire("alice") and locks.acquire("bob")
    locks.release("alice")
    assert locks.acquire("alice")


def test_fault_no_maildrop_lock() -> None:
    locks = MaildropLocks(Faults.of(["pop3.no-maildrop-lock"]))
    assert locks.acquire("alice") and locks.acquire("alice")


# --- faults breaking the command rules (RFC 1939 §3, §6, §7; RFC 5034 §4) ---------------------


def auth_checked(session: Pop3Session, outcome: Outcome) -> Outcome:
    """Complete the CheckCredentials effect the way the asyncio edge does."""
    assert isinstance(outcome.effect, CheckCredentials)
    effect = outcome.effect
    return session.credentials_checked(ACCOUNTS.authenticate(effect.login, effect.password, effect.authzid))


def test_fault_unknown_command_ok() -> None:
    assert status(send(new_session(), "XYZZY")) == "-ERR"
    assert status(send(new_session("pop3.unknown-command-ok"), "XYZZY")) == "+OK"
    assert status(send(logged_in("pop3.unknown-command-ok"), "XYZZY")) == "+OK"


def test_fault_noop_before_login() -> None:
    session = new_session("pop3.noop-before-login")
    assert status(send(session, "NOOP")) == "+OK"
    assert status(send(session, "STAT")) == "-ERR"  # only NOOP slips through
    assert session.state is State.AUTHORIZATION


def test_fault_user_after_login() -> None:
    session = logged_in("pop3.user-after-login")
    assert status(send(session, "USER bob")) == "+OK"
    assert status(send(session, "PASS x")) == "-ERR"
    assert session.state is State.TRANSACTION and session.login == "alice"


def test_fault_pass_before_user_accepted() -> None:
    session = new_session("pop3.pass-before-user-accepted")
    assert status(send(session, f"PASS {PASSWORDS['alice']}")) == "+OK"
    effect = send(session, "USER alice").effect
    assert effect == CheckCredentials("alice", PASSWORDS["alice"])


def test_fault_pass_before_user_still_needs_tls() -> None:
    session = new_session("pop3.pass-before-user-accepted", tls=False)
    assert status(send(session, f"PASS {PASSWORDS['alice']}")) == "-ERR"


def test_fault_bad_message_number_ignored() -> None:
    assert status(send(logged_in(), "LIST x1")) == "-ERR"
    reply = first(send(logged_in("pop3.bad-message-number-ignored"), "LIST x1"))
    assert reply.ok and reply.body == ("1 120", "2 200", "3 50")


@pytest.mark.parametrize("line", ["TOP 1 x", "TOP 1 -1", "TOP 1"])
def test_fault_top_line_count_atoi(line: str) -> None:
    assert status(send(logged_in(), line)) == "-ERR"  # §3: syntactically invalid
    effect = send(logged_in("pop3.top-line-count-atoi"), line).effect
    assert isinstance(effect, SendMessage) and effect.body_lines == 0


def test_fault_uidl_listing_with_size() -> None:
    session = logged_in("pop3.uidl-listing-with-size")
    assert first(send(session, "UIDL 2")).text == "2 uid-b 200"
    assert first(send(session, "UIDL")).body == ("1 uid-a 120", "2 uid-b 200", "3 uid-c 50")


def test_fault_update_purges_all() -> None:
    session = logged_in("pop3.update-purges-all")
    send(session, "DELE 2")
    assert send(session, "QUIT").effect == Expunge((11, 12, 15), update=True)


def test_fault_update_purges_nothing_when_nothing_is_marked() -> None:
    outcome = send(logged_in("pop3.update-purges-all"), "QUIT")
    assert outcome.effect == Close() and status(outcome) == "+OK"


def test_fault_sasl_challenge_text() -> None:
    assert send(new_session(), "AUTH PLAIN").replies == (Continuation(""),)
    reply = send(new_session("pop3.sasl-challenge-text"), "AUTH PLAIN").replies[0]
    assert isinstance(reply, Continuation) and reply.data  # RFC 5034 §4: MUST NOT contain other data


@pytest.mark.parametrize("prefix", ["!", "="])
def test_fault_sasl_base64_lenient(prefix: str) -> None:
    line = f"AUTH PLAIN {prefix}{plain('', 'alice', PASSWORDS['alice'])}"
    assert status(send(new_session(), line)) == "-ERR"
    assert isinstance(send(new_session("pop3.sasl-base64-lenient"), line).effect, CheckCredentials)


def test_fault_failed_auth_disconnects() -> None:
    session = new_session("pop3.failed-auth-disconnects")
    assert status(send(session, "AUTH PLAIN")) == "+"
    cancelled = send(session, "*")
    assert status(cancelled) == "-ERR" and cancelled.effect == Close() and session.closed
    session = new_session("pop3.failed-auth-disconnects")
    failed = auth_checked(session, send(session, f"AUTH PLAIN {plain('', 'alice', 'wrong')}"))
    assert status(failed) == "-ERR" and failed.effect == Close()


def test_failed_pass_does_not_disconnect_under_the_auth_fault() -> None:
    session = new_session("pop3.failed-auth-disconnects")
    send(session, "USER alice")
    failed = auth_checked(session, send(session, "PASS wrong"))
    assert status(failed) == "-ERR" and failed.effect is None and not session.closed


def test_fault_auth_after_login() -> None:
    line = f"AUTH PLAIN {plain('', 'alice', PASSWORDS['alice'])}"
    assert status(send(logged_in(), line)) == "-ERR"  # RFC 5034 §4
    session = logged_in("pop3.auth-after-login")
    again = auth_checked(session, send(session, line))
    assert status(again) == "+OK" and again.effect is None
    assert session.state is State.TRANSACTION
