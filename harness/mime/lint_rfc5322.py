"""The message's own fields: which must be there, how often, and whether addresses parse (RFC 5322 §3.4, §3.6).

Address syntax is the `email` package's header registry: it parses each address field and
records defects, which become findings. Its notes on encoded-words are left to lint_rfc2047 (one
defect, one finding), and a non-ASCII local part is lint_fields' header.utf8 (RFC 6531 §3.2).

An encapsulated message (message/rfc822) is held to the same syntax, but not to the top-level
presence rules: RFC 2046 §5.2.1 relaxes them for it.
"""

from __future__ import annotations

import email.errors
from collections.abc import Iterator
from typing import Any, Final

from harness.mime import rules
from harness.mime.fieldtext import HEADER_POLICY, field_text
from harness.mime.findings import Finding
from harness.mime.structure import Entity, ParsedMessage, RawField

AT_MOST_ONCE: Final = (
    "date",
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "bcc",
    "message-id",
    "in-reply-to",
    "references",
    "subject",
)  # RFC 5322 §3.6, the table: maximum number 1
MAILBOX_LIST_FIELDS: Final = frozenset({"from", "resent-from"})  # mailbox-list: no groups (§3.6.2, §3.6.6)
SINGLE_MAILBOX_FIELDS: Final = frozenset({"sender", "resent-sender"})
ADDRESS_LIST_FIELDS: Final = frozenset({"reply-to", "to", "cc", "resent-to", "resent-cc"})
MAY_BE_EMPTY: Final = frozenset({"bcc", "resent-bcc"})  # §3.6.3: bcc = "Bcc:" [address-list / CFWS]
ADDRESS_FIELDS: Final = MAILBOX_LIST_FIELDS | SINGLE_MAILBOX_FIELDS | ADDRESS_LIST_FIELDS | MAY_BE_EMPTY


def check_required_fields(parsed: ParsedMessage) -> Iterator[Finding]:
    root = parsed.root
    if root.first_field("date") is None:
        yield rules.DATE_MISSING.finding(None, "no Date field (the origination date is required)")
    if root.first_field("from") is None:
        yield rules.FROM_MISSING.finding(None, "no From field (the originator is required)")
    for entity in parsed.messages():
        yield from _duplicates(entity)


def _duplicates(entity: Entity) -> Iterator[Finding]:
    for key in AT_MOST_ONCE:
        found = entity.field_values(key)
        for extra in found[1:]:
            yield rules.DUPLICATE.finding(
                extra.line, f"{_name(extra)} occurs {len(found)} times (at most once; first on line {found[0].line})"
            )


def check_addresses(parsed: ParsedMessage) -> Iterator[Finding]:
    for entity in parsed.messages():
        for field in entity.fields:
            if field.key in ADDRESS_FIELDS:
                yield from _address_findings(field)
        yield from _sender_required(entity)


def _sender_required(entity: Entity) -> Iterator[Finding]:
    author = entity.first_field("from")
    if author is None or entity.first_field("sender") is not None:
        return
    header = _parse(author)
    mailboxes = len(header.addresses) if header is not None else 0
    if mailboxes > 1:
        yield rules.SENDER_REQUIRED.finding(author.line, f"From has {mailboxes} mailboxes and there is no Sender field")


def _address_findings(field: RawField) -> Iterator[Finding]:
    header = _parse(field)
    name = _name(field)
    if header is None:
        yield rules.ADDRESS_SYNTAX.finding(field.line, f"{name}: the address list cannot be parsed")
        return
    errors: list[str] = []
    obsolete: list[str] = []
    for defect in header.defects:
        text = str(defect).strip().rstrip(")")
        if isinstance(defect, email.errors.NonASCIILocalPartDefect) or "encoded" in text:
            continue
        (obsolete if isinstance(defect, email.errors.ObsoleteHeaderDefect) else errors).append(text)
    addresses = header.addresses
    if not addresses and field.key not in MAY_BE_EMPTY and not getattr(header, "groups", ()):
        errors.insert(0, "no address")
    if field.key in MAILBOX_LIST_FIELDS and any(group.display_name is not None for group in header.groups):
        errors.append("a group is not allowed here (mailbox-list)")
    if field.key in SINGLE_MAILBOX_FIELDS and len(addresses) > 1:
        errors.append(f"{len(addresses)} mailboxes where exactly one is allowed")
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        yield rules.ADDRESS_SYNTAX.finding(field.line, f"{name}: {errors[0]}{more}")
    elif obsolete:
        yield rules.ADDRESS_OBSOLETE.finding(field.line, f"{name}: {obsolete[0]}")


def _parse(field: RawField) -> Any | None:
    """The header registry's parse of an address field, or None if the parser itself gave up."""
    try:
        header = HEADER_POLICY.header_factory(field.key, field_text(field.value).strip())
        header.addresses  # noqa: B018 - forces the lazy parts of the parse to run here, inside the guard
    except Exception:  # the registry raises on some malformed input instead of recording a defect
        return None
    return header


def _name(field: RawField) -> str:
    return field.name.decode("ascii", "replace")
