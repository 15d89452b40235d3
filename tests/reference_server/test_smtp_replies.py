"""Reply constants and their wire form (RFC 5321 §4.2, RFC 2034)."""

from __future__ import annotations

import re

import pytest

from reference_server.faults import Faults
from reference_server.smtp import replies
from reference_server.smtp.replies import Reply, render

CONSTANTS = {name: value for name, value in vars(replies).items() if isinstance(value, Reply)}
FACTORIES = [value for name, value in vars(replies).items() if re.fullmatch(r"s\d{3}_\w+", name)]


def test_there_are_constants() -> None:
    assert len(CONSTANTS) > 40 and len(FACTORIES) >= 5


@pytest.mark.parametrize("name", sorted(CONSTANTS))
def test_constant_name_matches_its_code(name: str) -> None:
    match = re.fullmatch(r"S(\d{3})_[A-Z0-9_]+", name)
    assert match, name
    assert CONSTANTS[name].code == int(match[1])


@pytest.mark.parametrize("name", sorted(CONSTANTS))
def test_enhanced_code_present_and_agrees(name: str) -> None:
    """RFC 2034 §4: every 2xx/4xx/5xx carries a class-matching code; 3xx never do."""
    reply = CONSTANTS[name]
    if reply.code // 100 == 3:
        assert reply.enhanced is None
    else:
        assert reply.enhanced is not None
        assert re.fullmatch(r"[245]\.\d{1,3}\.\d{1,3}", reply.enhanced)  # RFC 3463 §2
        assert reply.enhanced[0] == str(reply.code)[0]


@pytest.mark.parametrize("reply", [*CONSTANTS.values(), *(f("mail.example.test") for f in FACTORIES)])
def test_wire_form_is_a_valid_reply(reply: Reply) -> None:
    """§4.2 Reply-line grammar; §4.5.3.1.5: at most 512 octets per line including CRLF."""
    wire = render(reply)
    lines = wire.split(b"\r\n")
    assert lines[-1] == b""
    for line in lines[:-1]:
        assert re.fullmatch(rb"[2-5][0-5]\d[ -][\x09\x20-\x7e]*", line)
        assert len(line) + 2 <= 512


def test_named_replies_carry_the_hostname() -> None:
    """§4.2: 221 and 421 texts start with the domain (after the enhanced code)."""
    for factory in FACTORIES:
        reply = factory("mail.example.test")
        assert reply.lines[0].startswith("mail.example.test")
    assert replies.s220_greeting("h.example").enhanced is None  # RFC 2034 §4


def test_multiline_format() -> None:
    """§4.2.1: hyphen after the code on every line but the last, which has SP."""
    reply = Reply(250, "2.0.0", ("one", "two", "three"))
    assert render(reply) == b"250-2.0.0 one\r\n250-2.0.0 two\r\n250 2.0.0 three\r\n"
    assert render(Reply(250, None, ("host", "PIPELINING"))) == b"250-host\r\n250 PIPELINING\r\n"


def test_reply_format_faults() -> None:
    reply = Reply(250, "2.0.0", ("one", "two"))
    assert render(reply, Faults.of(["smtp.multiline-continuation-wrong"])) == b"250 2.0.0 one\r\n250 2.0.0 two\r\n"
    assert render(reply, Faults.of(["smtp.enhanced-codes-missing"])) == b"250-one\r\n250 two\r\n"


@pytest.mark.parametrize(
    ("code", "enhanced", "lines"),
    [(199, None, ("x",)), (600, None, ("x",)), (250, "5.0.0", ("x",)), (250, None, ()), (250, None, ("a\r\nb",))],
)
def test_invalid_replies_cannot_be_built(code: int, enhanced: str | None, lines: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        Reply(code, enhanced, lines)


def test_reply_line_end_and_enhanced_code_faults() -> None:
    """§2.3.8: CRLF ends every reply line; RFC 2034 §4: the class agrees, the same code on each line."""
    reply = Reply(550, "5.1.1", ("one", "two"))
    assert render(reply, Faults.of(["smtp.reply-bare-lf"])) == b"550-5.1.1 one\n550 5.1.1 two\n"
    assert render(reply, Faults.of(["smtp.enhanced-code-class-wrong"])) == b"550-2.0.0 one\r\n550 2.0.0 two\r\n"
    assert render(reply, Faults.of(["smtp.enhanced-code-first-line-only"])) == b"550-5.1.1 one\r\n550 two\r\n"
    assert render(reply) == b"550-5.1.1 one\r\n550 5.1.1 two\r\n"
