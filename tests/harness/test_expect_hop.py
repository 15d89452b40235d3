"""`H:` and `D:` lines against a captured message: order, negation, pipelined marks, case rules."""

from __future__ import annotations

from harness.expect.hop import HopJudgement, judge_hop_line
from harness.nexthop.record import HopCommand, HopMessage

MESSAGE = HopMessage(
    listener="legacy",
    session=3,
    peer="127.0.0.1:1",
    reverse_path="",
    recipients=("rcpt@hop.example",),
    commands=(
        HopCommand("ehlo mail.example"),
        HopCommand("mail FROM:<> SIZE=20"),
        HopCommand("RCPT TO:<rcpt@hop.example>", pipelined=True),
        HopCommand("DATA", pipelined=True),
    ),
    wire=b"Received: by mail.example\r\nSubject: s\r\n\r\n..dot\r\nGr\xfc\xdfe\r\n",
    data=b"Received: by mail.example\r\nSubject: s\r\n\r\n.dot\r\nGr\xfc\xdfe\r\n",
)


def judge(kind: str, pattern: str, *, negate: bool = False, pipelined: bool = False, cursor: int = 0) -> HopJudgement:
    return judge_hop_line(
        MESSAGE, kind, pattern, negate=negate, pipelined=pipelined, cursor=cursor, bound={"box": "rcpt"}
    )


def test_command_globs_ignore_case_as_smtp_verbs_do() -> None:
    result = judge("H", "MAIL FROM:<>*")
    assert result.mismatch is None and result.cursor == 2


def test_positive_lines_match_in_order() -> None:
    assert judge("D", "Subject: s", cursor=judge("D", "Received: *").cursor).mismatch is None
    after_subject = judge("D", "Subject: s").cursor
    missed = judge("D", "Received: *", cursor=after_subject)
    assert missed.mismatch == "no data line after the one matched before matches"
    assert missed.cursor == after_subject


def test_data_globs_keep_case_and_see_unstuffed_lines() -> None:
    assert judge("D", "subject: s").mismatch is not None
    assert judge("D", "(?i)subject: s (re)").mismatch is None
    assert judge("D", ".dot").mismatch is None
    assert judge("D", "..dot").mismatch is not None


def test_negated_line_fails_on_any_match_and_names_it() -> None:
    result = judge("D", ".*[^\\x00-\\x7F].* (re)", negate=True)
    assert result.mismatch is not None and "Gr\ufffd\ufffde" in result.mismatch  # octets that are not UTF-8 count too
    assert judge("D", "(?i)return-path:.* (re)", negate=True).mismatch is None


def test_pipelined_mark_selects_commands_that_arrived_early() -> None:
    failed = judge("H", "*", negate=True, pipelined=True)
    assert failed.mismatch is not None and "RCPT TO:<rcpt@hop.example> (pipelined)" in failed.mismatch
    assert judge("H", "DATA", pipelined=True).mismatch is None
    assert judge("H", "mail *", pipelined=True).mismatch == "no pipelined command matches"


def test_bound_variables_and_new_captures() -> None:
    assert judge("H", "RCPT TO:<$box@hop.example>").mismatch is None
    captured = judge("H", "RCPT TO:<$who@$where>")
    assert captured.mismatch is None and captured.captures == {"who": "rcpt", "where": "hop.example"}


def test_received_shows_what_the_hop_got() -> None:
    result = judge("H", "QUIT")
    assert result.mismatch == "no command matches"
    assert result.received.splitlines() == [
        "ehlo mail.example",
        "mail FROM:<> SIZE=20",
        "RCPT TO:<rcpt@hop.example> (pipelined)",
        "DATA (pipelined)",
    ]
