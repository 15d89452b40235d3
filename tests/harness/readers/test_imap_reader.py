"""IMAP response framing and tokenising: RFC 3501 §8 sample session, §6/§7 examples, literals,
RFC 9051 literal8, response codes, fetch_items/flags_set, defects."""

from __future__ import annotations

import pytest

from harness.readers.errors import ReplyFramingError
from harness.readers.imap import ImapReader, ImapResponse, ImapString, ImapValue, fetch_items, flags_set
from tests.harness.readers.feeding import read_in_every_chunking, read_replies

S = ImapString

# RFC 3501 §8: the 342-octet header literal of "a004 fetch 12 body[header]".
HEADER_342 = (
    b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n"
    b"From: Terry Gray <gray@cac.washington.edu>\r\n"
    b"Subject: IMAP4rev1 WG mtg summary and minutes\r\n"
    b"To: imap@cac.washington.edu\r\n"
    b"cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n"
    b"Message-Id: <B27397-0100000@cac.washington.edu>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    b"\r\n"
)

# RFC 3501 §8 server lines; the long FETCH line is rejoined (the RFC breaks it "for editorial
# clarity").
FETCH_FULL = (
    b'* 12 FETCH (FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" '
    b'RFC822.SIZE 4286 ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" '
    b'"IMAP4rev1 WG mtg summary and minutes" '
    b'(("Terry Gray" NIL "gray" "cac.washington.edu")) '
    b'(("Terry Gray" NIL "gray" "cac.washington.edu")) '
    b'(("Terry Gray" NIL "gray" "cac.washington.edu")) '
    b'((NIL NIL "imap" "cac.washington.edu")) '
    b'((NIL NIL "minutes" "CNRI.Reston.VA.US") '
    b'("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL '
    b'"<B27397-0100000@cac.washington.edu>") '
    b'BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92))'
)
SAMPLE_RESPONSES = (
    b"* OK IMAP4rev1 Service Ready",
    b"a001 OK LOGIN completed",
    b"* 18 EXISTS",
    b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
    b"* 2 RECENT",
    b"* OK [UNSEEN 17] Message 17 is the first unseen message",
    b"* OK [UIDVALIDITY 3857529045] UIDs valid",
    b"a002 OK [READ-WRITE] SELECT completed",
    FETCH_FULL,
    b"a003 OK FETCH completed",
    b"* 12 FETCH (BODY[HEADER] {342}\r\n" + HEADER_342 + b")",
    b"a004 OK FETCH completed",
    b"* 12 FETCH (FLAGS (\\Seen \\Deleted))",
    b"a005 OK +FLAGS completed",
    b"* BYE IMAP4rev1 server terminating connection",
    b"a006 OK LOGOUT completed",
)
SAMPLE_STREAM = b"".join(response + b"\r\n" for response in SAMPLE_RESPONSES)

# RFC 3501 §6.3.1 SELECT example and §7.5 continuation example, then literal edge cases.
SELECT_STREAM = (
    b"* 172 EXISTS\r\n* 1 RECENT\r\n* OK [UNSEEN 12] Message 12 is first unseen\r\n"
    b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n* OK [UIDNEXT 4392] Predicted next UID\r\n"
    b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
    b"* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n"
    b"A142 OK [READ-WRITE] SELECT completed\r\n"
    b"+ Ready for additional command text\r\n"
    b"* 1 FETCH (BODY[] {12}\r\nab\r\n{3}\r\nxyz)\r\n"
    b"* 2 FETCH (BODY[HEADER] {3}\r\nabc BODY[TEXT] {0}\r\n)\r\n"
    b"* 3 FETCH (BINARY[1] ~{3}\r\na\x00b)\r\n"
)


def read_all(chunks: list[bytes]) -> list[ImapResponse]:
    return read_replies(ImapReader(), chunks)


def read_one(data: bytes) -> ImapResponse:
    responses = read_all([data])
    assert len(responses) == 1
    return responses[0]


@pytest.mark.parametrize("stream", [SAMPLE_STREAM, SELECT_STREAM], ids=["rfc3501-8", "select-and-literals"])
def test_fragmentation_never_changes_the_responses(stream: bytes) -> None:
    read_in_every_chunking(read_all, stream, step=9)


def test_header_literal_length_matches_the_rfc() -> None:
    assert len(HEADER_342) == 342


def test_sample_session_kinds_tags_and_statuses() -> None:
    responses = read_all([SAMPLE_STREAM])
    assert len(responses) == len(SAMPLE_RESPONSES)
    assert [(r.kind, r.tag, r.status) for r in responses] == [
        ("untagged", None, "OK"),
        ("tagged", "a001", "OK"),
        ("untagged", None, None),
        ("untagged", None, None),
        ("untagged", None, None),
        ("untagged", None, "OK"),
        ("untagged", None, "OK"),
        ("tagged", "a002", "OK"),
        ("untagged", None, None),
        ("tagged", "a003", "OK"),
        ("untagged", None, None),
        ("tagged", "a004", "OK"),
        ("untagged", None, None),
        ("tagged", "a005", "OK"),
        ("untagged", None, "BYE"),
        ("tagged", "a006", "OK"),
    ]
    assert [r.line for r in responses] == list(SAMPLE_RESPONSES)
    assert all(r.defects == () for r in responses)


def test_sample_session_values() -> None:
    responses = read_all([SAMPLE_STREAM])
    assert responses[0].values == ("OK", "IMAP4rev1 Service Ready")
    assert responses[0].text == "IMAP4rev1 Service Ready"
    assert responses[0].resp_code is None
    assert responses[2].values == ("18", "EXISTS")
    assert responses[3].values == ("FLAGS", ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"))
    assert responses[5].values == ("OK", ("UNSEEN", "17"), "Message 17 is the first unseen message")
    assert responses[5].resp_code == ("UNSEEN", "17")
    assert responses[5].text == "Message 17 is the first unseen message"
    assert responses[6].resp_code == ("UIDVALIDITY", "3857529045")
    assert responses[7].resp_code == ("READ-WRITE",)
    assert responses[7].text == "SELECT completed"
    assert responses[13].text == "+FLAGS completed"
    assert responses[14].text == "IMAP4rev1 server terminating connection"


def test_sample_fetch_full_items() -> None:
    fetch = read_all([SAMPLE_STREAM])[8]
    assert fetch.values[:2] == ("12", "FETCH")
    items = fetch_items(fetch.values)
    assert set(items) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"}
    assert flags_set(items["FLAGS"]) == frozenset({"\\Seen"})
    assert items["INTERNALDATE"] == S(b"17-Jul-1996 02:44:25 -0700")
    assert items["RFC822.SIZE"] == "4286"
    gray: ImapValue = ((S(b"Terry Gray"), None, S(b"gray"), S(b"cac.washington.edu")),)
    assert items["ENVELOPE"] == (
        S(b"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)"),
        S(b"IMAP4rev1 WG mtg summary and minutes"),
        gray,
        gray,
        gray,
        ((None, None, S(b"imap"), S(b"cac.washington.edu")),),
        (
            (None, None, S(b"minutes"), S(b"CNRI.Reston.VA.US")),
            (S(b"John Klensin"), None, S(b"KLENSIN"), S(b"MIT.EDU")),
        ),
        None,
        None,
        S(b"<B27397-0100000@cac.washington.edu>"),
    )
    assert items["BODY"] == (
        S(b"TEXT"),
        S(b"PLAIN"),
        (S(b"CHARSET"), S(b"US-ASCII")),
        None,
        None,
        S(b"7BIT"),
        "3028",
        "92",
    )


def test_sample_fetch_header_literal() -> None:
    responses = read_all([SAMPLE_STREAM])
    items = fetch_items(responses[10].values)
    assert items == {"BODY[HEADER]": S(HEADER_342)}
    value = items["BODY[HEADER]"]
    assert isinstance(value, ImapString) and value.data == HEADER_342 and value.form == "literal"
    assert flags_set(fetch_items(responses[12].values)["FLAGS"]) == frozenset({"\\Seen", "\\Deleted"})


def test_select_example_response_codes() -> None:
    responses = read_all([SELECT_STREAM])
    assert responses[4].resp_code == ("UIDNEXT", "4392")
    assert responses[6].values == ("OK", ("PERMANENTFLAGS", ("\\Deleted", "\\Seen", "\\*")), "Limited")
    assert responses[7].kind == "tagged" and responses[7].tag == "A142"
    assert all(r.defects == () for r in responses)


def test_continuation_request() -> None:
    response = read_all([SELECT_STREAM])[8]
    assert (response.kind, response.tag, response.status) == ("continuation", None, None)
    assert response.text == "Ready for additional command text"
    assert response.values == ("Ready for additional command text",)


def test_literal_holding_crlf_and_a_literal_marker() -> None:
    response = read_all([SELECT_STREAM])[9]
    assert fetch_items(response.values) == {"BODY[]": S(b"ab\r\n{3}\r\nxyz")}


def test_two_literals_and_an_empty_one_in_one_response() -> None:
    response = read_all([SELECT_STREAM])[10]
    assert fetch_items(response.values) == {"BODY[HEADER]": S(b"abc"), "BODY[TEXT]": S(b"")}


def test_literal8_may_carry_nul() -> None:
    # RFC 9051 §9: literal8 = "~{" number64 "}" CRLF *OCTET
    response = read_all([SELECT_STREAM])[11]
    value = fetch_items(response.values)["BINARY[1]"]
    assert isinstance(value, ImapString) and (value.data, value.form) == (b"a\x00b", "literal8")
    assert response.defects == ()


def test_literal_split_across_packets() -> None:
    reader = ImapReader()
    for part in (b"* 1 FETCH (BODY[] {", b"5}", b"\r", b"\nhe", b"ll", b"o", b")\r"):
        reader.feed(part)
        assert reader.next_reply() is None
    reader.feed(b"\n* 2 EXPUNGE\r\n")
    response = reader.next_reply()
    assert response is not None
    assert response.values == ("1", "FETCH", ("BODY[]", S(b"hello")))
    assert response.raw == b"* 1 FETCH (BODY[] {5}\r\nhello)\r\n"
    assert response.line == b"* 1 FETCH (BODY[] {5}\r\nhello)"
    following = reader.next_reply()
    assert following is not None and following.values == ("2", "EXPUNGE")


def test_literal_octets_are_not_scanned_for_line_ends() -> None:
    # The octets of a literal may contain anything, including what looks like a whole response.
    reader = ImapReader()
    reader.feed(b"* 1 FETCH (RFC822 {16}\r\na001 OK done\r\n\r\n)\r\n")
    response = reader.next_reply()
    assert response is not None and fetch_items(response.values) == {"RFC822": S(b"a001 OK done\r\n\r\n")}
    assert reader.next_reply() is None


def test_nested_lists_nil_and_strings() -> None:
    response = read_one(b'* X ((a (b (c))) d) () NIL nil "NIL" "" {0}\r\n\r\n')
    assert response.values == ("X", (("a", ("b", ("c",))), "d"), (), None, None, S(b"NIL"), S(b""), S(b""))


def test_quoted_string_escapes() -> None:
    # RFC 3501 §9: QUOTED-CHAR = <any TEXT-CHAR except quoted-specials> / "\" quoted-specials
    response = read_one(b'* LIST (\\Noselect) "/" "a\\"b\\\\c"\r\n')
    assert response.values == ("LIST", ("\\Noselect",), S(b"/"), S(b'a"b\\c'))
    assert response.defects == ()


def test_strings_and_atoms_are_distinct() -> None:
    response = read_one(b'* LIST () "/" INBOX\r\n')
    assert response.values == ("LIST", (), S(b"/"), "INBOX")


def test_section_atoms_keep_their_spaces_and_partial_suffix() -> None:
    response = read_one(b'* 1 fetch (uid 5 body[header.fields (subject "x-y")]<0> {5}\r\nhello)\r\n')
    items = fetch_items(response.values)
    assert items == {"UID": "5", 'BODY[HEADER.FIELDS (SUBJECT "X-Y")]<0>': S(b"hello")}


def test_tagged_completion_with_response_code() -> None:
    # RFC 4315 §3 example.
    response = read_one(b"A003 OK [APPENDUID 38505 3955] APPEND completed\r\n")
    assert (response.kind, response.tag, response.status) == ("tagged", "A003", "OK")
    assert response.resp_code == ("APPENDUID", "38505", "3955")
    assert response.text == "APPEND completed"


def test_status_words_are_case_insensitive() -> None:
    # RFC 3501 §9 note 1: token strings are accepted in any case.
    response = read_one(b"a1 no [trycreate] no such mailbox\r\n")
    assert (response.status, response.resp_code, response.text) == ("NO", ("trycreate",), "no such mailbox")
    assert response.defects == ()


def test_human_text_is_not_tokenised() -> None:
    response = read_one(b'* BAD (unbalanced "text [here\r\n')
    assert response.values == ("BAD", '(unbalanced "text [here')
    assert response.defects == ()


def test_preauth_greeting_with_capability_code() -> None:
    response = read_one(b"* PREAUTH [CAPABILITY IMAP4rev1 IMAP4rev2] Logged in as bob\r\n")
    assert response.status == "PREAUTH"
    assert response.resp_code == ("CAPABILITY", "IMAP4rev1", "IMAP4rev2")
    assert response.text == "Logged in as bob"


def test_continuation_with_base64_challenge() -> None:
    response = read_one(b"+ YDMGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzBeBiVHeceP2CWY0SR0fAQAgAAQEBAQ=\r\n")
    assert response.kind == "continuation"
    assert response.text == "YDMGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzBeBiVHeceP2CWY0SR0fAQAgAAQEBAQ="


def test_reset_forgets_buffered_octets() -> None:
    reader = ImapReader()
    reader.feed(b"* 1 FETCH (BODY[] {100}\r\nonly part")
    assert reader.next_reply() is None
    reader.reset()
    assert reader.buffered == b""
    reader.feed(b"* 3 EXISTS\r\n")
    response = reader.next_reply()
    assert response is not None and response.values == ("3", "EXISTS")


# --- fetch_items and flags_set ---------------------------------------------------------------


def test_fetch_items_from_rfc3501_uid_example() -> None:
    # RFC 3501 §6.4.8 example.
    response = read_one(b"* 23 FETCH (FLAGS (\\Seen) UID 4827313)\r\n")
    assert fetch_items(response.values) == {"FLAGS": ("\\Seen",), "UID": "4827313"}


@pytest.mark.parametrize(
    "values",
    [("3", "EXISTS"), ("1", "FETCH", ("FLAGS",)), ("1", "FETCH", "FLAGS"), ("1", "FETCH", (S(b"k"), "v"))],
)
def test_fetch_items_rejects_what_is_not_fetch_data(values: tuple[ImapValue, ...]) -> None:
    with pytest.raises(ValueError):
        fetch_items(values)


def test_flags_set_normalises_system_flags_only() -> None:
    # RFC 3501 §2.3.2 system flags; keywords and flag-extensions are kept as sent.
    value: ImapValue = (
        "\\seen",
        "\\ANSWERED",
        "\\fLaGgEd",
        "\\deleted",
        "\\draft",
        "\\recent",
        "$Forwarded",
        "\\Custom",
    )
    assert flags_set(value) == frozenset(
        {"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft", "\\Recent", "$Forwarded", "\\Custom"}
    )
    assert flags_set(()) == frozenset()


@pytest.mark.parametrize("value", [None, "\\Seen", (S(b"\\Seen"),), (("\\Seen",),)])
def test_flags_set_rejects_non_flag_lists(value: ImapValue) -> None:
    with pytest.raises(ValueError):
        flags_set(value)


# --- defects -------------------------------------------------------------------------------


def defects_of(data: bytes) -> str:
    return " | ".join(read_one(data).defects)


def test_bare_lf() -> None:
    response = read_one(b"* 1 FETCH (BODY[] {2}\nhi)\n")
    assert fetch_items(response.values) == {"BODY[]": S(b"hi")}
    assert response.defects.count("line ended with bare LF, not CRLF (RFC 3501 §2.2)") == 2


def test_unbalanced_close_paren() -> None:
    response = read_one(b"* FLAGS (\\Seen))\r\n")
    assert response.values == ("FLAGS", ("\\Seen",))
    assert "§4.4" in " ".join(response.defects)


def test_unclosed_list() -> None:
    response = read_one(b"* FLAGS (\\Seen (x\r\n")
    assert response.values == ("FLAGS", ("\\Seen", ("x",)))
    assert "§4.4" in " ".join(response.defects)


def test_unclosed_quoted_string() -> None:
    response = read_one(b'* LIST () "/ INBOX\r\n')
    assert response.values == ("LIST", (), S(b"/ INBOX"))
    assert "§4.3" in " ".join(response.defects)


@pytest.mark.parametrize(
    "line", [b"* 3  EXISTS\r\n", b"* FLAGS ( \\Seen)\r\n", b"* FLAGS (\\Seen )\r\n", b"* SEARCH \r\n"]
)
def test_extra_spaces(line: bytes) -> None:
    # RFC 3501 §9 note 2: SP is exactly one space.
    assert "note 2" in defects_of(line)


def test_values_without_separating_space() -> None:
    assert "separated by SP" in defects_of(b"* 1 FETCH (FLAGS(\\Seen))\r\n")


@pytest.mark.parametrize("word", [b"PREAUTH", b"BYE"])
def test_tagged_preauth_or_bye(word: bytes) -> None:
    assert "§7.1" in defects_of(b"a1 " + word + b" text\r\n")


def test_tagged_response_that_is_not_a_status() -> None:
    response = read_one(b"a1 18 EXISTS\r\n")
    assert response.kind == "tagged"
    assert response.values == ("18", "EXISTS")
    assert "response-tagged" in " ".join(response.defects)


def test_non_synchronizing_literal_from_server() -> None:
    response = read_one(b"* 1 FETCH (BODY[] {2+}\r\nhi)\r\n")
    assert fetch_items(response.values) == {"BODY[]": S(b"hi")}
    assert "RFC 9051 §9" in " ".join(response.defects)


def test_response_code_defects() -> None:
    assert "resp-text" in defects_of(b"* OK [ALERT no close\r\n")
    assert "resp-text" in defects_of(b"a1 OK [READ-WRITE]\r\n")
    assert "resp-text-code" in defects_of(b"a1 OK [] empty\r\n")


def test_continuation_without_space() -> None:
    response = read_one(b"+\r\n")
    assert response.kind == "continuation" and response.text == ""
    assert "continue-req" in " ".join(response.defects)


def test_nul_outside_literal8() -> None:
    assert "note 3" in defects_of(b"* OK a\x00b\r\n")
    assert "CHAR8" in defects_of(b"* 1 FETCH (BODY[] {3}\r\na\x00b)\r\n")


# --- framing errors ------------------------------------------------------------------------


@pytest.mark.parametrize("line", [b"\r\n", b"\n", b" a1 OK x\r\n"])
def test_unframeable_lines(line: bytes) -> None:
    reader = ImapReader()
    reader.feed(line)
    with pytest.raises(ReplyFramingError):
        reader.next_reply()


def test_unterminated_line_over_the_cap() -> None:
    reader = ImapReader(max_line_octets=1000)
    reader.feed(b"* SEARCH" + b" 1" * 496)
    assert reader.next_reply() is None
    reader.feed(b" 2")
    with pytest.raises(ReplyFramingError):
        reader.next_reply()


def test_cap_applies_per_line_segment_not_to_literals() -> None:
    reader = ImapReader(max_line_octets=100)
    reader.feed(b"* 1 FETCH (BODY[] {500}\r\n" + b"x" * 500 + b")\r\n")
    response = reader.next_reply()
    assert response is not None and fetch_items(response.values) == {"BODY[]": S(b"x" * 500)}
