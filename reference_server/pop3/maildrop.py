"""The maildrop one POP3 session works on: a fixed listing, deletion marks and the lock.

At login the session locks the user's maildrop and takes one snapshot of the INBOX
(RFC 1939 §4): message numbers 1..n, sizes and unique-ids stay fixed for the session,
so mail delivered meanwhile shows up only in the next session. DELE only marks; the
marked messages are expunged in the UPDATE state (§6).

The lock is exclusive per user within this server process (§4, answered ``-ERR
[IN-USE]`` per RFC 2449 §8.1.2). IMAP sessions and other processes are not excluded: the
store tolerates messages vanishing under a reader, and a RETR of such a message is
answered -ERR.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from reference_server.faults import NO_FAULTS, Faults
from reference_server.pop3.parsing import is_valid_unique_id
from reference_server.storage.api import FolderSnapshot, MailStore

INBOX: Final = "INBOX"  # POP3 sees the one primary mailbox (RFC 1939 §1: "the maildrop")
SIZE_READ_CHUNK: Final = 1 << 16


@dataclass(frozen=True)
class DropMessage:
    """One message as this session numbers it."""

    number: int  # 1..n for the whole session (§4)
    uid: int  # the store's UID, for open_message() and expunge()
    size: int  # octets as sent: CRLF line ends, before byte-stuffing (§11)
    unique_id: str  # RFC 1939 §7: persists across sessions


class Maildrop:
    """The session's view: which message numbers exist and which are marked deleted."""

    def __init__(self, messages: Sequence[DropMessage]) -> None:
        self._messages = tuple(messages)
        self._deleted: set[int] = set()
        self._live: tuple[DropMessage, ...] | None = None  # STAT, LIST and UIDL ask often; DELE/RSET reset it

    def message(self, number: int) -> DropMessage | None:
        """The message with that number, or None if out of range or marked deleted (§5)."""
        if not 1 <= number <= len(self._messages) or number in self._deleted:
            return None
        return self._messages[number - 1]

    def is_deleted(self, number: int) -> bool:
        return number in self._deleted

    def in_range(self, number: int) -> bool:
        return 1 <= number <= len(self._messages)

    @property
    def all(self) -> tuple[DropMessage, ...]:
        """Every message, marked or not."""
        return self._messages

    @property
    def live(self) -> tuple[DropMessage, ...]:
        """Messages not marked deleted: what STAT, LIST and UIDL report (§5)."""
        if self._live is None:
            deleted = self._deleted
            self._live = tuple(m for m in self._messages if m.number not in deleted) if deleted else self._messages
        return self._live

    @property
    def octets(self) -> int:
        return sum(m.size for m in self.live)

    def mark_deleted(self, number: int) -> None:
        self._deleted.add(number)
        self._live = None

    def unmark_all(self) -> None:
        self._deleted.clear()
        self._live = None

    @property
    def deleted_uids(self) -> tuple[int, ...]:
        return tuple(self._messages[number - 1].uid for number in sorted(self._deleted))


def unique_id(uidvalidity: int, uid: int) -> str:
    """ "<uidvalidity>.<uid>": the store never reuses a UID under one UIDVALIDITY (§7)."""
    value = f"{uidvalidity}.{uid}"
    assert is_valid_unique_id(value)
    return value


def _lf_counted_size(store: MailStore, login: str, uid: int, wire_size: int) -> int:
    """Fault pop3.octets-lf-counted: the size with each line end counted as one octet."""
    line_ends = 0
    with store.open_message(login, INBOX, uid) as stream:
        while chunk := stream.read(SIZE_READ_CHUNK):
            line_ends += chunk.count(b"\n")
    return wire_size - line_ends


class ListingCache:
    """The last listing made per login, reused while the store hands back the same snapshot.

    A store may return the very snapshot object of an earlier call when the folder has not
    changed (MaildirStore does); numbering a thousand messages again for every poll would cost
    more than taking that snapshot. Shared by the sessions of one server; safe across threads
    (a lost race only builds the same listing twice).
    """

    def __init__(self) -> None:
        self._last: dict[str, tuple[FolderSnapshot, tuple[DropMessage, ...]]] = {}

    def get(self, login: str, snapshot: FolderSnapshot) -> tuple[DropMessage, ...] | None:
        cached = self._last.get(login)
        return cached[1] if cached is not None and cached[0] is snapshot else None

    def put(self, login: str, snapshot: FolderSnapshot, messages: tuple[DropMessage, ...]) -> None:
        self._last[login] = (snapshot, messages)


def open_maildrop(
    store: MailStore,
    login: str,
    faults: Faults = NO_FAULTS,
    session_tag: str = "",
    listings: ListingCache | None = None,
) -> Maildrop:
    """Snapshot the user's INBOX into a numbered listing (blocking: run it off the event loop).

    This is where sizes and unique-ids are decided, and so where the faults
    pop3.octets-lf-counted and pop3.uidl-per-session act; under either, nothing is cached.
    """
    snapshot: FolderSnapshot = store.snapshot(login, INBOX)
    per_session = faults.on("pop3.uidl-per-session")
    lf_counted = faults.on("pop3.octets-lf-counted")
    if listings is not None and not (per_session or lf_counted):
        cached = listings.get(login, snapshot)
        if cached is not None:
            return Maildrop(cached)
    messages = []
    for number, info in enumerate(sorted(snapshot.messages, key=lambda m: m.uid), start=1):
        size = _lf_counted_size(store, login, info.uid, info.size) if lf_counted else info.size
        # the defect: ids made from the login's session tag and the message number
        uid_string = f"{session_tag}.{number}" if per_session else unique_id(snapshot.uidvalidity, info.uid)
        messages.append(DropMessage(number, info.uid, size, uid_string))
    listing = tuple(messages)
    if listings is not None and not (per_session or lf_counted):
        listings.put(login, snapshot, listing)
    return Maildrop(listing)


class MaildropLocks:
    """Exclusive maildrop locks of this process, one per login (RFC 1939 §4)."""

    def __init__(self, faults: Faults = NO_FAULTS) -> None:
        self._held: set[str] = set()
        self._faults = faults

    def acquire(self, login: str) -> bool:
        """Take the lock; False if another session holds it."""
        if self._faults.on("pop3.no-maildrop-lock"):
            return True  # the defect: every session opens the maildrop, locked or not
        if login in self._held:
            return False
        self._held.add(login)
        return True

    def release(self, login: str) -> None:
        self._held.discard(login)

    def is_locked(self, login: str) -> bool:
        return login in self._held
