"""The capture hop's session machine, line by line: replies, recipient rules, captured messages.

Expected replies come from RFC 5321 (§4.1.1 commands, §4.2 reply format, §4.5.2 unstuffing,
§4.1.1.11 unknown parameters: 555), RFC 1870 (SIZE), RFC 6152 (BODY) and RFC 2034 (enhanced
codes only where announced), and from the hop's documented recipient rules.
"""

from __future__ import annotations

import pytest

from harness.nexthop.protocol import (
    LEGACY,
    RELAY,
    SIZE_LIMIT,
    HopSession,
    Phase,
    delays_reply,
    parse_path_argument,
    recipient_reply,
    unstuff,
)
from harness.nexthop.record import HopCommand, HopMessage


def session(listener: str = RELAY, tempfailed: set[str] | None = None) -> HopSession:
    return HopSession(listener, 1, "127.0.0.1:40000", "hop.test", set() if tempfailed is None else tempfailed)


def codes(machine: HopSession, *lines: str) -> list[str]:
    """The reply codes (first three octets of each reply) to a sequence of lines."""
    out: list[str] = []
    for line in lines:
        out += [reply[:3].decode() for reply in machine.receive(line.encode()).replies]
    return out


def deliver(machine: HopSession, *lines: str) -> HopMessage:
    """Send data lines and the final dot; return the message the hop accepted."""
    for line in lines:
        assert machine.receive(line.encode()).replies == ()
    result = machine.receive(b".")
    assert result.replies[0].startswith(b"250")
    assert result.message is not None
    return result.message


# -- greeting and EHLO --------------------------------------------------------------------------


def test_greeting_is_220() -> None:
    assert session().greeting().startswith(b"220 hop.test ")


def test_relay_listener_announces_its_extensions_in_a_well_formed_ehlo_reply() -> None:
    reply = session(RELAY).receive(b"EHLO relay.example").replies[0]
    lines = reply.split(b"\r\n")[:-1]
    assert [line[:4] for line in lines] == [b"250-"] * (len(lines) - 1) + [b"250 "]
    keywords = {line[4:].split()[0] for line in lines[1:]}
    assert keywords == {b"PIPELINING", b"8BITMIME", b"SIZE", b"SMTPUTF8", b"ENHANCEDSTATUSCODES"}
    assert f"250-SIZE {SIZE_LIMIT}".encode() in lines


def test_legacy_listener_answers_ehlo_with_no_keyword_at_all() -> None:
    replies = session(LEGACY).receive(b"EHLO relay.example").replies
    assert len(replies) == 1 and replies[0].startswith(b"250 ") and replies[0].count(b"\r\n") == 1


def test_enhanced_codes_only_where_announced() -> None:
    relay, legacy = session(RELAY), session(LEGACY)
    for machine in (relay, legacy):
        machine.receive(b"EHLO x.example")
    assert relay.receive(b"MAIL FROM:<a@b.example>").replies == (b"250 2.1.0 sender ok\r\n",)
    assert legacy.receive(b"MAIL FROM:<a@b.example>").replies == (b"250 sender ok\r\n",)


def test_ehlo_and_helo_need_a_domain() -> None:
    assert codes(session(), "EHLO", "HELO ") == ["501", "501"]


# -- MAIL and its parameters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("FROM:<a@b.example>", ("a@b.example", ())),
        ("from:<>", ("", ())),
        ("FROM: <a@b.example>", ("a@b.example", ())),  # a space after the colon is tolerated
        ("FROM:<a@b.example> SIZE=10 BODY=8BITMIME", ("a@b.example", ("SIZE=10", "BODY=8BITMIME"))),
        ("FROM:<@one.example,@two.example:a@b.example>", ("a@b.example", ())),  # RFC 5321 §3.6.1
        ("FROM:<Postmaster>", ("Postmaster", ())),
    ],
)
def test_path_arguments(argument: str, expected: tuple[str, tuple[str, ...]]) -> None:
    assert parse_path_argument(argument, "FROM") == expected


@pytest.mark.parametrize("argument", ["FROM:a@b.example", "TO:<a@b.example>", "FROM:<a@b.example>X=1", "FROM:<ab>"])
def test_malformed_path_arguments_are_refused(argument: str) -> None:
    with pytest.raises(ValueError):
        parse_path_argument(argument, "FROM")


def test_relay_listener_accepts_the_parameters_it_announced() -> None:
    machine = session(RELAY)
    machine.receive(b"EHLO x.example")
    assert codes(machine, "MAIL FROM:<a@b.example> SIZE=100 BODY=8BITMIME SMTPUTF8") == ["250"]


@pytest.mark.parametrize(
    ("parameter", "code"),
    [
        ("RET=FULL", "555"),  # DSN was not announced (RFC 5321 §4.1.1.11)
        (f"SIZE={SIZE_LIMIT + 1}", "552"),  # RFC 1870 §6.1: larger than the announced limit
        ("SIZE=many", "501"),
        ("BODY=BINARYMIME", "501"),  # RFC 6152 §2: 7BIT or 8BITMIME
        ("SMTPUTF8=yes", "501"),
    ],
)
def test_relay_listener_refuses_bad_parameters(parameter: str, code: str) -> None:
    machine = session(RELAY)
    machine.receive(b"EHLO x.example")
    assert codes(machine, f"MAIL FROM:<a@b.example> {parameter}") == [code]
    assert machine.phase is Phase.READY


def test_no_parameter_where_nothing_was_announced() -> None:
    legacy = session(LEGACY)
    legacy.receive(b"EHLO x.example")
    after_helo = session(RELAY)
    after_helo.receive(b"HELO x.example")
    assert codes(legacy, "MAIL FROM:<a@b.example> BODY=8BITMIME") == ["555"]
    assert codes(after_helo, "MAIL FROM:<a@b.example> SIZE=10") == ["555"]


def test_commands_out_of_order_get_503() -> None:
    machine = session()
    machine.receive(b"EHLO x.example")
    assert codes(machine, "RCPT TO:<r@hop.example>", "DATA", "MAIL FROM:<a@b.example>", "MAIL FROM:<a@b.example>") == [
        "503",
        "503",
        "250",
        "503",
    ]


def test_other_commands() -> None:
    machine = session()
    assert codes(machine, "NOOP", "VRFY x", "STARTTLS", "AUTH PLAIN", "BDAT 1 LAST", "FOO", "") == [
        "250",
        "252",
        "502",
        "502",
        "502",
        "500",
        "500",
    ]
    result = machine.receive(b"QUIT")
    assert result.close and result.replies[0].startswith(b"221")
    assert machine.receive(b"NOOP").replies == ()  # nothing after QUIT


# -- recipients -----------------------------------------------------------------------------------


def test_recipient_rules() -> None:
    tempfailed: set[str] = set()
    assert recipient_reply("someone@hop.example", tempfailed)[0] == 250
    assert recipient_reply("reject-x@hop.example", tempfailed)[0] == 550
    assert recipient_reply("reject-x@hop.example", tempfailed)[0] == 550
    assert recipient_reply("tempfail-x@hop.example", tempfailed)[:2] == (451, "4.3.0")
    assert recipient_reply("Tempfail-X@HOP.example", tempfailed)[0] == 250  # the same address, again
    assert recipient_reply("tempfail-y@hop.example", tempfailed)[0] == 451  # another address: its own first time


def test_tempfail_is_remembered_across_sessions_of_the_hop() -> None:
    shared: set[str] = set()
    first, second = session(tempfailed=shared), session(tempfailed=shared)
    for machine in (first, second):
        machine.receive(b"EHLO x.example")
        machine.receive(b"MAIL FROM:<a@b.example>")
    assert codes(first, "RCPT TO:<tempfail-1@hop.example>") == ["451"]
    assert codes(second, "RCPT TO:<tempfail-1@hop.example>") == ["250"]


def test_rcpt_parameters_and_null_recipient_refused() -> None:
    machine = session()
    machine.receive(b"EHLO x.example")
    machine.receive(b"MAIL FROM:<a@b.example>")
    assert codes(machine, "RCPT TO:<r@hop.example> NOTIFY=NEVER", "RCPT TO:<>") == ["555", "501"]


def test_data_without_an_accepted_recipient_is_refused() -> None:
    machine = session()
    machine.receive(b"EHLO x.example")
    machine.receive(b"MAIL FROM:<a@b.example>")
    assert codes(machine, "RCPT TO:<reject-1@hop.example>", "DATA") == ["550", "554"]
    assert machine.phase is Phase.MAIL


# -- mail data ------------------------------------------------------------------------------------


def test_unstuff() -> None:
    assert unstuff(b"..x") == b".x"
    assert unstuff(b"..") == b"."
    assert unstuff(b"x.") == b"x."


def test_message_records_envelope_wire_and_unstuffed_data() -> None:
    machine = session()
    codes(machine, "EHLO x.example", "MAIL FROM:<a@b.example> SIZE=40", "RCPT TO:<r@hop.example>")
    codes(machine, "RCPT TO:<reject-2@hop.example>", "DATA")
    message = deliver(machine, "Subject: s", "", "..dot", "...", "plain")
    assert message.reverse_path == "a@b.example"
    assert message.recipients == ("r@hop.example",)
    assert message.wire == b"Subject: s\r\n\r\n..dot\r\n...\r\nplain\r\n"
    assert message.data == b"Subject: s\r\n\r\n.dot\r\n..\r\nplain\r\n"
    assert message.lines == ["Subject: s", "", ".dot", "..", "plain"]
    assert [c.text for c in message.commands] == [
        "EHLO x.example",
        "MAIL FROM:<a@b.example> SIZE=40",
        "RCPT TO:<r@hop.example>",
        "RCPT TO:<reject-2@hop.example>",
        "DATA",
    ]
    assert machine.phase is Phase.READY


def test_second_transaction_carries_the_opening_commands_and_only_its_own() -> None:
    machine = session()
    codes(machine, "EHLO x.example", "MAIL FROM:<>", "RCPT TO:<one@hop.example>", "DATA")
    deliver(machine, "first")
    codes(machine, "NOOP", "MAIL FROM:<a@b.example>", "RSET", "MAIL FROM:<c@d.example>")
    codes(machine, "RCPT TO:<two@hop.example>", "DATA")
    second = deliver(machine, "second")
    assert [c.text for c in second.commands] == [
        "EHLO x.example",
        "MAIL FROM:<c@d.example>",
        "RCPT TO:<two@hop.example>",
        "DATA",
    ]
    assert second.reverse_path == "c@d.example" and second.lines == ["second"]


def test_early_lines_are_marked_pipelined() -> None:
    machine = session(LEGACY)
    machine.receive(b"EHLO x.example")
    machine.receive(b"MAIL FROM:<a@b.example>")
    machine.receive(b"RCPT TO:<r@hop.example>", early=True)
    machine.receive(b"DATA", early=True)
    message = deliver(machine, "x")
    assert message.commands[-2:] == (
        HopCommand("RCPT TO:<r@hop.example>", True),
        HopCommand("DATA", True),
    )
    assert not message.commands[0].pipelined and not message.data_pipelined


def test_oversize_message_is_refused_and_not_kept() -> None:
    machine = session()
    codes(machine, "EHLO x.example", "MAIL FROM:<a@b.example>", "RCPT TO:<r@hop.example>", "DATA")
    line = b"x" * 998
    for _ in range(SIZE_LIMIT // 1000 + 1):
        machine.receive(line)
    result = machine.receive(b".")
    assert result.replies[0].startswith(b"552") and result.message is None


def test_only_the_legacy_listener_delays_mail_and_rcpt() -> None:
    assert delays_reply(LEGACY, b"MAIL FROM:<a@b.example>") and delays_reply(LEGACY, b"rcpt TO:<r@hop.example>")
    assert not delays_reply(LEGACY, b"DATA") and not delays_reply(RELAY, b"MAIL FROM:<a@b.example>")


def test_unknown_listener_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        session("other")
