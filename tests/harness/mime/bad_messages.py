"""Seeded bad messages: each breaks one requirement and names the rule, clause and line that must report it.

Every seed starts from a message that lints clean (`clean()` / `mime()` / `multipart()` below,
checked by a test) and changes one thing. The clause is read off the RFC text, the line number
off the message as written here. `also` lists the other errors the same defect necessarily
causes, with the reason next to it, so a test can require that nothing else fires.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

CRLF: Final = b"\r\n"

# Lines 1-5 of every seed.
ORIGIN: Final = (
    b"From: Alice <alice@example.test>",
    b"To: bob@example.test",
    b"Subject: Test",
    b"Date: Tue, 05 Mar 2024 14:30:00 +0000",
    b"Message-ID: <seed@example.test>",
)


def clean(*extra: bytes, body: bytes = b"Hello." + CRLF, origin: tuple[bytes, ...] = ORIGIN) -> bytes:
    """ORIGIN (lines 1-5), then `extra` fields, a blank line and the body."""
    return CRLF.join([*origin, *extra]) + CRLF + CRLF + body


def origin_with(prefix: bytes, line: bytes | None) -> tuple[bytes, ...]:
    """ORIGIN with the field starting `prefix` replaced by `line`, or dropped when `line` is None."""
    if line is None:
        return tuple(f for f in ORIGIN if not f.startswith(prefix))
    return tuple(line if f.startswith(prefix) else f for f in ORIGIN)


def mime(content_type: bytes, cte: bytes | None, body: bytes) -> bytes:
    """MIME-Version on line 6, Content-Type on 7, Content-Transfer-Encoding on 8, body from line 10
    (from 9 when `cte` is None)."""
    fields = [b"MIME-Version: 1.0", b"Content-Type: " + content_type]
    if cte is not None:
        fields.append(b"Content-Transfer-Encoding: " + cte)
    return clean(*fields, body=body)


def multipart(body_lines: list[bytes], *, boundary: bytes = b"b1", cte: bytes | None = None) -> bytes:
    """multipart/mixed (Content-Type on line 7); the body's first line is line 9, or 10 with `cte`."""
    content_type = b'multipart/mixed; boundary="' + boundary + b'"'
    return mime(content_type, cte, CRLF.join(body_lines) + CRLF)


# A well-formed multipart body: lines 9-16.
PARTS: Final = [
    b"--b1",
    b"Content-Type: text/plain; charset=us-ascii",
    b"",
    b"Part one.",
    b"--b1",
    b"",
    b"Part two, no header fields.",
    b"--b1--",
]


@dataclass(frozen=True)
class Seed:
    id: str
    rule: str
    citation: str
    line: int | None
    data: bytes
    also: frozenset[str] = field(default_factory=frozenset)


CLEAN_BASES: Final = {
    "clean": clean(),
    "mime": mime(b"text/plain; charset=us-ascii", b"7bit", b"Hello." + CRLF),
    "multipart": multipart(PARTS),
}

SEEDS: Final[tuple[Seed, ...]] = (
    # Lines: RFC 5322 §2.1.1, §2.2, §2.3
    Seed("bare-lf-in-body", "line.bare-lf", "RFC 5322 §2.3", 7, clean(body=b"Hello.\nWorld." + CRLF)),
    Seed(
        "bare-lf-in-header",
        "line.bare-lf",
        "RFC 5322 §2.2",
        3,
        clean().replace(b"Subject: Test\r\n", b"Subject: Test\n"),
    ),
    Seed("bare-cr-in-body", "line.bare-cr", "RFC 5322 §2.3", 7, clean(body=b"Hello.\rWorld." + CRLF)),
    Seed("line-of-999-octets", "line.too-long", "RFC 5322 §2.1.1", 7, clean(body=b"x" * 999 + CRLF)),
    Seed("line-of-79-characters", "line.over-78", "RFC 5322 §2.1.1", 7, clean(body=b"y" * 79 + CRLF)),
    # Header field syntax: RFC 5322 §2.2, §2.2.3; RFC 6531 §3.2
    Seed("line-without-colon", "header.no-colon", "RFC 5322 §2.2", 6, clean(b"This line is not a field")),
    Seed("space-in-field-name", "header.name-invalid", "RFC 5322 §2.2", 6, clean(b"X Bad Name: value")),
    Seed("empty-field-name", "header.name-invalid", "RFC 5322 §2.2", 6, clean(b": no name")),
    Seed("space-before-colon", "header.name-invalid", "RFC 5322 §2.2", 6, clean(b"X-Extra : obsolete")),
    Seed(
        "folded-first-line",
        "header.continuation-first",
        "RFC 5322 §2.2.3",
        1,
        b" folded" + CRLF + clean(),
    ),
    Seed(
        "control-octet-in-field",
        "header.invalid-octet",
        "RFC 5322 §2.2",
        3,
        clean(origin=origin_with(b"Subject:", b"Subject: Te\x01st")),
    ),
    Seed(
        "latin1-in-field",
        "header.8bit",
        "RFC 5322 §2.2",
        3,
        clean(origin=origin_with(b"Subject:", b"Subject: caf\xe9")),
    ),
    Seed(
        "utf8-in-field",
        "header.utf8",
        "RFC 6531 §3.2",
        3,
        clean(origin=origin_with(b"Subject:", "Subject: café".encode())),
    ),
    # The message's fields: RFC 5322 §3.3-§3.6, §4
    Seed("no-date", "header.date-missing", "RFC 5322 §3.6", None, clean(origin=origin_with(b"Date:", None))),
    Seed("no-from", "header.from-missing", "RFC 5322 §3.6", None, clean(origin=origin_with(b"From:", None))),
    Seed("two-subjects", "header.duplicate", "RFC 5322 §3.6", 6, clean(b"Subject: Again")),
    Seed("two-dates", "header.duplicate", "RFC 5322 §3.6", 6, clean(b"Date: Wed, 06 Mar 2024 14:30:00 +0000")),
    Seed(
        "two-authors-no-sender",
        "header.sender-required",
        "RFC 5322 §3.6.2",
        1,
        clean(origin=origin_with(b"From:", b"From: alice@example.test, carol@example.test")),
    ),
    Seed(
        "no-message-id",
        "header.message-id-missing",
        "RFC 5322 §3.6.4",
        None,
        clean(origin=origin_with(b"Message-ID:", None)),
    ),
    Seed(
        "message-id-without-brackets",
        "header.message-id-syntax",
        "RFC 5322 §3.6.4",
        5,
        clean(origin=origin_with(b"Message-ID:", b"Message-ID: seed@example.test")),
    ),
    Seed(
        "message-id-with-space",
        "header.message-id-syntax",
        "RFC 5322 §3.6.4",
        5,
        clean(origin=origin_with(b"Message-ID:", b"Message-ID: <seed here@example.test>")),
    ),
    Seed("references-not-msg-ids", "header.message-id-syntax", "RFC 5322 §3.6.4", 6, clean(b"References: seed")),
    Seed(
        "date-in-words",
        "header.date-syntax",
        "RFC 5322 §3.3",
        4,
        clean(origin=origin_with(b"Date:", b"Date: yesterday afternoon")),
    ),
    Seed(
        "date-with-wrong-weekday",  # 5 March 2024 was a Tuesday
        "header.date-syntax",
        "RFC 5322 §3.3",
        4,
        clean(origin=origin_with(b"Date:", b"Date: Mon, 05 Mar 2024 14:30:00 +0000")),
    ),
    Seed(
        "date-31-february",
        "header.date-syntax",
        "RFC 5322 §3.3",
        4,
        clean(origin=origin_with(b"Date:", b"Date: 31 Feb 2024 14:30:00 +0000")),
    ),
    Seed(
        "date-two-digit-year-and-named-zone",
        "header.date-obsolete",
        "RFC 5322 §4.3",
        4,
        clean(origin=origin_with(b"Date:", b"Date: Tue, 05 Mar 24 14:30:00 GMT")),
    ),
    Seed(
        "address-without-domain",
        "header.address-syntax",
        "RFC 5322 §3.4",
        2,
        clean(origin=origin_with(b"To:", b"To: bob")),
    ),
    Seed(
        "angle-addr-not-closed",
        "header.address-syntax",
        "RFC 5322 §3.4",
        2,
        clean(origin=origin_with(b"To:", b"To: Bob <bob@example.test")),
    ),
    Seed(
        "sender-with-two-mailboxes",
        "header.address-syntax",
        "RFC 5322 §3.4",
        6,
        clean(b"Sender: a@example.test, b@example.test"),
    ),
    Seed(
        "period-in-display-name",
        "header.address-obsolete",
        "RFC 5322 §4.4",
        1,
        clean(origin=origin_with(b"From:", b"From: John Q. Public <alice@example.test>")),
    ),
    # MIME structure: RFC 2045 §4, §5.1, §6.4; RFC 2046 §5.1.1
    Seed(
        "content-type-without-mime-version",
        "mime.version-missing",
        "RFC 2045 §4",
        6,
        clean(b"Content-Type: text/plain; charset=us-ascii"),
    ),
    Seed(
        "mime-version-2",
        "mime.version-syntax",
        "RFC 2045 §4",
        6,
        clean(b"MIME-Version: 2.0", b"Content-Type: text/plain; charset=us-ascii"),
    ),
    Seed(
        "content-type-without-subtype", "mime.content-type-syntax", "RFC 2045 §5.1", 7, mime(b"text", None, b"Hi.\r\n")
    ),
    Seed(
        "multipart-without-boundary",
        "mime.boundary-missing",
        "RFC 2046 §5.1.1",
        7,
        mime(b"multipart/mixed", None, b"Hi.\r\n"),
    ),
    Seed(
        "boundary-of-71-characters",
        "mime.boundary-syntax",
        "RFC 2046 §5.1.1",
        7,
        multipart([p.replace(b"b1", b"b" * 71) for p in PARTS], boundary=b"b" * 71),
    ),
    Seed(
        "delimiter-prefix-inside-part",
        "mime.boundary-in-part",
        "RFC 2046 §5.1.1",
        13,
        multipart([*PARTS[:4], b"--b1-and-more is not a delimiter", *PARTS[4:]]),
    ),
    Seed(
        "nested-boundary-extends-outer",
        "mime.boundary-in-part",
        "RFC 2046 §5.1.1",
        12,
        multipart(
            [
                b"--b1",
                b'Content-Type: multipart/alternative; boundary="b1.inner"',
                b"",
                b"--b1.inner",
                b"",
                b"Inner part.",
                b"--b1.inner--",
                b"--b1--",
            ]
        ),
    ),
    Seed(
        "no-delimiter-at-all",
        "mime.first-delimiter-missing",
        "RFC 2046 §5.1.1",
        7,
        multipart([b"There are no parts here."]),
    ),
    Seed(
        "no-close-delimiter",
        "mime.close-delimiter-missing",
        "RFC 2046 §5.1.1",
        15,
        multipart(PARTS[:-1]),
    ),
    Seed(
        "base64-multipart",
        "mime.composite-encoding",
        "RFC 2045 §6.4",
        8,
        multipart(PARTS, cte=b"base64"),
    ),
    # Content-Transfer-Encoding against the content: RFC 2045 §2.7, §2.8, §6.1, §6.2
    Seed(
        "unknown-encoding",
        "cte.unknown",
        "RFC 2045 §6.1",
        8,
        mime(b"text/plain; charset=us-ascii", b"7-bit", b"Hi.\r\n"),
    ),
    Seed(
        "utf8-labelled-7bit",
        "cte.8bit-in-7bit",
        "RFC 2045 §6.2",
        10,
        mime(b"text/plain; charset=utf-8", b"7bit", "Grüße".encode() + CRLF),
    ),
    Seed(
        "utf8-without-mime",  # no label at all: 7bit and US-ASCII are both assumed
        "cte.8bit-in-7bit",
        "RFC 2045 §6.2",
        7,
        clean(body="Grüße".encode() + CRLF),
        frozenset({"text.charset-missing"}),  # and the US-ASCII default does not cover ü (RFC 2046 §4.1.2)
    ),
    Seed(
        "long-line-labelled-8bit",
        "cte.line-too-long",
        "RFC 2045 §2.8",
        10,
        mime(b"text/plain; charset=us-ascii", b"8bit", b"z" * 999 + CRLF),
    ),
    Seed(
        "long-line-labelled-7bit",
        "cte.line-too-long",
        "RFC 2045 §2.7",
        10,
        mime(b"text/plain; charset=us-ascii", b"7bit", b"z" * 999 + CRLF),
    ),
    Seed(
        "nul-in-8bit",
        "cte.nul",
        "RFC 2045 §2.8",
        10,
        mime(b"text/plain; charset=us-ascii", b"8bit", b"a\x00b" + CRLF),
    ),
    Seed(
        "binary-body",
        "cte.binary",
        "RFC 2045 §6.2",
        8,
        mime(b"application/octet-stream", b"binary", b"\x00\x01\x02" + CRLF),
    ),
    # Encodings: RFC 2045 §6.7, §6.8
    Seed(
        "space-inside-base64",
        "base64.alphabet",
        "RFC 2045 §6.8",
        10,
        mime(b"application/octet-stream", b"base64", b"SGVs bG8h" + CRLF),
    ),
    Seed(
        "base64-missing-padding",
        "base64.padding",
        "RFC 2045 §6.8",
        10,
        mime(b"application/octet-stream", b"base64", b"SGVsbG8" + CRLF),
    ),
    Seed(
        "base64-data-after-padding",
        "base64.padding",
        "RFC 2045 §6.8",
        11,
        mime(b"application/octet-stream", b"base64", b"SGVsbG8=" + CRLF + b"SGVs" + CRLF),
    ),
    Seed(
        "base64-line-of-80",
        "base64.line-length",
        "RFC 2045 §6.8",
        10,
        mime(b"application/octet-stream", b"base64", b"QUJD" * 20 + CRLF),
    ),
    Seed(
        "qp-escape-not-hex",
        "qp.bad-escape",
        "RFC 2045 §6.7",
        10,
        mime(b"text/plain; charset=us-ascii", b"quoted-printable", b"1 =G1 2" + CRLF),
    ),
    Seed(
        "qp-lowercase-hex",
        "qp.bad-escape",
        "RFC 2045 §6.7",
        10,
        mime(b"text/plain; charset=utf-8", b"quoted-printable", b"caf=c3=a9" + CRLF),
    ),
    Seed(
        "qp-raw-utf8",
        "qp.literal-octet",
        "RFC 2045 §6.7",
        10,
        mime(b"text/plain; charset=utf-8", b"quoted-printable", "café".encode() + CRLF),
    ),
    Seed(
        "qp-trailing-space",
        "qp.trailing-whitespace",
        "RFC 2045 §6.7",
        10,
        mime(b"text/plain; charset=us-ascii", b"quoted-printable", b"Hello   " + CRLF),
    ),
    Seed(
        "qp-line-of-77",
        "qp.line-length",
        "RFC 2045 §6.7",
        10,
        mime(b"text/plain; charset=us-ascii", b"quoted-printable", b"q" * 77 + CRLF),
    ),
    # Text: RFC 2046 §4.1.2
    Seed(
        "8bit-text-without-charset",
        "text.charset-missing",
        "RFC 2046 §4.1.2",
        7,
        mime(b"text/plain", b"8bit", "Grüße".encode() + CRLF),
    ),
    Seed(
        "latin1-text-declared-utf8",
        "text.charset-mismatch",
        "RFC 2046 §4.1.2",
        7,
        mime(b"text/plain; charset=utf-8", b"8bit", b"Gr\xfc\xdfe" + CRLF),
    ),
    # Encoded-words: RFC 2047 §2, §5
    Seed(
        "encoding-x",
        "rfc2047.syntax",
        "RFC 2047 §2",
        3,
        clean(origin=origin_with(b"Subject:", b"Subject: =?utf-8?x?abc?=")),
    ),
    Seed(
        "encoded-word-of-82",
        "rfc2047.length",
        "RFC 2047 §2",
        3,
        clean(origin=origin_with(b"Subject:", b"Subject: =?utf-8?q?" + b"a" * 70 + b"?=")),
    ),
    Seed(
        "encoded-word-line-of-77",  # two short words, but the line holding them is 77 characters
        "rfc2047.length",
        "RFC 2047 §2",
        3,
        clean(origin=origin_with(b"Subject:", b"Subject: =?utf-8?q?" + b"a" * 41 + b"?= =?utf-8?q?bb?=")),
    ),
    Seed(
        "b-text-not-whole-groups",
        "rfc2047.encoded-text",
        "RFC 2047 §5",
        3,
        clean(origin=origin_with(b"Subject:", b"Subject: =?utf-8?b?abc?=")),
    ),
    Seed(
        "q-text-bad-escape",
        "rfc2047.encoded-text",
        "RFC 2047 §5",
        3,
        clean(origin=origin_with(b"Subject:", b"Subject: =?utf-8?q?a=ZZb?=")),
    ),
    Seed(
        "b-text-half-a-character",  # 0xC3 starts a two-octet UTF-8 sequence that never ends
        "rfc2047.encoded-text",
        "RFC 2047 §5",
        3,
        clean(origin=origin_with(b"Subject:", b"Subject: =?utf-8?b?w6kgww==?=")),
    ),
    Seed(
        "q-word-with-comma-in-phrase",
        "rfc2047.encoded-text",
        "RFC 2047 §5",
        1,
        clean(origin=origin_with(b"From:", b"From: =?utf-8?q?Doe,_John?= <alice@example.test>")),
    ),
    Seed(
        "encoded-word-glued-to-text",
        "rfc2047.placement",
        "RFC 2047 §5",
        3,
        clean(origin=origin_with(b"Subject:", b"Subject: Re:=?utf-8?q?caf=C3=A9?=")),
    ),
    Seed(
        "encoded-word-on-a-folded-line",
        "rfc2047.placement",
        "RFC 2047 §5",
        4,
        clean(origin=origin_with(b"Subject:", b"Subject: fine\r\n x=?utf-8?q?y?=")),
    ),
    Seed(
        "encoded-word-in-quoted-string",
        "rfc2047.placement",
        "RFC 2047 §5",
        2,
        clean(origin=origin_with(b"To:", b'To: "=?utf-8?q?Bob?=" <bob@example.test>')),
    ),
    Seed(
        "encoded-word-in-parameter",
        "rfc2047.placement",
        "RFC 2047 §5",
        7,
        mime(b'application/pdf; name="=?utf-8?q?r=C3=A9sum=C3=A9.pdf?="', b"base64", b"JVBERi0=" + CRLF),
    ),
)
