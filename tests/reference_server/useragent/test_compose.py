"""Composition: a Draft becomes the message RFC 5322 and MIME (RFC 2045-2047, 2231) describe.

Every check parses the produced octets back with the email package or inspects them
directly; expected values come from the RFC rules, not from a previous run.
"""

from __future__ import annotations

import email.policy
import re
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from harness.mime import lint_message
from reference_server.useragent.compose import (
    Attachment,
    Draft,
    as_bytes,
    compose,
    envelope_recipients,
    guess_content_type,
    parse_mailbox,
)
from reference_server.useragent.errors import UsageError

FIXED_NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=1)))


def draft(**changes: object) -> Draft:
    fields: dict[str, object] = {
        "sender": "Alice <alice@example.test>",
        "to": ["Bob <bob@example.test>"],
        "subject": "Lunch",
        "body": "See you at noon.\n",
    }
    fields.update(changes)
    return Draft(**fields)  # type: ignore[arg-type]


def parsed(d: Draft) -> EmailMessage:
    data = as_bytes(compose(d, now=FIXED_NOW))
    message = BytesParser(policy=email.policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    return message


def crlf(text: str) -> str:
    """Text as it is on the wire, and so as the parser gives it back: CRLF line ends (RFC 5322 §2.1)."""
    return text.replace("\n", "\r\n")


def header_section(data: bytes) -> bytes:
    return data.split(b"\r\n\r\n", 1)[0]


def test_plain_message_headers_and_body() -> None:
    composed = compose(draft(cc=["carol@example.test"]), now=FIXED_NOW, message_id="<1@example.test>")
    data = as_bytes(composed)
    message = BytesParser(policy=email.policy.default).parsebytes(data)
    assert message["From"] == "Alice <alice@example.test>"
    assert message["To"] == "Bob <bob@example.test>"
    assert message["Cc"] == "carol@example.test"
    assert message["Subject"] == "Lunch"
    assert message["Message-ID"] == "<1@example.test>"
    # RFC 5322 §3.3 date-time, in the given offset: 2 January 2024 was a Tuesday.
    assert message["Date"] == "Tue, 02 Jan 2024 03:04:05 +0100"
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content() == crlf("See you at noon.\n")
    assert data.count(b"\r\n") == data.count(b"\n")  # CRLF everywhere (RFC 5322 §2.1)
    assert composed.envelope_from == "alice@example.test"
    assert composed.recipients == ("bob@example.test", "carol@example.test")


def test_message_id_uses_the_sender_domain() -> None:
    message = parsed(draft(sender="alice@crepes.fr"))
    assert re.fullmatch(r"<[^@<>\s]+@crepes\.fr>", str(message["Message-ID"]))
    assert message["Date"] == "Tue, 02 Jan 2024 03:04:05 +0100"


def test_two_messages_get_different_ids() -> None:
    first, second = parsed(draft()), parsed(draft())
    assert first["Message-ID"] != second["Message-ID"]


def test_bcc_only_in_the_envelope() -> None:
    composed = compose(draft(bcc=["Secret <hidden@example.test>"]), now=FIXED_NOW)
    data = as_bytes(composed)
    assert b"hidden" not in data
    assert b"bcc" not in data.lower()
    assert composed.recipients == ("bob@example.test", "hidden@example.test")


def test_envelope_lists_each_address_once_in_order() -> None:
    composed = compose(
        draft(to=["bob@example.test", "BOB@example.test"], cc=["carol@example.test"], bcc=["bob@example.test"])
    )
    assert composed.recipients == ("bob@example.test", "carol@example.test")
    assert envelope_recipients([]) == ()


def test_non_ascii_subject_is_encoded_and_decodes_back() -> None:
    subject = "Grüße aus Köln — ça va ? " + "long " * 20
    d = draft(subject=subject)
    data = as_bytes(compose(d, now=FIXED_NOW))
    headers = header_section(data)
    assert headers.isascii()  # RFC 5322 §2.2: header fields are US-ASCII; RFC 2047 encoded-words carry the rest
    assert b"=?utf-8?" in headers
    assert all(len(line) <= 78 for line in headers.split(b"\r\n"))  # RFC 5322 §2.1.1 SHOULD
    assert parsed(d)["Subject"] == subject


def test_composed_messages_pass_the_linter() -> None:
    """Long non-ASCII subjects and display names fold into encoded-words within RFC 2047 §2's
    limits (75 characters a word, 76 a line), which the 78 of the policy's default would break."""
    for subject in ("Grüße aus Köln — ça va ? " + "long " * 20, "日本語のテキストです。" * 8, "Ünïcödé " * 30):
        d = draft(subject=subject, sender="Jörg Müller-Lüdenscheidt <alice@example.test>")
        report = lint_message(as_bytes(compose(d, now=FIXED_NOW)))
        assert [str(finding) for finding in report.findings] == [], subject


def test_non_ascii_body_is_seven_bit_on_the_wire() -> None:
    body = "Schöne Grüße\n" + "x" * 1200 + "\n"
    d = draft(body=body)
    data = as_bytes(compose(d, now=FIXED_NOW))
    assert data.isascii()  # relays without 8BITMIME pass it unchanged
    assert max(len(line) for line in data.split(b"\r\n")) <= 998  # RFC 5322 §2.1.1 MUST
    assert parsed(d).get_content() == crlf(body)


def test_html_makes_multipart_alternative_plain_first() -> None:
    message = parsed(draft(html="<p>See you at <b>noon</b>.</p>"))
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    # RFC 2046 §5.1.4: alternatives in increasing faithfulness, so the HTML comes last.
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert parts[0].get_content() == crlf("See you at noon.\n")
    assert parts[1].get_content() == crlf("<p>See you at <b>noon</b>.</p>\n")


def test_attachments_make_multipart_mixed_byte_exact() -> None:
    binary = bytes(range(256)) * 4
    message = parsed(
        draft(
            html="<p>hi</p>",
            attachments=[Attachment("Übersicht März.bin", binary), Attachment("notes.txt", b"line\r\nline2\n")],
        )
    )
    assert message.get_content_type() == "multipart/mixed"
    body, first, second = message.iter_parts()
    assert body.get_content_type() == "multipart/alternative"
    assert first.get_filename() == "Übersicht März.bin"
    assert first.get_content_type() == "application/octet-stream"
    assert first.get_payload(decode=True) == binary
    assert second.get_filename() == "notes.txt"
    assert second.get_content_type() == "text/plain"
    assert second.get_payload(decode=True) == b"line\r\nline2\n"  # bytes as in the file, line ends included


def test_non_ascii_file_name_uses_rfc2231() -> None:
    data = as_bytes(compose(draft(attachments=[Attachment("Übersicht.pdf", b"%PDF-1.4\n")])))
    # RFC 2231 §4: charset'language'percent-encoded octets; Ü is C3 9C in UTF-8.
    assert b"filename*=utf-8''%C3%9Cbersicht.pdf" in data
    assert b"application/pdf" in data


def test_mime_version_only_at_the_top() -> None:
    data = as_bytes(compose(draft(html="<p>x</p>", attachments=[Attachment("a.bin", b"x")])))
    assert data.count(b"MIME-Version:") == 1  # RFC 2045 §4: required at the top level only
    assert header_section(data).count(b"MIME-Version: 1.0") == 1


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", ("application", "pdf")),
        ("photo.png", ("image", "png")),
        ("archive.tar.gz", ("application", "octet-stream")),  # compressed: the type of the content is unknown
        ("no-extension", ("application", "octet-stream")),
        ("weird.zzqqxx", ("application", "octet-stream")),
    ],
)
def test_content_type_guessed_from_the_name(name: str, expected: tuple[str, str]) -> None:
    assert guess_content_type(name) == expected


def test_explicit_content_type_wins() -> None:
    message = parsed(draft(attachments=[Attachment("data", b"{}", content_type="application/json")]))
    (_, part) = message.iter_parts()
    assert part.get_content_type() == "application/json"


@pytest.mark.parametrize(
    "bad",
    ["alice", "bob@", "@example.test", "a@example.test, b@example.test", "", "Bob <bob@example.test>\r\nBcc: x@y"],
)
def test_bad_addresses_are_usage_errors_naming_the_flag(bad: str) -> None:
    with pytest.raises(UsageError, match=r"^--to: not a mail address"):
        compose(draft(to=[bad]))


def test_bad_sender_names_from() -> None:
    with pytest.raises(UsageError, match=r"^--from: not a mail address: 'alice'$"):
        compose(draft(sender="alice"))


def test_subject_cannot_inject_headers() -> None:
    with pytest.raises(UsageError, match="--subject: must be one line"):
        compose(draft(subject="hi\r\nBcc: victim@example.test"))


def test_display_names_are_kept() -> None:
    address = parse_mailbox('"Smith, Bob" <bob@example.test>', "--to")
    assert (address.display_name, address.addr_spec) == ("Smith, Bob", "bob@example.test")
    message = parsed(draft(to=['"Smith, Bob" <bob@example.test>', "Zoë <zoe@example.test>"]))
    assert [a.display_name for a in message["To"].addresses] == ["Smith, Bob", "Zoë"]
