"""Composing a message: what the user asked for (a Draft) to an RFC 5322 / MIME message.

Pure: no files, no network, and the clock and the Message-ID come in as arguments when a
test needs them fixed. The `email` package does the MIME work (encoded-words for a
non-ASCII Subject, RFC 2231 parameters for non-ASCII file names, transfer encodings);
this module only decides the structure:

- text only: one text/plain part, UTF-8;
- with HTML: multipart/alternative, plain text first (RFC 2046 §5.1.4: the last part is
  the richest rendering, which a reader shows if it can);
- with attachments: multipart/mixed around that body, one part per file, its type guessed
  from the name.

Bcc addresses go to the envelope only, never into a header (RFC 5322 §3.6.3 leaves the
choice to the sender; leaving them out is the one that cannot leak them).
"""

from __future__ import annotations

import email.errors
import email.policy
import email.utils
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Final

from reference_server.useragent.errors import UsageError

# Every body part is 7-bit (quoted-printable or base64 where needed), so the message passes
# any relay, with or without 8BITMIME (RFC 6152), unchanged. CRLF line ends, as on the wire.
# Fold at 76, not the policy's 78: RFC 2047 §2 limits a line holding an encoded-word to 76
# characters, and a long non-ASCII Subject is all encoded-words.
POLICY: Final = email.policy.SMTP.clone(cte_type="7bit", max_line_length=76)
DEFAULT_CONTENT_TYPE: Final = "application/octet-stream"
_ADDRESS_ERRORS: Final = (email.errors.HeaderParseError, IndexError, ValueError, TypeError)


@dataclass(frozen=True)
class Attachment:
    filename: str  # the name the recipient sees (no directories)
    data: bytes
    content_type: str | None = None  # guessed from the file name when None


@dataclass(frozen=True)
class Draft:
    """What the user wants to send, as given: addresses are RFC 5322 mailbox strings."""

    sender: str
    to: Sequence[str]
    subject: str
    body: str
    cc: Sequence[str] = ()
    bcc: Sequence[str] = ()
    html: str | None = None
    attachments: Sequence[Attachment] = ()


@dataclass(frozen=True)
class Composed:
    """A message ready to submit, and the envelope that goes with it (RFC 5321 §3.3)."""

    message: EmailMessage
    envelope_from: str
    recipients: tuple[str, ...]


def parse_mailbox(text: str, flag: str) -> Address:
    """One mailbox (`bob@example.test` or `Bob <bob@example.test>`), or a UsageError naming the flag."""
    problem = f"{flag}: not a mail address: {text!r}"
    if "\r" in text or "\n" in text:
        raise UsageError(problem)
    try:
        header = POLICY.header_factory("to", text)
        addresses = header.addresses
    except _ADDRESS_ERRORS:
        raise UsageError(problem) from None
    if header.defects or len(addresses) != 1:
        raise UsageError(problem)
    (address,) = addresses
    if not address.username or not address.domain:
        raise UsageError(problem)
    assert isinstance(address, Address)
    return address


def guess_content_type(filename: str) -> tuple[str, str]:
    """(maintype, subtype) from the file name; compressed or unknown files are octet streams."""
    guessed, encoding = mimetypes.guess_type(filename, strict=False)
    content_type = guessed if guessed is not None and encoding is None else DEFAULT_CONTENT_TYPE
    maintype, _, subtype = content_type.partition("/")
    return maintype, subtype


def envelope_recipients(*groups: Sequence[Address]) -> tuple[str, ...]:
    """Every address once, in the order given (RFC 5321 §3.3: one RCPT per recipient)."""
    seen: set[str] = set()
    result: list[str] = []
    for group in groups:
        for address in group:
            key = address.addr_spec.lower()
            if key not in seen:
                seen.add(key)
                result.append(address.addr_spec)
    return tuple(result)


def compose(draft: Draft, *, now: datetime | None = None, message_id: str | None = None) -> Composed:
    """Build the message and its envelope; bad addresses or header text raise UsageError."""
    sender = parse_mailbox(draft.sender, "--from")
    to = [parse_mailbox(a, "--to") for a in draft.to]
    cc = [parse_mailbox(a, "--cc") for a in draft.cc]
    bcc = [parse_mailbox(a, "--bcc") for a in draft.bcc]
    recipients = envelope_recipients(to, cc, bcc)
    if not recipients:
        raise UsageError("no recipients: give at least one --to, --cc or --bcc")
    if "\r" in draft.subject or "\n" in draft.subject:
        raise UsageError("--subject: must be one line")

    message = EmailMessage(policy=POLICY)
    message["From"] = sender
    if to:
        message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = draft.subject
    message["Date"] = email.utils.format_datetime(now or datetime.now().astimezone())
    message["Message-ID"] = message_id or email.utils.make_msgid(domain=sender.domain)
    message.set_content(draft.body, charset="utf-8")
    if draft.html is not None:
        message.add_alternative(draft.html, subtype="html", charset="utf-8")
    for attachment in draft.attachments:
        if attachment.content_type is not None:
            maintype, _, subtype = attachment.content_type.partition("/")
        else:
            maintype, subtype = guess_content_type(attachment.filename)
        message.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename)
    for part in message.walk():
        if part is not message:
            del part["MIME-Version"]  # RFC 2045 §4: required at the top level only; the email package repeats it
    return Composed(message, sender.addr_spec, recipients)


def needs_smtputf8(composed: Composed) -> bool:
    """Non-ASCII in an address needs SMTPUTF8 (RFC 6531) and UTF-8 in the header section."""
    return not all(a.isascii() for a in (composed.envelope_from, *composed.recipients))


def as_bytes(composed: Composed) -> bytes:
    """The message as it goes on the wire (CRLF line ends)."""
    policy = POLICY.clone(utf8=True) if needs_smtputf8(composed) else POLICY
    return composed.message.as_bytes(policy=policy)
