"""Line splitting and the positioned parse: the spans the linter's line numbers rest on."""

from __future__ import annotations

from email.message import Message

from harness.mime.lines import split_lines
from harness.mime.structure import parse, split_fields

NESTED = (
    b"From: a@example.test\r\n"  # 1
    b"Subject: folded\r\n"  # 2
    b" across two lines\r\n"  # 3
    b"MIME-Version: 1.0\r\n"  # 4
    b'Content-Type: multipart/mixed; boundary="outer"\r\n'  # 5
    b"\r\n"  # 6
    b"preamble\r\n"  # 7
    b"--outer\r\n"  # 8
    b"Content-Type: text/plain\r\n"  # 9
    b"\r\n"  # 10
    b"first part\r\n"  # 11
    b"--outer\r\n"  # 12
    b"Content-Type: message/rfc822\r\n"  # 13
    b"\r\n"  # 14
    b"From: b@example.test\r\n"  # 15
    b"\r\n"  # 16
    b"inner body\r\n"  # 17
    b"--outer--\r\n"  # 18
    b"epilogue\r\n"  # 19
)


def test_lines_split_where_the_parser_splits() -> None:
    lines = split_lines(b"a\r\nb\nc\rd\r\r\ne")
    assert [(line.number, line.text, line.ending) for line in lines] == [
        (1, b"a", b"\r\n"),
        (2, b"b", b"\n"),
        (3, b"c", b"\r"),
        (4, b"d", b"\r"),
        (5, b"", b"\r\n"),
        (6, b"e", b""),
    ]
    assert [line.start for line in lines] == [0, 3, 5, 7, 9, 11]
    assert split_lines(b"") == ()


def test_every_entity_knows_its_header_and_body_lines() -> None:
    parsed = parse(NESTED)
    spans = [
        (e.message.get_content_type(), e.first + 1, e.body_first + 1, e.end, e.is_message) for e in parsed.root.walk()
    ]
    # (type, first header line, first body line, last line) as numbered in NESTED above
    assert spans == [
        ("multipart/mixed", 1, 7, 19, True),
        ("text/plain", 9, 11, 11, False),
        ("message/rfc822", 13, 15, 17, False),
        ("text/plain", 15, 17, 17, True),
    ]


def test_fields_are_unfolded_and_keep_their_first_line() -> None:
    root = parse(NESTED).root
    assert [(f.name, f.value, f.line) for f in root.fields[:2]] == [
        (b"From", b" a@example.test", 1),
        (b"Subject", b" folded across two lines", 2),
    ]
    assert [line.number for line in root.fields[1].lines] == [2, 3]
    assert root.first_field("SUBJECT".lower()) is root.fields[1]


def test_the_line_where_the_parser_gave_up_on_headers_is_known() -> None:
    parsed = parse(b"From: a@example.test\r\nnot a field\r\nDate: x\r\n\r\nbody\r\n")
    assert parsed.root.stop_line == 1  # index of "not a field": the parser reads it and the rest as body
    assert [f.name for f in parsed.root.fields] == [b"From"]
    assert parse(b"From: a@example.test\r\n\r\nbody\r\n").root.stop_line is None


def test_header_problems_mirror_the_parser() -> None:
    lines = split_lines(b" leading fold\r\nFrom x\r\n: empty name\r\nTo: b\r\n  continued\r\n\r\n")
    fields, problems = split_fields(lines)
    assert [(p.kind, p.line.number) for p in problems] == [
        ("continuation-first", 1),
        ("envelope-from", 2),
        ("empty-name", 3),
    ]
    assert [(f.name, f.value) for f in fields] == [(b"To", b" b  continued")]


def test_multipart_without_boundary_is_not_content_and_transfer_encoding_defaults_to_7bit() -> None:
    root = parse(b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\nbody\r\n").root
    assert not root.is_leaf and root.children == []
    assert isinstance(root.message, Message)
    assert root.transfer_encoding == "7bit"
    coded = parse(b"Content-Transfer-Encoding: (a comment) BASE64\r\n\r\nQUJD\r\n").root
    assert coded.transfer_encoding == "base64" and coded.is_leaf


def test_an_offset_in_an_unfolded_value_maps_back_to_its_line() -> None:
    (field,) = parse(b"Subject: abc\r\n def\r\n\tghi\r\n\r\n").root.fields
    assert field.value == b" abc def\tghi"  # unfolding removes only the line ends (RFC 5322 §2.2.3)
    assert [field.line_at(field.value.index(t)) for t in (b"abc", b"def", b"ghi")] == [1, 2, 3]
