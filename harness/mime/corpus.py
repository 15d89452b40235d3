"""A corpus of well-formed messages in the shapes real mail has, for transparency checks.

Each message is what SMTP DATA carries after dot-unstuffing (RFC 5321 §4.5.2): CRLF line
ends, built by the `email` package under an explicit policy rather than by hand, so the
corpus is as correct as the package and the linter checks it (every message lints without an
error). The bytes are stable between runs and machines: fixed Date and Message-ID, explicit
boundaries, randomness from a generator seeded by the message's name.

Headers are folded at 76 characters, not the policy's default 78: RFC 2047 §2 limits a line
that holds an encoded-word to 76.
"""

from __future__ import annotations

import email.policy
import email.utils
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import base64mime, quoprimime
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.policy import EmailPolicy
from typing import Final, TypeAlias

from harness.mime.jpeg import tiny_jpeg

_Policy: TypeAlias = "EmailPolicy[EmailMessage]"  # generic only to the type checker

ASCII_POLICY: Final = email.policy.SMTP.clone(max_line_length=76)
UTF8_POLICY: Final = email.policy.SMTPUTF8.clone(max_line_length=76)
DATE: Final = email.utils.format_datetime(datetime(2024, 3, 5, 14, 30, 0, tzinfo=UTC))
BASE64_LINE_OCTETS: Final = 57  # 57 octets encode to one full 76-character base64 line (RFC 2045 §6.8)
LONGEST_LINE_OCTETS: Final = 998  # RFC 5322 §2.1.1, RFC 5321 §4.5.3.1.6 (1000 with the CRLF)


@dataclass(frozen=True)
class CorpusMessage:
    name: str  # stable slug, usable in file names and test ids
    data: bytes
    needs_8bitmime: bool  # has 8-bit octets: a 7bit-only path (no BODY=8BITMIME, RFC 6152) cannot carry it
    needs_smtputf8: bool  # has UTF-8 in header fields: only for SMTPUTF8 servers (RFC 6531 §3.2)
    description: str
    message_id: str  # "<shape.tag@domain>", how a copy read back is told apart from others

    @property
    def transmitted(self) -> bytes:
        """The message as a conforming server stores it.

        SMTP data ends with CRLF "." CRLF, and the first CRLF also ends the last line (RFC 5321
        §4.1.1.4), so a message without a final line end arrives with one added; every other
        message arrives exactly as `data`.
        """
        return self.data if self.data.endswith(b"\r\n") or not self.data else self.data + b"\r\n"


@dataclass(frozen=True)
class _Context:
    name: str
    domain: str
    sender: str
    recipient: str
    rng: random.Random
    tag: str

    @property
    def message_id(self) -> str:
        return f"<{self.name}.{self.tag}@{self.domain}>"

    def boundary(self, n: int) -> str:
        """Distinct per message and part; no boundary is a prefix of another (RFC 2046 §5.1.1)."""
        return f"=_mailconform.{n}.{self.name}"


def _envelope(ctx: _Context, subject: str, policy: _Policy = ASCII_POLICY) -> MIMEPart:
    """The origination fields every corpus message has, then MIME-Version (content fields follow)."""
    msg = MIMEPart(policy=policy)
    msg["From"] = ctx.sender
    msg["To"] = ctx.recipient
    msg["Subject"] = subject
    msg["Date"] = DATE
    msg["Message-ID"] = ctx.message_id
    msg["MIME-Version"] = "1.0"
    return msg


def _multipart(msg: MIMEPart, subtype: str, boundary: str, *parts: MIMEPart) -> None:
    msg.add_header("Content-Type", f"multipart/{subtype}", boundary=boundary)
    for part in parts:
        msg.attach(part)


def _text(text: str, subtype: str = "plain", cte: str = "7bit") -> MIMEPart:
    part = MIMEPart(policy=ASCII_POLICY)
    part.set_content(text, subtype=subtype, cte=cte)
    return part


def _binary(
    data: bytes, maintype: str, subtype: str, *, filename: str | None = None, cid: str | None = None
) -> MIMEPart:
    part = MIMEPart(policy=ASCII_POLICY)
    disposition = "inline" if cid else "attachment"
    part.set_content(data, maintype, subtype, disposition=disposition, filename=filename, cid=cid)
    return part


GREETING: Final = "Hello,\n\nthis message is part of the mailconform corpus.\n\n-- \nmailconform\n"


def _plain_7bit(ctx: _Context) -> MIMEPart:
    msg = _envelope(ctx, "Plain 7bit text")
    msg.set_content(GREETING, cte="7bit")
    return msg


def _utf8_8bit(ctx: _Context) -> MIMEPart:
    msg = _envelope(ctx, "8bit UTF-8 body")
    text = "Grüße aus Köln! Ça va? Δοκιμή, テスト, 测试, проверка.\nEmoji: \U0001f4ec\n"
    msg.set_content(text, cte="8bit")
    return msg


def _quoted_printable(ctx: _Context) -> MIMEPart:
    msg = _envelope(ctx, "Quoted-printable with soft line breaks")
    text = (
        "Trailing spaces follow this line   \n"
        "and a trailing tab follows this one\t\n"
        "A long line that has to be broken by soft line breaks because quoted-printable "
        "lines are limited to seventy-six characters, equals signs (=) included.\n"
        "Non-ASCII: naïve café, 1 + 1 = 2.\n"
    )
    msg.set_content(text, cte="quoted-printable")
    return msg


def _base64_attachment(ctx: _Context, data: bytes, subject: str, filename: str) -> MIMEPart:
    msg = _envelope(ctx, subject)
    body = _text("The attachment is base64-encoded.\n")
    _multipart(msg, "mixed", ctx.boundary(1), body, _binary(data, "application", "octet-stream", filename=filename))
    return msg


def _base64_binary(ctx: _Context) -> MIMEPart:
    return _base64_attachment(ctx, ctx.rng.randbytes(1000), "Random binary attachment", "random.bin")


def _base64_empty(ctx: _Context) -> MIMEPart:
    return _base64_attachment(ctx, b"", "Empty attachment", "empty.bin")


def _base64_full_lines(ctx: _Context) -> MIMEPart:
    data = ctx.rng.randbytes(BASE64_LINE_OCTETS * 20)
    return _base64_attachment(ctx, data, "Attachment of whole 76-character base64 lines", "full-lines.bin")


def _alternative(ctx: _Context) -> MIMEPart:
    msg = _envelope(ctx, "multipart/alternative")
    plain = _text("Plain text rendering.\n")
    html = _text("<html><body><p>HTML rendering.</p></body></html>\n", subtype="html")
    _multipart(msg, "alternative", ctx.boundary(1), plain, html)
    return msg


def _mixed_related(ctx: _Context) -> MIMEPart:
    msg = _envelope(ctx, "multipart/mixed around multipart/related")
    cid = f"<logo.corpus@{ctx.domain}>"
    html = _text(f'<html><body>\n<p>Inline image:</p>\n<img src="cid:{cid[1:-1]}">\n</body></html>\n', subtype="html")
    related = MIMEPart(policy=ASCII_POLICY)
    _multipart(related, "related", ctx.boundary(2), html, _binary(tiny_jpeg(), "image", "jpeg", cid=cid))
    csv = _text("name,value\r\nalpha,1\r\nbeta,2\r\n", subtype="csv")
    csv.add_header("Content-Disposition", "attachment", filename="table.csv")
    _multipart(msg, "mixed", ctx.boundary(1), related, csv)
    return msg


def _message_rfc822(ctx: _Context) -> MIMEPart:
    inner = _envelope(ctx, "The forwarded message")
    inner.replace_header("Message-ID", f"<{ctx.name}.inner.corpus@{ctx.domain}>")
    inner.set_content("This message travels inside another one.\n", cte="7bit")
    msg = _envelope(ctx, "Forwarded message attached")
    attached = MIMEPart(policy=ASCII_POLICY)
    attached.set_content(inner, cte="7bit", disposition="attachment")
    _multipart(msg, "mixed", ctx.boundary(1), _text("See the attached message.\n"), attached)
    return msg


def _encoded_words(ctx: _Context) -> MIMEPart:
    # White space between adjacent encoded-words is not text (RFC 2047 §6.2): the space goes inside the first.
    b_word = base64mime.header_encode("Grüße ".encode(), charset="utf-8")
    q_word = quoprimime.header_encode("aus Köln".encode(), charset="utf-8")
    q_name = quoprimime.header_encode("José Núñez".encode(), charset="utf-8")
    b_name = base64mime.header_encode("Zoë Ångström".encode(), charset="utf-8")
    msg = MIMEPart(policy=ASCII_POLICY)
    # set_raw keeps these words exactly as made here; the header model would re-encode them its own way.
    msg.set_raw("From", f"{q_name} <{ctx.sender}>")
    msg.set_raw("To", f"{b_name} <{ctx.recipient}>")
    msg.set_raw("Subject", f"{b_word} {q_word}")
    msg["Date"] = DATE
    msg["Message-ID"] = ctx.message_id
    msg["MIME-Version"] = "1.0"
    msg.set_content("The Subject and the display names are RFC 2047 encoded-words (B and Q).\n", cte="7bit")
    return msg


def _rfc2231_filename(ctx: _Context) -> MIMEPart:
    msg = _envelope(ctx, "RFC 2231 file name")
    filename = "Überweisungsbestätigung für März – naïve résumé, überlange Fassung.pdf"
    attachment = _binary(b"%PDF-1.4\n%mailconform\n", "application", "pdf", filename=filename)
    _multipart(msg, "mixed", ctx.boundary(1), _text("The attachment's name needs RFC 2231.\n"), attachment)
    return msg


def _long_headers(ctx: _Context) -> MIMEPart:
    subject = "A long subject line " + " ".join(f"word{n}" for n in range(60))
    msg = _envelope(ctx, subject)
    msg["References"] = " ".join(f"<ref{n}.corpus@{ctx.domain}>" for n in range(12))
    msg["X-Long-Header"] = ", ".join(f"item-{n}" for n in range(40))
    msg.set_content("The header fields above are folded (RFC 5322 section 2.2.3).\n", cte="7bit")
    return msg


def _line_998(ctx: _Context) -> MIMEPart:
    msg = _envelope(ctx, "A line of exactly 998 octets")
    line = "".join(chr(ord("a") + n % 26) for n in range(LONGEST_LINE_OCTETS))
    msg.set_content(f"The next line has 998 octets.\n{line}\nThe previous line has 998 octets.\n", cte="7bit")
    return msg


def _dot_lines(ctx: _Context) -> MIMEPart:
    msg = _envelope(ctx, "Lines starting with a dot")
    msg.set_content(".\n..\n.leading dot\n. dot and space\n...\nnot a dot\n.\n", cte="7bit")
    return msg


def _no_final_crlf(ctx: _Context) -> MIMEPart:
    msg = _envelope(ctx, "Body without a final CRLF")
    msg.set_content("This body does not end with a line break.\n", cte="7bit")
    return msg


def _smtputf8(ctx: _Context) -> MIMEPart:
    msg = _envelope(ctx, "Grüße: UTF-8 header fields", policy=UTF8_POLICY)
    msg.replace_header("From", f"Jörg Müller <{ctx.sender}>")
    msg["Reply-To"] = f"Jörg Müller <jörg.müller@{ctx.domain}>"
    msg.set_content("The header fields carry raw UTF-8 (RFC 6532); the body is ASCII.\n", cte="7bit")
    return msg


def _seed_jpeg(ctx: _Context) -> MIMEPart:
    msg = _envelope(ctx, "A JPEG image")
    image = _binary(tiny_jpeg(), "image", "jpeg", filename="grey.jpg")
    _multipart(msg, "mixed", ctx.boundary(1), _text("An 8x8 grey JPEG is attached.\n"), image)
    return msg


@dataclass(frozen=True)
class _Shape:
    name: str
    build: Callable[[_Context], MIMEPart]
    description: str
    needs_8bitmime: bool = False
    needs_smtputf8: bool = False
    final_crlf: bool = True


SHAPES: Final[tuple[_Shape, ...]] = (
    _Shape("plain-7bit", _plain_7bit, "text/plain, 7bit US-ASCII, with a '-- ' signature line (trailing space)"),
    _Shape("utf8-8bit", _utf8_8bit, "text/plain UTF-8 sent as 8bit", needs_8bitmime=True),
    _Shape(
        "quoted-printable", _quoted_printable, "quoted-printable with soft line breaks and encoded trailing white space"
    ),
    _Shape("base64-binary", _base64_binary, "base64 attachment of 1000 random octets (last line short, padded)"),
    _Shape("base64-empty", _base64_empty, "base64 attachment of zero octets (empty body)"),
    _Shape("base64-full-lines", _base64_full_lines, "base64 attachment of 20 x 57 octets: every line 76 characters"),
    _Shape("alternative", _alternative, "multipart/alternative: text/plain and text/html"),
    _Shape("mixed-related", _mixed_related, "multipart/mixed with a nested multipart/related (HTML + inline JPEG)"),
    _Shape("message-rfc822", _message_rfc822, "a message/rfc822 attachment"),
    _Shape("encoded-words", _encoded_words, "RFC 2047 encoded-words, B and Q, in Subject and display names"),
    _Shape("rfc2231-filename", _rfc2231_filename, "RFC 2231 non-ASCII file name with continuations"),
    _Shape("long-headers", _long_headers, "long header fields folded over several lines"),
    _Shape("line-998", _line_998, "a body line of exactly 998 octets, the longest allowed"),
    _Shape("dot-lines", _dot_lines, "lines starting with '.', including one that is only '.'"),
    _Shape("no-final-crlf", _no_final_crlf, "a body whose last line has no CRLF", final_crlf=False),
    _Shape(
        "smtputf8",
        _smtputf8,
        "UTF-8 in header fields and in an address (SMTPUTF8)",
        needs_8bitmime=True,
        needs_smtputf8=True,
    ),
    _Shape("seed-jpeg", _seed_jpeg, "MIME-Version: 1.0 and a base64 image/jpeg part"),
)


def build_corpus(domain: str, sender: str, recipient: str, tag: str = "corpus") -> list[CorpusMessage]:
    """One message per shape, From `sender` To `recipient`; Message-IDs and Content-IDs end in `@domain`.

    The Message-ID is `<shape.tag@domain>`: a suite passes a tag of its own per case run, so the
    copy it reads back from a shared mailbox is the one that case sent.
    Raises ValueError naming the argument when one would make the corpus itself malformed.
    """
    return [build_message(shape.name, domain, sender, recipient, tag) for shape in SHAPES]


def build_message(name: str, domain: str, sender: str, recipient: str, tag: str = "corpus") -> CorpusMessage:
    """The corpus message of shape `name` alone (as build_corpus makes it); KeyError for an unknown shape."""
    shape = SHAPES_BY_NAME[name]
    _check_arguments(domain, sender, recipient)
    if not _DOT_ATOM.fullmatch(tag):
        raise ValueError(f"corpus tag {tag!r} is not an ASCII dot-atom (RFC 5322 §3.6.4 id-left)")
    ctx = _Context(shape.name, domain, sender, recipient, random.Random(f"mailconform-corpus/{shape.name}"), tag)
    message = shape.build(ctx)
    data = message.as_bytes(policy=message.policy)
    if not shape.final_crlf:
        data = data.removesuffix(b"\r\n")
    flags = (shape.needs_8bitmime, shape.needs_smtputf8)
    return CorpusMessage(shape.name, data, *flags, shape.description, ctx.message_id)


SHAPES_BY_NAME: Final = {shape.name: shape for shape in SHAPES}
_DOT_ATOM: Final = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def _check_arguments(domain: str, sender: str, recipient: str) -> None:
    if not _DOT_ATOM.fullmatch(domain):
        raise ValueError(f"corpus domain {domain!r} is not an ASCII dot-atom (RFC 5322 §3.6.4 id-right)")
    for role, address in (("sender", sender), ("recipient", recipient)):
        try:
            parsed = Address(addr_spec=address)
        except (ValueError, IndexError, TypeError):
            parsed = None
        if parsed is None or not parsed.domain or not address.isascii():
            raise ValueError(f"corpus {role} {address!r} is not an ASCII address local-part@domain (RFC 5322 §3.4.1)")
