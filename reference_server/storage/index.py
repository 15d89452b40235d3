"""The per-folder index: UIDVALIDITY, UIDNEXT and, per UID, the file key, wire size, date, keywords.

IMAP UIDs and POP3 UIDLs must stay the same across sessions and restarts (RFC 3501 §2.3.1.1),
and Maildir file names cannot carry them, so each folder directory holds a small text file,
`mailconform-uidlist`:

    mailconform-uidlist 1 uidvalidity=1700000000 uidnext=4 generation=7
    1 1532 2023-11-14T22:13:20+00:00 1700000000.M1P2Q3R4.host,S=1500,W=1532
    3 88 2023-11-14T22:14:02+01:00 1700000042.M9P2Q5R6.host,S=88,W=88 $Forwarded Junk

one line per message in ascending UID order: UID, wire size, internal date (ISO 8601 with its
offset), file key (percent-escaped where it holds spaces or "%"), then keywords. The generation
grows with every write, so a reader can tell from the first line alone whether the version it
parsed last is still current (file timestamps are too coarse for that). The file is
replaced atomically (temporary file, fsync, rename, directory fsync) and every
read-modify-write happens under an exclusive flock on `mailconform-uidlist.lock`, so several
sessions, threads and processes can share a folder.

UIDVALIDITY values come from a per-user counter (`mailconform-uidvalidity` in the Maildir):
the creation time in seconds, or one more than the last value handed out if that is larger.
So a folder deleted, renamed away or re-created within the same second never gets an old value
back, which is what RFC 3501 §6.3.4 and §6.3.5 ask of a store that does not keep old UIDs.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final
from urllib.parse import quote, unquote

from reference_server.storage.api import StorageError
from reference_server.storage.durable import FILE_MODE, write_atomically

INDEX_FILE_NAME: Final = "mailconform-uidlist"
LOCK_FILE_NAME: Final = "mailconform-uidlist.lock"
UIDVALIDITY_FILE_NAME: Final = "mailconform-uidvalidity"
FORMAT_MAGIC: Final = "mailconform-uidlist"
FORMAT_VERSION: Final = 1
MAX_UID: Final = 4_294_967_295  # RFC 3501 §9 nz-number: "Non-zero unsigned 32-bit integer"
MAX_UIDVALIDITY: Final = MAX_UID  # the UIDVALIDITY response code carries an nz-number too

_KEY_SAFE: Final = "!#$&'()*+,-./:;<=>?@[]^_`{|}~"  # printable ASCII except space, '"', '%' and '\'


class IndexCorrupt(StorageError):
    """The index file cannot be read; the store rebuilds it under a new UIDVALIDITY."""


@dataclass(frozen=True)
class IndexEntry:
    """What the index remembers of one message; flags other than keywords live in the file name."""

    uid: int
    key: str
    size: int
    internal_date: datetime
    keywords: frozenset[str] = frozenset()


@dataclass(frozen=True)
class FolderIndex:
    """An immutable version of one folder's index; changes return a new version to write back."""

    uidvalidity: int
    uidnext: int
    entries: Mapping[int, IndexEntry] = field(default_factory=dict)  # ascending UID order
    generation: int = 0  # how many times this index file was written

    def uid_by_key(self) -> dict[str, int]:
        return {entry.key: uid for uid, entry in self.entries.items()}

    def with_added(self, additions: Iterable[tuple[str, int, datetime, frozenset[str]]]) -> FolderIndex:
        """Give each (key, size, internal date, keywords) the next UID, in the order given.

        UIDs only ever grow (RFC 3501 §2.3.1.1 "strictly ascending"), so UIDNEXT moves past every
        UID handed out, even for messages expunged later.
        """
        entries = dict(self.entries)
        uidnext = self.uidnext
        for key, size, internal_date, keywords in additions:
            if uidnext > MAX_UID:
                raise StorageError("the folder has used up its 32-bit UID space (RFC 3501 §2.3.1.1)")
            entries[uidnext] = IndexEntry(uidnext, key, size, internal_date, keywords)
            uidnext += 1
        return FolderIndex(self.uidvalidity, uidnext, entries, self.generation)

    def without(self, uids: Iterable[int]) -> FolderIndex:
        gone = set(uids)
        entries = {uid: entry for uid, entry in self.entries.items() if uid not in gone}
        return FolderIndex(self.uidvalidity, self.uidnext, entries, self.generation)

    def with_keywords(self, uid: int, keywords: frozenset[str]) -> FolderIndex:
        entries = dict(self.entries)
        old = entries[uid]
        entries[uid] = IndexEntry(uid, old.key, old.size, old.internal_date, keywords)
        return FolderIndex(self.uidvalidity, self.uidnext, entries, self.generation)

    def next_generation(self) -> FolderIndex:
        return FolderIndex(self.uidvalidity, self.uidnext, self.entries, self.generation + 1)


def format_index(index: FolderIndex) -> str:
    lines = [
        f"{FORMAT_MAGIC} {FORMAT_VERSION} uidvalidity={index.uidvalidity} uidnext={index.uidnext}"
        f" generation={index.generation}"
    ]
    for uid, entry in index.entries.items():
        fields = [str(uid), str(entry.size), entry.internal_date.isoformat(), quote(entry.key, safe=_KEY_SAFE)]
        fields.extend(sorted(entry.keywords))
        lines.append(" ".join(fields))
    return "\n".join(lines) + "\n"


def parse_index(text: str) -> FolderIndex:
    """Read an index file's text; anything inconsistent raises IndexCorrupt with the line number."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise IndexCorrupt("index file is empty")
    uidvalidity, uidnext, generation = _parse_header(lines[0])
    entries: dict[int, IndexEntry] = {}
    previous_uid = 0
    for number, line in enumerate(lines[1:], start=2):
        entry = _parse_entry(line, number)
        if not previous_uid < entry.uid < uidnext:
            raise IndexCorrupt(f"line {number}: UID {entry.uid} is out of order or not below UIDNEXT")
        entries[entry.uid] = entry
        previous_uid = entry.uid
    return FolderIndex(uidvalidity, uidnext, entries, generation)


def _parse_header(line: str) -> tuple[int, int, int]:
    """(UIDVALIDITY, UIDNEXT, generation) from the first line."""
    parts = line.split(" ")
    if len(parts) != 5 or parts[0] != FORMAT_MAGIC:
        raise IndexCorrupt(f"line 1: not a {FORMAT_MAGIC} header: {line!r}")
    if parts[1] != str(FORMAT_VERSION):
        raise IndexCorrupt(f"line 1: unknown format version {parts[1]!r}")
    values: dict[str, int] = {}
    for part in parts[2:]:
        name, _, value = part.partition("=")
        if not value.isdigit():
            raise IndexCorrupt(f"line 1: bad field {part!r}")
        values[name] = int(value)
    try:
        uidvalidity, uidnext, generation = values["uidvalidity"], values["uidnext"], values["generation"]
    except KeyError as missing:
        raise IndexCorrupt(f"line 1: missing {missing}") from None
    if not 0 < uidvalidity <= MAX_UIDVALIDITY or uidnext < 1:
        raise IndexCorrupt(f"line 1: values out of range: {line!r}")
    return uidvalidity, uidnext, generation


def _parse_entry(line: str, number: int) -> IndexEntry:
    parts = line.split(" ")
    if len(parts) < 4 or not parts[0].isdigit() or not parts[1].isdigit():
        raise IndexCorrupt(f"line {number}: malformed entry {line!r}")
    try:
        internal_date = datetime.fromisoformat(parts[2])
    except ValueError:
        raise IndexCorrupt(f"line {number}: bad date {parts[2]!r}") from None
    if internal_date.tzinfo is None:
        raise IndexCorrupt(f"line {number}: date {parts[2]!r} has no UTC offset")
    return IndexEntry(int(parts[0]), unquote(parts[3]), int(parts[1]), internal_date, frozenset(parts[4:]))


_HEAD_OCTETS: Final = 256  # the first line is well under this


class IndexFiles:
    """Reads and writes index files, re-parsing a file only when it was replaced since last read.

    Each version carries (UIDVALIDITY, generation) in its first line and no two versions of a
    folder share both, so reading that line tells whether the cached parse is still current.
    Safe to share between threads.
    """

    def __init__(self) -> None:
        self._cache: dict[Path, FolderIndex] = {}

    def read(self, folder_dir: Path) -> FolderIndex | None:
        """The folder's index, or None if it has none yet (raises IndexCorrupt if unreadable)."""
        path = folder_dir / INDEX_FILE_NAME
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            self._cache.pop(folder_dir, None)
            return None
        try:
            head = os.read(fd, _HEAD_OCTETS)
            cached = self._cache.get(folder_dir)
            if cached is not None and _version_of(head) == (cached.uidvalidity, cached.generation):
                return cached
            raw = head + _read_rest(fd)
        finally:
            os.close(fd)
        try:
            index = parse_index(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise IndexCorrupt(f"{path} is not UTF-8 text") from None
        self._cache[folder_dir] = index
        return index

    def write(self, folder_dir: Path, index: FolderIndex) -> FolderIndex:
        """Replace the folder's index durably as its next generation (callers hold the folder lock)."""
        written = index.next_generation()
        write_atomically(folder_dir / INDEX_FILE_NAME, format_index(written).encode("utf-8"))
        self._cache[folder_dir] = written
        return written

    def forget(self, folder_dir: Path) -> None:
        self._cache.pop(folder_dir, None)


def _version_of(head: bytes) -> tuple[int, int] | None:
    line, newline, _ = head.partition(b"\n")
    if not newline:
        return None
    try:
        uidvalidity, _, generation = _parse_header(line.decode("ascii"))
    except (IndexCorrupt, UnicodeDecodeError):
        return None
    return uidvalidity, generation


def _read_rest(fd: int) -> bytes:
    pieces: list[bytes] = []
    while piece := os.read(fd, 65536):
        pieces.append(piece)
    return b"".join(pieces)


@contextmanager
def exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive flock on `lock_path` (created if missing) for the duration of the block.

    flock locks belong to an open file description, so two threads that each open the lock file
    exclude each other as two processes do. Never take the same lock twice in one thread.
    """
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


def allocate_uidvalidity(maildir: Path, now: float | None = None) -> int:
    """A UIDVALIDITY this user has never been given before, durably recorded before it is used."""
    fd = os.open(maildir / UIDVALIDITY_FILE_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        recorded = os.pread(fd, 32, 0).strip()
        last = int(recorded) if recorded.isdigit() else 0
        value = max(int(time.time() if now is None else now), last + 1)
        if value > MAX_UIDVALIDITY:
            raise StorageError("no UIDVALIDITY left in the 32-bit range (RFC 3501 §9 nz-number)")
        # Fixed width, rewritten in place: one small write never leaves the file empty.
        os.pwrite(fd, f"{value:010d}\n".encode("ascii"), 0)
        os.fsync(fd)
        return value
    finally:
        os.close(fd)
