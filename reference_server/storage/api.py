"""The one storage interface shared by SMTP delivery, POP3 and IMAP.

Every protocol server talks to mail through these types only, so a session never
knows whether a message sits in Maildir, and POP3/IMAP see what SMTP delivered
without any protocol-specific glue. Sizes count CRLF line ends (RFC 1939 §11 and
RFC 3501 §2.3.4 define octet counts on the wire form), although files on disk hold
the bytes exactly as received.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Final, Protocol

FLUSH_METHODS: Final = ("syncfs", "fsync")  # how deliveries are made durable (storage/flush.py)
DEFAULT_FLUSH_METHOD: Final = "syncfs"


class StorageError(Exception):
    """A storage operation could not be carried out (the caller answers 4xx/NO)."""


class FolderNotFound(StorageError):
    """The named folder does not exist for that user."""


class FolderExists(StorageError):
    """CREATE/RENAME target already exists."""


class InvalidName(StorageError):
    """A user, folder or flag name the store cannot hold (empty, "..", NUL, too long, not an atom)."""


class MessageNotFound(StorageError):
    """No message with that UID in the folder (expunged by another session meanwhile)."""


@dataclass(frozen=True)
class MessageInfo:
    """What the index knows of one message in one folder."""

    uid: int
    key: str  # Maildir base name without the ":2,FLAGS" info part; stable across flag changes
    size: int  # octets of the wire form (CRLF line ends)
    flags: frozenset[str]  # IMAP system flags ("\\Seen", ...) and keywords
    internal_date: datetime  # aware datetime: delivery time


@dataclass(frozen=True)
class FolderSnapshot:
    """A consistent view of one folder at one moment (what POP3 locks, what IMAP SELECTs)."""

    name: str
    uidvalidity: int
    uidnext: int
    messages: tuple[MessageInfo, ...] = field(default_factory=tuple)


class IncomingMessage(Protocol):
    """A message being received, streamed to the spool as it arrives (never held whole in memory)."""

    @property
    def size(self) -> int:
        """Octets written so far."""

    def write(self, chunk: bytes) -> None:
        """Append bytes exactly as they are to be stored (already dot-unstuffed, CRLF kept)."""

    def discard(self) -> None:
        """Throw the spool file away (transaction aborted, RSET, size exceeded, error)."""


class MailStore(Protocol):
    """Mailboxes of all local users under one mail root."""

    def open_incoming(self) -> IncomingMessage:
        """Start receiving one message into the spool."""

    async def deliver(
        self, message: IncomingMessage, users: Sequence[str], prefix: bytes, folder: str = "INBOX"
    ) -> None:
        """Deliver `prefix` + the message into each user's folder, durably.

        Returns only after the message file and the directory entries are fsync'd, so an
        SMTP 250 sent afterwards is a promise kept across a crash (RFC 5321 §6.1). Concurrent
        deliveries share their fsyncs (group commit). The spool file is consumed.
        """

    def ensure_user(self, user: str) -> None:
        """Create the user's Maildir (INBOX) if missing."""

    def folders(self, user: str) -> list[str]:
        """Folder names of a user, INBOX first, hierarchy separator '/'."""

    def create_folder(self, user: str, name: str) -> None: ...

    def delete_folder(self, user: str, name: str) -> None: ...

    def rename_folder(self, user: str, old: str, new: str) -> None: ...

    def snapshot(self, user: str, folder: str = "INBOX") -> FolderSnapshot:
        """Scan the folder, assign UIDs to new arrivals, and return the current view."""

    def open_message(self, user: str, folder: str, uid: int) -> BinaryIO:
        """The stored bytes of one message, opened for reading."""

    def set_flags(self, user: str, folder: str, uid: int, flags: frozenset[str]) -> None: ...

    def append(self, user: str, folder: str, data: bytes, flags: frozenset[str], internal_date: datetime | None) -> int:
        """IMAP APPEND: store and return the new UID."""

    def expunge(self, user: str, folder: str, uids: Sequence[int]) -> None:
        """Remove messages for good (POP3 UPDATE state, IMAP EXPUNGE)."""
