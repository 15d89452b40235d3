"""IMAP `S:` groups: untagged responses in any order up to the tagged one, FETCH compared item by item.

Responses are framed by the real ImapReader from wire bytes (examples after RFC 3501 §6 and §7).
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from harness.expect.imap import imap_group_mismatch, parse_imap_group
from harness.readers.imap import ImapReader, ImapResponse

# RFC 3501 §6.3.1 SELECT example
SELECT = (
    b"* 172 EXISTS\r\n* 1 RECENT\r\n* OK [UNSEEN 12] Message 12 is first unseen\r\n"
    b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n* OK [UIDNEXT 4392] Predicted next UID\r\n"
    b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
    b"* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n"
    b"A142 OK [READ-WRITE] SELECT completed\r\n"
)


def responses(wire: bytes) -> list[ImapResponse]:
    """All responses framed from `wire`, which must hold whole responses only."""
    reader = ImapReader()
    reader.feed(wire)
    framed: list[ImapResponse] = []
    while (response := reader.next_reply()) is not None:
        framed.append(response)
    assert reader.buffered == b""
    return framed


def judge(
    patterns: tuple[str, ...], wire: bytes, bound: Mapping[str, str] | None = None
) -> tuple[str | None, dict[str, str]]:
    return imap_group_mismatch(parse_imap_group(patterns), responses(wire), bound or {})


# -- parsing groups -------------------------------------------------------------------------------


def test_group_of_untagged_lines_closed_by_the_tagged_one() -> None:
    group = parse_imap_group(("* $n EXISTS", "* FLAGS (*)", "A142 OK *"))
    assert [p.source for p in group.untagged] == ["* $n EXISTS", "* FLAGS (*)"]
    assert group.final is not None and group.final.source == "A142 OK *"
    assert group.tag == "A142"
    assert not group.ends_with_continuation
    assert group.names == {"n"}


def test_group_closed_by_a_continuation_request() -> None:
    group = parse_imap_group(("+ *",))
    assert group.ends_with_continuation and group.tag is None


def test_group_of_untagged_lines_only() -> None:
    group = parse_imap_group(("* OK *",))
    assert group.final is None and group.tag is None and not group.ends_with_continuation


@pytest.mark.parametrize(
    ("patterns", "words"),
    [
        (("a1 OK *", "* 1 EXISTS"), ["only the last line of a group may be tagged or '+'"]),
        (("+ go", "a1 OK *"), ["only the last line"]),
        (("a-1 OK *",), ["a tag is letters and digits, not 'a-1'"]),
        (("* $ EXISTS",), ["starts no capture name"]),
        (("a1 OK ([ (re)",), ["bad regular expression"]),
    ],
)
def test_malformed_groups(patterns: tuple[str, ...], words: list[str]) -> None:
    with pytest.raises(ValueError) as raised:
        parse_imap_group(patterns)
    for word in words:
        assert word in str(raised.value)


# -- groups ---------------------------------------------------------------------------------------


def test_untagged_responses_match_in_any_order_and_others_are_allowed() -> None:
    assert judge(("* FLAGS (*)", "* OK [UIDNEXT *] *", "* 172 EXISTS", "A142 OK [READ-WRITE] *"), SELECT) == (None, {})
    assert judge(("A142 OK *",), SELECT) == (None, {})  # untagged responses not mentioned are allowed


def test_missing_untagged_response_is_named() -> None:
    found, captures = judge(("* 1 RECENT", "* 173 EXISTS", "A142 OK *"), SELECT)
    assert found == "no untagged response matches '* 173 EXISTS'"
    assert captures == {}


def test_tagged_completion_must_match() -> None:
    found, _ = judge(("* 172 EXISTS", "A142 OK *"), SELECT.replace(b"A142 OK [READ-WRITE]", b"A142 NO [CANNOT]"))
    assert found == "'A142 NO [CANNOT] SELECT completed' does not match 'A142 OK *'"


def test_captures_from_untagged_and_tagged_lines() -> None:
    found, captures = judge(("* $exists EXISTS", "* OK [UIDVALIDITY $uidvalidity] *", "A142 OK [$mode] *"), SELECT)
    assert found is None
    assert captures == {"exists": "172", "uidvalidity": "3857529045", "mode": "READ-WRITE"}
    assert judge(("* $exists EXISTS", "A142 OK *"), SELECT, {"exists": "171"})[0] is not None


def test_each_pattern_takes_a_response_of_its_own() -> None:
    wire = b"* 2 EXISTS\r\na1 OK done\r\n"
    assert judge(("* * EXISTS", "* * EXISTS", "a1 OK *"), wire)[0] is not None
    # the first pattern fits both; only giving it the second response lets the other one match
    wire = b"* 3 EXISTS\r\n* 2 EXISTS\r\na1 OK done\r\n"
    assert judge(("* * EXISTS", "* 3 EXISTS", "a1 OK *"), wire) == (None, {})


def test_continuation_and_untagged_only_groups() -> None:
    assert judge(("+ *",), b"+ Ready for literal data\r\n") == (None, {})
    assert judge(("* OK *",), b"* OK IMAP4rev1 Service Ready\r\n") == (None, {})
    assert judge(("* PREAUTH *",), b"* OK IMAP4rev1 Service Ready\r\n")[0] is not None


def test_tagged_responses_of_other_commands_are_not_untagged_matches() -> None:
    wire = b"a0 OK NOOP completed\r\n* 4 EXISTS\r\na1 OK done\r\n"
    assert judge(("* 4 EXISTS", "a1 OK *"), wire) == (None, {})
    assert judge(("* a0 OK *", "a1 OK *"), wire)[0] is not None


def test_regex_pattern_closing_a_group() -> None:
    wire = b"* SEARCH 2 84 882\r\na1 OK SEARCH completed\r\n"
    assert judge(("* SEARCH *", r"a1 OK (?P<verb>[A-Z]+) completed (re)"), wire) == (None, {"verb": "SEARCH"})
    assert judge(("* SEARCH *", r"a1 NO .* (re)"), wire)[0] is not None


# -- FETCH ----------------------------------------------------------------------------------------


def test_fetch_items_match_in_any_order_with_flags_as_sets() -> None:
    wire = b"* 12 FETCH (FLAGS (\\Seen \\Answered) UID 4827313 RFC822.SIZE 4286)\r\na1 OK done\r\n"
    assert judge(("* 12 FETCH (UID 4827313 FLAGS (\\Answered \\Seen))", "a1 OK *"), wire) == (None, {})
    assert judge(("* 12 FETCH (RFC822.SIZE $size)", "a1 OK *"), wire) == (None, {"size": "4286"})


@pytest.mark.parametrize(
    "pattern",
    [
        "* 12 FETCH (FLAGS (\\Seen))",  # a set of flags, not a subset
        "* 12 FETCH (FLAGS (\\Seen \\Answered \\Deleted))",
        "* 12 FETCH (UID 1)",
        "* 12 FETCH (INTERNALDATE *)",  # an item the response does not carry
        "* 13 FETCH (UID 4827313)",
    ],
)
def test_fetch_items_that_differ(pattern: str) -> None:
    wire = b"* 12 FETCH (FLAGS (\\Seen \\Answered) UID 4827313)\r\na1 OK done\r\n"
    found, _ = judge((pattern, "a1 OK *"), wire)
    assert found == f"no untagged response matches {pattern!r}"


def test_system_flags_compare_without_case() -> None:
    wire = b"* 1 FETCH (FLAGS (\\SEEN \\flagged))\r\na1 OK done\r\n"
    assert judge(("* 1 FETCH (FLAGS (\\Flagged \\Seen))", "a1 OK *"), wire) == (None, {})


def test_empty_flag_list() -> None:
    wire = b"* 1 FETCH (FLAGS ())\r\na1 OK done\r\n"
    assert judge(("* 1 FETCH (FLAGS ())", "a1 OK *"), wire) == (None, {})
    assert judge(("* 1 FETCH (FLAGS (\\Seen))", "a1 OK *"), wire)[0] is not None


def test_fetch_literal_and_section_items() -> None:
    body = b"Subject: lunch\r\n\r\nAt noon?\r\n"
    wire = (
        b"* 2 FETCH (UID 7 BODY[HEADER.FIELDS (SUBJECT)] {16}\r\nSubject: lunch\r\n"
        b" BODY[TEXT] {%d}\r\n" % (len(body) - 18) + body[18:] + b")\r\na2 OK done\r\n"
    )
    patterns = ("* $msg FETCH (BODY[TEXT] *noon* BODY[HEADER.FIELDS (SUBJECT)] Subject:* UID $uid)", "a2 OK *")
    assert judge(patterns, wire) == (None, {"msg": "2", "uid": "7"})


def test_fetch_capture_must_match_a_bound_value() -> None:
    wire = b"* 3 FETCH (UID 44)\r\na1 OK done\r\n"
    assert judge(("* 3 FETCH (UID $uid)", "a1 OK *"), wire, {"uid": "44"}) == (None, {})
    assert judge(("* 3 FETCH (UID $uid)", "a1 OK *"), wire, {"uid": "45"})[0] is not None


@pytest.mark.parametrize(
    "wire",
    [
        b"* 1 FETCH (FLAGS (\\Seen) UID)\r\na1 OK done\r\n",  # an item without a value
        b"* 1 FETCH (FLAGS NIL UID 4)\r\na1 OK done\r\n",  # FLAGS that is not a list
        b"* 1 FETCH (FLAGS (\\Seen (nested)) UID 4)\r\na1 OK done\r\n",
    ],
)
def test_malformed_fetch_data_is_a_mismatch_not_a_crash(wire: bytes) -> None:
    found, _ = judge(("* 1 FETCH (FLAGS (\\Seen) UID 4)", "a1 OK *"), wire)
    assert found == "no untagged response matches '* 1 FETCH (FLAGS (\\\\Seen) UID 4)'"
