"""The transcript parser against suites/README.md: every construct, and every error as `file:line: what`."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.transcript.model import (
    Case,
    Citation,
    Directive,
    Expect,
    ExpectClose,
    ExpectSilence,
    Level,
    LiteralData,
    Send,
    Step,
    UseConnection,
)
from harness.transcript.parser import TranscriptError, parse_transcript

SUITE = Path("suites/smtp/x.mt")  # shown in errors; its folder names the protocol
MARK = "  <=="  # ends the line an error must point at; removed before parsing


def case_of(text: str, path: Path = SUITE) -> Case:
    (case,) = parse_transcript(text, path).cases
    return case


def steps_of(steps: str, protocol: str = "smtp") -> tuple[Step, ...]:
    """The steps of a one-case file whose step lines start at line 6."""
    return case_of(f"spec: RFC5321 §4.1.4 Order\nprotocol: {protocol}\n\n== c MUST\n~ x\n{steps}").steps


# -- header and cases -----------------------------------------------------------------------------

README_EXAMPLE = """\
# suites/smtp/rfc5321/4.1.4-order-of-commands.mt
spec: RFC5321 §4.1.4 Order of Commands
state: greeted

== mail-inside-transaction-refused MUST
> If a new MAIL command is received while a transaction is open, the server
~ (paraphrase lines may follow a quote)
C: MAIL FROM:<$alice>
S: 250
C: MAIL FROM:<$alice>
S: 503

== pipelined-envelope MUST cite="RFC2920 §3.1" requires=PIPELINING
~ replies come back in the order of the commands
B: MAIL FROM:<$alice>\\r\\nRCPT TO:<$bob>\\r\\n
S: 250
S: 250
"""


def test_readme_example_parses_into_two_cited_cases() -> None:
    relpath = Path("smtp/rfc5321/4.1.4-order-of-commands.mt")
    transcript = parse_transcript(README_EXAMPLE, Path("suites") / relpath, relpath)
    assert transcript.protocol == "smtp"
    assert transcript.citation == Citation(5321, "4.1.4")
    assert transcript.title == "Order of Commands"
    first, second = transcript.cases
    assert first.case_id == "smtp/rfc5321/4.1.4-order-of-commands::mail-inside-transaction-refused"
    assert first.level is Level.MUST
    assert first.line == 5
    assert first.quote == ("If a new MAIL command is received while a transaction is open, the server",)
    assert first.paraphrase == ("(paraphrase lines may follow a quote)",)
    assert first.requirement == first.quote[0]
    assert first.steps == (
        Send(8, "MAIL FROM:<$alice>"),
        Expect(9, ("250",)),
        Send(10, "MAIL FROM:<$alice>"),
        Expect(11, ("503",)),
    )
    assert second.citation == Citation(2920, "3.1")
    assert second.requires == ("PIPELINING",)
    assert second.requirement == "replies come back in the order of the commands"
    # SMTP: each S: line is one reply, so two lines are two expectations
    assert second.steps == (
        Send(15, "MAIL FROM:<$alice>\\r\\nRCPT TO:<$bob>\\r\\n", raw=True),
        Expect(16, ("250",)),
        Expect(17, ("250",)),
    )


def test_every_header_key_reaches_the_cases() -> None:
    text = """\
spec: RFC1870 §6 Changes to the MAIL FROM command
protocol: submission
state: authenticated
requires: SIZE, PIPELINING
also: RFC5321 §4.5.3.1.7, RFC6409 §4
title: SIZE on submission
as: bob
timeout: 2.5

== declared-size-over-limit MUST
~ a declared size over the limit is refused
C: MAIL FROM:<$bob> SIZE=999999999999
S: 552
"""
    transcript = parse_transcript(text, Path("x.mt"))
    (case,) = transcript.cases
    assert transcript.protocol == case.protocol == "submission"
    assert case.citation == Citation(1870, "6")
    assert case.also == (Citation(5321, "4.5.3.1.7"), Citation(6409, "4"))
    assert transcript.title == case.title == "SIZE on submission"
    assert case.requires == ("SIZE", "PIPELINING")
    assert case.state == "authenticated"
    assert case.account == "bob"
    assert case.timeout == 2.5


def test_defaults_when_the_header_is_minimal() -> None:
    case = case_of("spec: RFC5321 §4.1.4 Order\n\n== c SPEC\n~ x\nC: NOOP\nS: 250\n")
    assert case.protocol == "smtp"  # from suites/smtp/
    assert case.state == "greeted"
    assert case.account == "alice"
    assert case.timeout is None
    assert case.requires == ()
    assert case.also == ()
    assert case.title == "Order"


def test_case_options_override_and_extend_the_header() -> None:
    text = """\
spec: RFC5321 §4.1.4 Order
also: RFC5321 §3.3
requires: PIPELINING
state: greeted
as: alice
timeout: 3

== c SHOULD cite="RFC2920 §3.1" also="RFC1870 §6" requires=SIZE state=tls as=bob timeout=0.5 title="With spaces"
> quoted
C: NOOP
S: 250
"""
    case = case_of(text)
    assert case.level is Level.SHOULD
    assert case.citation == Citation(2920, "3.1")
    assert case.also == (Citation(5321, "3.3"), Citation(1870, "6"))
    assert case.requires == ("PIPELINING", "SIZE")
    assert (case.state, case.account, case.timeout, case.title) == ("tls", "bob", 0.5, "With spaces")


@pytest.mark.parametrize("level", ["MUST", "SHOULD", "MAY", "SPEC"])
def test_levels_and_only_must_blocks(level: str) -> None:
    case = case_of(f"spec: RFC5321 §4.1.4 Order\n\n== c {level}\n~ x\nC: NOOP\nS: 250\n")
    assert case.level.value == level
    assert case.level.blocking is (level == "MUST")


def test_protocol_comes_from_the_folder_unless_the_header_names_it() -> None:
    body = "\n== c MUST\n~ x\nC: STAT\nS: +OK\n"
    pop3 = parse_transcript("spec: RFC1939 §5 STAT" + body, Path("suites/pop3/rfc1939/5-stat.mt"))
    assert pop3.protocol == "pop3"
    smtp_folder = parse_transcript("spec: RFC1939 §5 STAT\nprotocol: pop3" + body, Path("suites/smtp/odd.mt"))
    assert smtp_folder.protocol == "pop3"


def test_comments_and_blank_lines_are_ignored_everywhere() -> None:
    text = """\
# a comment before the header

spec: RFC5321 §4.1.4 Order
# between header lines
protocol: smtp

== c MUST

# a comment inside a case
~ x

C: NOOP
   # indented comment
S: 250
"""
    assert case_of(text).steps == (Send(12, "NOOP"), Expect(14, ("250",)))


def test_quote_and_paraphrase_lines_keep_their_order_and_requirement_prefers_the_quote() -> None:
    case = case_of("spec: RFC5321 §4.1.4 Order\n\n== c MUST\n~ first\n> one\n>two\n~ second\nC: NOOP\nS: 250\n")
    assert case.quote == ("one", "two")
    assert case.paraphrase == ("first", "second")
    assert case.requirement == "one two"


# -- steps ----------------------------------------------------------------------------------------


def test_send_lines_keep_variables_and_escapes_for_the_runner() -> None:
    steps = steps_of("C: MAIL FROM:<$alice> ${run}$$\nB: a\\r\\nb\\x00\nC:NOOP\nC:\nS: 250\n")
    assert steps[:4] == (
        Send(6, "MAIL FROM:<$alice> ${run}$$"),
        Send(7, "a\\r\\nb\\x00", raw=True),
        Send(8, "NOOP"),
        Send(9, ""),
    )


@pytest.mark.parametrize(
    "name",
    [
        "domain",
        "hostname",
        "client",
        "alice",
        "bob",
        "alice_login",
        "alice_password",
        "bob_login",
        "bob_password",
        "unknown",
        "foreign",
        "run",
    ],
)
def test_every_target_variable_of_the_readme_may_be_used(name: str) -> None:
    steps = steps_of(f"C: X ${name} ${{{name}}}\nB: ${name}\\r\\n\nS: 250\n")
    assert steps[0] == Send(6, f"X ${name} ${{{name}}}")


def test_expectations_negations_eof_and_silence() -> None:
    steps = steps_of("C: NOOP\nS!: 5xx\nC: QUIT\nS: 221\nS: <EOF>\n")
    assert steps[1] == Expect(7, ("5xx",), negate=True)
    assert steps[4] == ExpectClose(10)
    assert steps_of("B: DATA\\r\\n\nS: <SILENT>\n")[1] == ExpectSilence(7)


@pytest.mark.parametrize(
    ("line", "verb", "args"),
    [
        ("! starttls", "starttls", ()),
        ("! close", "close", ()),
        ("! reconnect", "reconnect", ()),
        ("! sleep 0.2", "sleep", ("0.2",)),
        ("! timeout 600", "timeout", ("600",)),
        ("! deliver bob 3", "deliver", ("bob", "3")),
        ("! deliver alice 2 5000", "deliver", ("alice", "2", "5000")),
        ("!starttls", "starttls", ()),
    ],
)
def test_directives_with_their_arguments(line: str, verb: str, args: tuple[str, ...]) -> None:
    assert steps_of(line + "\nC: NOOP\nS: 250\n")[0] == Directive(6, verb, args)


def test_connections_with_protocol_state_and_account() -> None:
    steps = steps_of("@other\n@box pop3 state=authenticated as=bob\n@main\nC: NOOP\nS: 250\n")
    assert steps[:3] == (
        UseConnection(6, "other"),
        UseConnection(7, "box", "pop3", "authenticated", "bob"),
        UseConnection(8, "main"),
    )


def test_s_lines_on_another_protocols_connection_mean_what_that_protocol_says() -> None:
    steps = steps_of(
        "C: NOOP\nS: 250\n@box pop3\nC: LIST\nS: +OK\nS| 1 *\nS| ...\n@m imap\nS: * 1 EXISTS\nS: a1 OK *\n"
    )
    assert steps[4] == Expect(10, ("+OK",), ("1 *", "..."))
    assert steps[6] == Expect(14, ("* 1 EXISTS", "a1 OK *"))


def test_imap_s_lines_group_untagged_responses_up_to_the_tagged_one() -> None:
    steps = steps_of(
        "C: a1 SELECT INBOX\nS: * 2 EXISTS\nS: * FLAGS (*)\nS: a1 OK *\nS: * BYE *\nS: a2 OK *\n"
        "C: a3 AUTHENTICATE PLAIN\nS: + *\nS: a3 OK *\nS!: * 1 EXPUNGE\nS!: a4 NO *\n",
        protocol="imap",
    )
    assert steps[1:] == (
        Expect(7, ("* 2 EXISTS", "* FLAGS (*)", "a1 OK *")),
        Expect(10, ("* BYE *", "a2 OK *")),
        Send(12, "a3 AUTHENTICATE PLAIN"),
        Expect(13, ("+ *",)),  # a continuation closes a group
        Expect(14, ("a3 OK *",)),
        Expect(15, ("* 1 EXPUNGE",), negate=True),  # S!: never joins a group
        Expect(16, ("a4 NO *",), negate=True),
    )


def test_pop3_body_lines_attach_to_their_reply() -> None:
    steps = steps_of("C: RETR 1\nS: +OK\nS| Subject: x\nS|\nS| ...\nS|.leading dot\n", protocol="pop3")
    assert steps[1] == Expect(7, ("+OK",), ("Subject: x", "", "...", ".leading dot"))


@pytest.mark.parametrize("mark", ["{}", "{}+"])
def test_literal_lines_follow_their_command(mark: str) -> None:
    steps = steps_of(
        f"C: a1 APPEND INBOX {mark}\nL: Subject: hi\n\n# blank lines and comments do not end a literal\nL:\nL: body\n"
        "S: + *\nS: a1 OK *\n",
        protocol="imap",
    )
    assert steps[:2] == (Send(6, f"a1 APPEND INBOX {mark}"), LiteralData(7, ("Subject: hi", "", "body")))


def test_captures_of_earlier_s_lines_are_variables() -> None:
    steps = steps_of(
        "C: UIDL 1\nS: +OK 1 $uid\nC: STAT\nS: +OK $count ${size}\nS: +OK (?P<rx>\\d+) (re)\n"
        "C: X $uid $count $size $rx\n",
        protocol="pop3",
    )
    assert steps[-1] == Send(11, "X $uid $count $size $rx")


def test_case_id_uses_the_path_under_suites() -> None:
    transcript = parse_transcript(
        "spec: RFC3501 §6.1.1 CAPABILITY\n\n== lists-imap4rev1 MUST\n~ x\nC: a1 CAPABILITY\nS: a1 OK *\n",
        Path("/anywhere/suites/imap/rfc3501/6.1.1-capability.mt"),
        Path("imap/rfc3501/6.1.1-capability.mt"),
    )
    assert transcript.cases[0].case_id == "imap/rfc3501/6.1.1-capability::lists-imap4rev1"


# -- errors ---------------------------------------------------------------------------------------

SMTP = "spec: RFC5321 §4.1.4 Order of Commands\n"
C = "== a-case MUST\n~ what it checks\n"
OK = "C: NOOP\nS: 250\n"
POP3 = "spec: RFC1939 §5 Transaction\nprotocol: pop3\n"
IMAP = "spec: RFC3501 §6.3.11 APPEND\nprotocol: imap\n"

ERRORS = [
    # header
    ("spec-missing", f"protocol: smtp{MARK}\n{C}{OK}", ["missing 'spec:", "header"]),
    ("spec-missing-no-cases", f"protocol: smtp{MARK}\n", ["missing 'spec:"]),
    ("spec-malformed", f"spec: RFC §4.1 Order{MARK}\n{C}{OK}", ["expected 'RFC<number> §<section>'", "'RFC §4.1"]),
    ("header-unknown-key", f"{SMTP}flavour: vanilla{MARK}\n{C}{OK}", ["expected a header 'key: value'", "spec"]),
    ("header-no-colon", f"{SMTP}just words{MARK}\n{C}{OK}", ["expected a header", "or a case '=='"]),
    ("header-twice", f"{SMTP}{SMTP.strip()}{MARK}\n{C}{OK}", ["header 'spec' given twice"]),
    ("also-malformed", f"{SMTP}also: RFC1870{MARK}\n{C}{OK}", ["expected 'RFC<number> §<section>'", "RFC1870"]),
    ("protocol-unknown", f"{SMTP}protocol: nntp{MARK}\n{C}{OK}", ["protocol must be one of", "'nntp'"]),
    ("timeout-not-number", f"{SMTP}timeout: soon{MARK}\n{C}{OK}", ["timeout 'soon' is not a number of seconds"]),
    ("timeout-zero", f"{SMTP}timeout: 0{MARK}\n{C}{OK}", ["timeout '0' must be more than 0 and at most 600"]),
    ("timeout-too-long", f"{SMTP}timeout: 601{MARK}\n{C}{OK}", ["at most 600 seconds"]),
    ("as-unknown", f"{SMTP}as: carol{MARK}\n{C}{OK}", ["'as' must be one of alice, bob"]),
    ("state-unknown-in-header", f"{SMTP}state: selected{MARK}\n\n{C}{OK}", ["state 'selected' is not one of", "smtp"]),
    ("no-cases", f"{SMTP}protocol: smtp{MARK}\n", ["the file has no cases", "== slug LEVEL"]),
    ("no-protocol", f"{SMTP}\n== a-case MUST{MARK}\n~ x\n{OK}", ["no 'protocol:' header", "no protocol folder"]),
    # case lines
    ("slug-twice", f"{SMTP}{C}{OK}\n== a-case SHOULD{MARK}\n~ y\n{OK}", ["case slug 'a-case' already used on line 2"]),
    ("case-line-quote", f'{SMTP}== a-case MUST title="unclosed{MARK}\n~ x\n{OK}', ["case line:", "quotation"]),
    ("case-line-short", f"{SMTP}== a-case{MARK}\n~ x\n{OK}", ["a case line is '== slug LEVEL [key=value ...]'"]),
    ("slug-malformed", f"{SMTP}== A_Case MUST{MARK}\n~ x\n{OK}", ["case slug 'A_Case'", "lower-case letters, digits"]),
    ("level-unknown", f"{SMTP}== a-case REQUIRED{MARK}\n~ x\n{OK}", ["level 'REQUIRED'", "MUST, SHOULD, MAY or SPEC"]),
    ("option-unknown", f"{SMTP}== a-case MUST flavour=x{MARK}\n~ x\n{OK}", ["case option 'flavour=x'", "cite, also"]),
    ("option-no-value", f"{SMTP}== a-case MUST cite{MARK}\n~ x\n{OK}", ["case option 'cite': expected key=value"]),
    ("cite-malformed", f'{SMTP}== a-case MUST cite="RFC2920"{MARK}\n~ x\n{OK}', ["expected 'RFC<number> §<section>'"]),
    ("also-option-malformed", f"{SMTP}== a-case MUST also=§3{MARK}\n~ x\n{OK}", ["expected 'RFC<number> §<section>'"]),
    ("timeout-option", f"{SMTP}== a-case MUST timeout=-1{MARK}\n~ x\n{OK}", ["timeout '-1' must be more than 0"]),
    ("state-option", f"{SMTP}== a-case MUST state=selected{MARK}\n~ x\n{OK}", ["state 'selected' is not one of"]),
    ("as-option", f"{SMTP}== a-case MUST as=carol{MARK}\n~ x\n{OK}", ["'as' must be one of alice, bob"]),
    ("no-steps", f"{SMTP}== a-case MUST{MARK}\n~ x\n", ["case 'a-case' has no steps"]),
    ("no-requirement", f"{SMTP}== a-case MUST{MARK}\n{OK}", ["case 'a-case' needs its requirement", "'>' quote"]),
    # step lines
    ("unexpected-line", f"{SMTP}{C}X: what{MARK}\n{OK}", ["unexpected line 'X: what'", "> ~ C: B: L: S: S!: S| ! @"]),
    ("text-unterminated", f"{SMTP}{C}C: MAIL FROM:<${{alice>{MARK}\n{OK}", ["unterminated '${'"]),
    ("raw-escape-unknown", f"{SMTP}{C}B: NOOP\\q{MARK}\n{OK}", ["unknown escape '\\q'"]),
    (
        "variable-unknown",
        f"{SMTP}{C}C: RCPT TO:<$rcpt>{MARK}\n{OK}",
        ["variable $rcpt is neither a target variable nor captured by an earlier S: line"],
    ),
    ("capture-later", f"{POP3}{C}C: RETR $n{MARK}\nS: +OK $n *\n", ["variable $n is neither"]),
    ("capture-negated", f"{POP3}{C}C: STAT\nS!: +OK $n *\nC: RETR $n{MARK}\n", ["variable $n is neither"]),
    ("literal-variable-unknown", f"{IMAP}{C}C: a1 APPEND INBOX {{}}\nL: $nope{MARK}\nS: + *\n", ["variable $nope"]),
    ("eof-negated", f"{SMTP}{C}{OK}S!: <EOF>{MARK}\n", ["S!: <EOF> makes no sense; use S: <EOF>"]),
    ("silent-negated", f"{SMTP}{C}{OK}S!: <SILENT>{MARK}\n", ["S!: <SILENT> makes no sense"]),
    ("s-empty", f"{SMTP}{C}C: NOOP\nS:{MARK}\n", ["empty S: line"]),
    (
        "glob-dollar",
        f"{POP3}{C}C: STAT\nS: +OK $ 5{MARK}\n",
        ["'$' at column", "starts no capture name", "write \\$ for"],
    ),
    ("regex-bad", f"{POP3}{C}C: STAT\nS: +OK ([ (re){MARK}\n", ["bad regular expression"]),
    ("smtp-pattern-no-code", f"{SMTP}{C}C: NOOP\nS: OK{MARK}\n", ["SMTP reply pattern 'OK'", "start with a code"]),
    ("smtp-pattern-text", f"{SMTP}{C}C: NOOP\nS!: 250 Ok fine{MARK}\n", ["unexpected 'Ok'", "never matched"]),
    ("pop3-pattern-status", f"{POP3}{C}C: STAT\nS: OK 1 2{MARK}\n", ["POP3 reply pattern", "+OK, -ERR or +"]),
    ("pop3-pattern-code", f"{POP3}{C}C: STAT\nS: -ERR [IN-USE{MARK}\n", ["'[' of a response code is not closed"]),
    ("imap-pattern-tag", f"{IMAP}{C}C: a_1 NOOP\nS: a_1 OK *{MARK}\n", ["a tag is letters and digits", "'a_1'"]),
    ("body-not-pop3", f"{SMTP}{C}{OK}S| text{MARK}\n", ["S| body lines belong to POP3 multi-line replies only"]),
    ("body-first", f"{POP3}{C}C: LIST\nS| 1 *{MARK}\n", ["S| must follow the S: line of a multi-line reply"]),
    ("body-after-negation", f"{POP3}{C}C: LIST\nS!: -ERR\nS| 1 *{MARK}\n", ["S| must follow the S: line"]),
    ("body-pattern", f"{POP3}{C}C: LIST\nS: +OK\nS| 1 ${{x{MARK}\n", ["starts no capture name"]),
    ("directive-unknown", f"{SMTP}{C}! dance{MARK}\n{OK}", ["unknown directive", "! starttls", "! deliver"]),
    ("directive-empty", f"{SMTP}{C}!{MARK}\n{OK}", ["unknown directive"]),
    ("directive-too-few", f"{SMTP}{C}! sleep{MARK}\n{OK}", ["'! sleep' takes 1..1 arguments, got 0"]),
    ("directive-too-many", f"{SMTP}{C}! starttls now{MARK}\n{OK}", ["'! starttls' takes 0..0 arguments, got 1"]),
    ("deliver-too-few", f"{SMTP}{C}! deliver bob{MARK}\n{OK}", ["'! deliver' takes 2..3 arguments, got 1"]),
    ("timeout-directive", f"{SMTP}{C}! timeout never{MARK}\n{OK}", ["timeout 'never' is not a number"]),
    ("sleep-directive", f"{SMTP}{C}! sleep 0{MARK}\n{OK}", ["must be more than 0"]),
    ("deliver-account", f"{SMTP}{C}! deliver carol 1{MARK}\n{OK}", ["'! deliver' account must be one of alice, bob"]),
    (
        "deliver-count",
        f"{SMTP}{C}! deliver bob two{MARK}\n{OK}",
        ["'! deliver ACCOUNT COUNT [SIZE]' takes whole numbers"],
    ),
    ("at-empty", f"{SMTP}{C}@{MARK}\n{OK}", ["'@name [protocol] [state=...] [as=alice|bob]' names a connection"]),
    ("at-bad-name", f"{SMTP}{C}@9lives{MARK}\n{OK}", ["names a connection"]),
    ("at-protocol-unknown", f"{SMTP}{C}@box nntp{MARK}\n{OK}", ["'@box': unexpected 'nntp'"]),
    ("at-account-unknown", f"{SMTP}{C}@box as=carol{MARK}\n{OK}", ["'@box': unexpected 'as=carol'"]),
    ("at-state-unknown", f"{SMTP}{C}@box state=selected{MARK}\n{OK}", ["state 'selected' is not one of", "for smtp"]),
    ("at-main-other-protocol", f"{SMTP}{C}{OK}@main pop3{MARK}\n", ["'@main' is a smtp connection"]),
    ("literal-without-mark", f"{IMAP}{C}C: a1 NOOP\nL: data{MARK}\nS: a1 OK *\n", ["L: lines must follow a C: line"]),
    (
        "literal-without-command",
        f"{IMAP}{C}L: data{MARK}\nS: a1 OK *\n",
        ["L: lines must follow a C: line ending in {}"],
    ),
    (
        "literal-twice",
        f"{IMAP}{C}C: a1 APPEND INBOX {{}}\nL: a\nS: + *\nL: b{MARK}\nS: a1 OK *\n",
        ["L: lines must follow"],
    ),
    (
        "literal-missing",
        f"{IMAP}{C}C: a1 APPEND INBOX {{}}{MARK}\nS: a1 OK *\n",
        ["a C: line ending in {} must be followed"],
    ),
]


def _locate(marked: str) -> tuple[str, int]:
    """The text without the mark, and the number of the marked line."""
    lines = marked.split("\n")
    (number,) = [n for n, line in enumerate(lines, start=1) if line.endswith(MARK)]
    return "\n".join(line.removesuffix(MARK) for line in lines), number


@pytest.mark.parametrize(("marked", "words"), [pytest.param(t, w, id=i) for i, t, w in ERRORS])
def test_malformed_file_names_file_line_and_problem(marked: str, words: list[str]) -> None:
    text, line = _locate(marked)
    path = Path("x.mt") if "no protocol folder" in " ".join(words) else SUITE
    with pytest.raises(TranscriptError) as raised:
        parse_transcript(text, path)
    error = raised.value
    assert str(error).startswith(f"{path}:{line}: "), str(error)
    assert (error.path, error.line) == (str(path), line)
    assert "\n" not in str(error)
    for word in words:
        assert word in error.message
