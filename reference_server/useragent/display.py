"""Showing received mail to a person: decoded headers, the readable body, the attachments.

Pure functions over parsed messages. Everything here comes from someone else's message,
so it is treated as hostile: header fields that do not parse are shown raw rather than
failing, control characters never reach the terminal, and an attachment's suggested name
is reduced to a plain file name before it touches the disk.
"""

from __future__ import annotations

import email.errors
import email.policy
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Final

from reference_server.useragent.connect import printable

READ_POLICY: Final = email.policy.default  # decodes encoded-words and RFC 2231 parameters on access
SHOWN_HEADERS: Final = ("From", "To", "Cc", "Date", "Subject")
MAX_FILENAME: Final = 200  # octets of UTF-8; under the 255 most file systems allow
# The email package's header parser can fail on some malformed input instead of recording a defect.
_HEADER_ERRORS: Final = (email.errors.MessageError, IndexError, ValueError, TypeError, LookupError, AttributeError)
_BLOCK_TAGS: Final = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr", "table", "ul", "ol"}
)
_HIDDEN_TAGS: Final = frozenset({"script", "style", "head", "title"})
_WHITESPACE: Final = re.compile(r"\s+")
_UNSAFE_NAME: Final = re.compile(r"[\x00-\x1f\x7f/\\:]")


@dataclass(frozen=True)
class AttachmentPart:
    filename: str | None  # as the sender suggested it, decoded; not safe as a path
    content_type: str
    data: bytes  # transfer encoding removed


@dataclass(frozen=True)
class ListEntry:
    """One line of `mail list`: what the server says (number, size, unique-id) and the headers."""

    number: int
    size: int
    headers: bytes
    uid: str | None = None


def parse_message(raw: bytes, *, headers_only: bool = False) -> EmailMessage:
    message = BytesParser(policy=READ_POLICY).parsebytes(raw, headersonly=headers_only)
    assert isinstance(message, EmailMessage)
    return message


def header_text(message: Message, name: str) -> str:
    """A header field decoded (encoded-words, RFC 2047), on one line; raw if it does not parse."""
    try:
        value = message.get(name)
        text = "" if value is None else str(value)
    except _HEADER_ERRORS:
        raw = message.get_all(name) or [""]
        text = str(raw[0])
    return printable(" ".join(text.split()))


def short_date(value: str) -> str:
    """`YYYY-MM-DD HH:MM` in the sender's own offset, or the text as given if it is not a date."""
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return value[:16]
    return when.strftime("%Y-%m-%d %H:%M") if isinstance(when, datetime) else value[:16]


def format_listing(entries: Iterable[ListEntry], *, show_uid: bool) -> list[str]:
    """`mail list`: number, size, date, from, subject, one message per line."""
    lines: list[str] = []
    for entry in entries:
        headers = parse_message(entry.headers, headers_only=True)
        columns = [f"{entry.number:>4}", f"{entry.size:>9}"]
        if show_uid:
            columns.append(f"{entry.uid or '-':<24}")
        sender = header_text(headers, "From")
        columns += [f"{short_date(header_text(headers, 'Date')):<16}", f"{_clip(sender, 30):<30}"]
        columns.append(header_text(headers, "Subject") or "(no subject)")
        lines.append("  ".join(columns))
    return lines


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def body_part(message: EmailMessage) -> EmailMessage | None:
    """The part a reader shows: text/plain, or the HTML when there is no plain text."""
    part = message.get_body(preferencelist=("plain", "html"))
    assert part is None or isinstance(part, EmailMessage)
    return part


def part_text(part: Message) -> str:
    """A text part's content as str, whatever its declared charset claims."""
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    charset = part.get_content_charset() or "us-ascii"
    try:
        return data.decode(charset, "replace")
    except LookupError:  # an unknown charset name
        return data.decode("utf-8", "replace")


def body_text(message: EmailMessage) -> str:
    """The text to print for the body; HTML is reduced to its text. Line ends are \\n."""
    part = body_part(message)
    if part is None:
        return ""
    text = part_text(part).replace("\r\n", "\n").replace("\r", "\n")
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return _printable_text(text)


def _printable_text(text: str) -> str:
    return "\n".join(printable(line.replace("\t", "    ")) for line in text.split("\n"))


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden += 1
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.chunks.append(_WHITESPACE.sub(" ", data))


def html_to_text(html: str) -> str:
    """The words of an HTML body, one paragraph per line; markup, scripts and styles dropped."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = [" ".join(line.split()) for line in "".join(extractor.chunks).split("\n")]
    paragraphs: list[str] = []
    for line in lines:
        if line or (paragraphs and paragraphs[-1]):
            paragraphs.append(line)
    while paragraphs and not paragraphs[-1]:
        paragraphs.pop()
    return "\n".join(paragraphs) + ("\n" if paragraphs else "")


def attachments(message: EmailMessage) -> list[AttachmentPart]:
    """Every part that is not the body or another rendering of it, in message order.

    A part counts when it says it is an attachment, has a file name, or is not text; other
    parts of a multipart/alternative are the body in another form and are skipped.
    """
    body = body_part(message)
    found: list[AttachmentPart] = []

    def visit(part: Message, in_alternative: bool) -> None:
        content_type = part.get_content_type()
        if part.is_multipart() and content_type != "message/rfc822":
            for sub in part.get_payload():
                if isinstance(sub, Message):
                    visit(sub, content_type == "multipart/alternative")
            return
        if part is body:
            return
        filename = _filename(part)
        named = filename is not None or part.get_content_disposition() == "attachment"
        if not named and (in_alternative or part.get_content_maintype() == "text"):
            return
        found.append(AttachmentPart(filename, content_type, _part_bytes(part)))

    if message.is_multipart():
        visit(message, False)
    return found


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except _HEADER_ERRORS:
        return None
    return str(name) if name else None


def _part_bytes(part: Message) -> bytes:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            return inner[0].as_bytes(policy=READ_POLICY)
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def attachment_lines(found: Sequence[AttachmentPart]) -> list[str]:
    return [
        f"  {n}. {printable(a.filename or '(no name)')}  ({len(a.data)} octets, {a.content_type})"
        for n, a in enumerate(found, 1)
    ]


def safe_filename(suggested: str | None, index: int) -> str:
    """A plain file name from a sender's suggestion: no directories, no control characters.

    Path separators (both kinds), drive colons and control characters become `_`; names
    that are empty or only dots become `attachment-N`, so nothing can escape the folder.
    """
    name = unicodedata.normalize("NFC", suggested or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME.sub("_", name).strip().lstrip(".")
    if not name.strip("._ "):
        return f"attachment-{index}"
    if len(name.encode()) <= MAX_FILENAME:
        return name
    stem, dot, suffix = name.rpartition(".")
    keep = "." + suffix if dot and stem and len(suffix.encode()) <= 16 else ""
    base = name[: len(name) - len(keep)]
    while len((base + keep).encode()) > MAX_FILENAME:
        base = base[:-1]
    return base + keep
