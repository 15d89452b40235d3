"""Protocol reply readers: pure, incremental framers for SMTP, POP3 and IMAP server output.

Each reader is fed raw octets in whatever fragments the network delivers and hands back one
complete reply at a time, with the octets it consumed and the RFC deviations it noticed. None of
them touches a socket, so the same code serves the live session, log replay and unit tests.
"""

from __future__ import annotations

from harness.readers.errors import ReplyFramingError
from harness.readers.imap import ImapReader, ImapResponse, ImapString, ImapValue, fetch_items, flags_set
from harness.readers.pop3 import Pop3Reader, Pop3Reply, pop3_command_is_multiline
from harness.readers.smtp import SmtpReader, SmtpReply, ehlo_keywords

__all__ = [
    "ImapReader",
    "ImapResponse",
    "ImapString",
    "ImapValue",
    "Pop3Reader",
    "Pop3Reply",
    "ReplyFramingError",
    "SmtpReader",
    "SmtpReply",
    "ehlo_keywords",
    "fetch_items",
    "flags_set",
    "pop3_command_is_multiline",
]
