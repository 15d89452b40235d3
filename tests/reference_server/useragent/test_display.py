"""Showing received mail: decoding, body choice, attachments and safe file names.

The inputs are hand-written messages in wire form, so the decoding is checked against the
RFCs (RFC 2047 encoded-words, RFC 2231 parameters), not against our own composer.
"""

from __future__ import annotations

import pytest

from reference_server.useragent.display import (
    MAX_FILENAME,
    ListEntry,
    attachments,
    body_text,
    format_listing,
    header_text,
    html_to_text,
    parse_message,
    safe_filename,
    short_date,
)

MIXED = (
    b"From: =?iso-8859-1?q?J=F6rg?= <joerg@example.test>\r\n"
    b"To: bob@example.test\r\n"
    b"Subject: =?utf-8?b?R3LDvMOfZQ==?= und mehr\r\n"
    b"Date: Tue, 02 Jan 2024 03:04:05 +0100\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="outer"\r\n'
    b"\r\n"
    b"--outer\r\n"
    b'Content-Type: multipart/alternative; boundary="inner"\r\n'
    b"\r\n"
    b"--inner\r\n"
    b"Content-Type: text/plain; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Sch=F6n.\r\n"
    b"--inner\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n"
    b"<p>Sch\xc3\xb6n.</p>\r\n"
    b"--inner--\r\n"
    b"--outer\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"Content-Disposition: attachment; filename*=utf-8''%C3%9Cbersicht.bin\r\n"
    b"\r\n"
    b"AAEC/w==\r\n"
    b"--outer\r\n"
    b"Content-Type: image/png\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"iVBORw==\r\n"
    b"--outer--\r\n"
)


def test_headers_are_decoded() -> None:
    message = parse_message(MIXED)
    assert header_text(message, "From") == "Jörg <joerg@example.test>"  # RFC 2047 §4.2: Q encoding
    assert header_text(message, "Subject") == "Grüße und mehr"  # RFC 2047 §4.1: B encoding
    assert header_text(message, "Cc") == ""


def test_control_characters_never_reach_the_terminal() -> None:
    message = parse_message(b"Subject: =?utf-8?q?evil=1B[2J?= x\r\n\r\nbody\x1b]0;title\x07\r\n")
    assert "\x1b" not in header_text(message, "Subject")
    assert header_text(message, "Subject") == "evil?[2J x"
    assert body_text(message) == "body?]0;title?\n"


def test_plain_part_is_the_body_and_the_rest_are_attachments() -> None:
    message = parse_message(MIXED)
    # iso-8859-1 F6 is ö; the CRLF before "--inner" belongs to the delimiter (RFC 2046 §5.1.1), not the text.
    assert body_text(message) == "Schön."
    found = attachments(message)
    assert [(a.filename, a.content_type, a.data) for a in found] == [
        ("Übersicht.bin", "application/octet-stream", b"\x00\x01\x02\xff"),
        (None, "image/png", b"\x89PNG"),
    ]


def test_html_only_body_is_shown_as_text() -> None:
    message = parse_message(
        b"Subject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><head><style>p {color: red}</style></head>"
        b"<body><p>Hello <b>Bob</b>,</p><p>caf&eacute; &amp; tea<br>bye</p><script>alert(1)</script></body></html>\r\n"
    )
    assert body_text(message) == "Hello Bob,\n\ncafé & tea\nbye\n"
    assert attachments(message) == []


def test_html_to_text_drops_markup_and_blank_runs() -> None:
    assert html_to_text("<div>a</div><div></div><div></div><div>b</div>") == "a\n\nb\n"
    assert html_to_text("") == ""


def test_message_without_text_has_empty_body_and_one_attachment() -> None:
    message = parse_message(
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: application/pdf\r\n'
        b'Content-Disposition: attachment; filename="r.pdf"\r\n\r\n%PDF\r\n--b--\r\n'
    )
    assert body_text(message) == ""
    assert [(a.filename, a.data) for a in attachments(message)] == [("r.pdf", b"%PDF")]


@pytest.mark.parametrize(
    ("suggested", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\evil.exe", "evil.exe"),
        ("/absolute/path.txt", "path.txt"),
        ("C:evil.txt", "C_evil.txt"),
        ("a\x00b\nc.txt", "a_b_c.txt"),
        ("..", "attachment-3"),
        (".hidden", "hidden"),
        ("", "attachment-3"),
        (None, "attachment-3"),
        ("dir/", "attachment-3"),
        ("Übersicht.bin", "Übersicht.bin"),
    ],
)
def test_safe_filename(suggested: str | None, expected: str) -> None:
    assert safe_filename(suggested, 3) == expected


def test_long_file_names_are_cut_keeping_the_extension() -> None:
    name = safe_filename("ü" * 300 + ".pdf", 1)
    assert name.endswith(".pdf")
    assert len(name.encode()) <= MAX_FILENAME < 255


def test_short_date() -> None:
    assert short_date("Tue, 02 Jan 2024 03:04:05 +0100") == "2024-01-02 03:04"
    assert short_date("not a date at all, really") == "not a date at al"


def test_listing_lines() -> None:
    entries = [
        ListEntry(1, 1234, MIXED.split(b"\r\n\r\n")[0] + b"\r\n\r\n", uid="17.1"),
        ListEntry(2, 7, b"From: x@example.test\r\n\r\n"),
    ]
    first, second = format_listing(entries, show_uid=True)
    assert first.split() == [
        "1",
        "1234",
        "17.1",
        "2024-01-02",
        "03:04",
        "Jörg",
        "<joerg@example.test>",
        "Grüße",
        "und",
        "mehr",
    ]
    assert second.split() == ["2", "7", "-", "x@example.test", "(no", "subject)"]
    assert "17.1" not in format_listing(entries, show_uid=False)[0]
