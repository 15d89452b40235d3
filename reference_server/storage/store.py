"""MaildirStore: the MailStore of the reference server, on Maildir(++) directories plus an index.

Reading rules worth knowing:

- Delivered messages stay in new/ until a session changes their flags; only then are they
  renamed into cur/ with a ":2," info part. Maildir readers accept messages in either place,
  and leaving them costs no rename per message on the delivery or snapshot path.
- `snapshot()` is the one place that assigns UIDs: files not yet in the index get the next
  UIDs in arrival order (modification time, then name), and index entries whose file vanished
  (removed by another tool) are dropped. UIDs are never reused: UIDNEXT only grows. A folder
  whose new/, cur/ and index have not changed since a scan that found them settled gets that
  scan's snapshot back without a listing (a POP3 poll of a big, quiet maildrop costs a few stats).
- INBOX always exists (RFC 3501 §5.1: "the primary mailbox for this user"): it is created on
  first use. Other folders must be created first.
- Deleting a folder removes it and its messages but not its inferiors (RFC 3501 §6.3.4 "MUST
  NOT remove inferior hierarchical names"); a parent that exists only through its inferiors is
  simply absent from `folders()`, which the IMAP layer reports as \\Noselect.
- The synchronous methods block on disk I/O (an index write is two fsyncs); asyncio servers
  call them through `asyncio.to_thread`. `deliver()` is the exception: it is a coroutine and
  does its disk work off the event loop, sharing disk flushes with concurrent deliveries.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Final

from reference_server.storage.api import (
    DEFAULT_FLUSH_METHOD,
    FolderExists,
    FolderNotFound,
    FolderSnapshot,
    IncomingMessage,
    MessageInfo,
    MessageNotFound,
    StorageError,
)
from reference_server.storage.delivery import DeliveryJob
from reference_server.storage.durable import (
    COPY_CHUNK_OCTETS,
    create_exclusive,
    fsync_directory,
    write_all,
)
from reference_server.storage.flush import make_flush
from reference_server.storage.groupcommit import GroupCommitter
from reference_server.storage.incoming import SPOOL_MEMORY_LIMIT, SpooledMessage
from reference_server.storage.index import (
    INDEX_FILE_NAME,
    LOCK_FILE_NAME,
    FolderIndex,
    IndexCorrupt,
    IndexFiles,
    allocate_uidvalidity,
    exclusive_lock,
)
from reference_server.storage.layout import MailLayout, make_message_directories
from reference_server.storage.maildir import (
    filename_in_cur,
    letters_for,
    new_key,
    sizes_from_key,
    split_filename,
    split_flags,
    system_flags_from_letters,
    unique_name,
)
from reference_server.storage.names import (
    INBOX,
    folder_from_directory_name,
    is_inferior,
    normalize_folder,
    superiors,
)
from reference_server.storage.wiresize import WireSizeCounter, wire_size

logger = logging.getLogger(__name__)

FOLDERS_LOCK_FILE_NAME: Final = "mailconform-folders.lock"  # serialises CREATE/DELETE/RENAME per user
STALE_SPOOL_SECONDS: Final = 36 * 3600  # Maildir spec: a tmp/ file untouched for 36 hours is garbage
_SCANNED_SUBDIRECTORIES: Final = ("new", "cur")  # new/ first: files only ever move new/ -> cur/
# A directory's modification time is trusted to reveal later changes only once it is this much
# older than the scan: file systems stamp with a coarse clock (a kernel tick on ext4, one second
# on ext3 and HFS+, two on FAT), and a change within the same tick leaves the stamp as it was.
TIMESTAMP_SETTLE_NS: Final = 2_000_000_000


@dataclass(frozen=True)
class _Arrival:
    key: str
    path: Path
    modified_ns: int


@dataclass(frozen=True)
class _DirectoryStamp:
    device: int
    inode: int
    modified_ns: int


@dataclass(frozen=True)
class _SnapshotValidator:
    """What must be unchanged for a folder's last snapshot to still be its current one.

    Every change that can alter a snapshot touches new/ or cur/ or the index: a delivery links a
    file into new/, a flag change renames within or between them, an expunge or another tool
    unlinks from them, and keyword changes and UID assignment write the index under a new
    generation. A directory entry change sets the directory's modification time to the current
    time, so a stamp recorded when it was already TIMESTAMP_SETTLE_NS old differs from any
    stamp a later change can give it; the generation never repeats under one UIDVALIDITY.
    Comparing the three, in any order, finds every change made before the comparison.
    """

    directories: tuple[_DirectoryStamp, ...]
    uidvalidity: int
    generation: int


@dataclass(frozen=True)
class _CachedSnapshot:
    validator: _SnapshotValidator
    snapshot: FolderSnapshot


class MaildirStore:
    """Mailboxes of all local users under one mail root (see the module docstring for the rules)."""

    def __init__(
        self,
        root: Path,
        *,
        spool_memory_limit: int = SPOOL_MEMORY_LIMIT,
        flush: str = DEFAULT_FLUSH_METHOD,
    ) -> None:
        self._layout = MailLayout(Path(root))
        self._layout.users_dir.mkdir(parents=True, exist_ok=True)
        self._layout.spool_dir.mkdir(parents=True, exist_ok=True)
        self._spool_memory_limit = spool_memory_limit
        self._indexes = IndexFiles()
        self._locations: dict[Path, dict[str, Path]] = {}  # folder dir -> key -> file last seen
        self._snapshots: dict[Path, _CachedSnapshot] = {}  # folder dir -> last settled snapshot
        self._committer = GroupCommitter(make_flush(flush))
        self._sweep_spool()

    @property
    def root(self) -> Path:
        return self._layout.root

    # -- SMTP delivery -------------------------------------------------------------------------

    def open_incoming(self) -> SpooledMessage:
        """Start receiving one message (buffered, then spooled to disk once it is large)."""
        return SpooledMessage(self._layout.spool_dir, self._spool_memory_limit)

    async def deliver(self, message: IncomingMessage, users: Sequence[str], prefix: bytes, folder: str = INBOX) -> None:
        """Deliver `prefix` + the message into each user's folder; return once it is on disk.

        One file is written and hard-linked into every recipient folder, off the event loop, in
        batches with concurrent deliveries that share thread hand-offs and disk flushes
        (groupcommit.py: the durability argument is there). Recipients
        are all-or-nothing: if one folder cannot take the message, none keeps it. The message is
        consumed whatever happens.
        """
        if not isinstance(message, SpooledMessage):
            raise TypeError("deliver() takes messages from this store's open_incoming()")
        try:
            canonical = normalize_folder(folder)
            folder_dirs = list(
                dict.fromkeys(self._layout.folder_dir(self._layout.maildir(user), canonical) for user in users)
            )
        except BaseException:
            message.discard()
            raise
        if not folder_dirs:
            message.discard()
            return
        await self._committer.commit(DeliveryJob(message.take(), prefix, folder_dirs, self._prepare_for_delivery))

    def ensure_user(self, user: str) -> None:
        """Create the user's Maildir (INBOX) with its index if missing; cheap when it exists."""
        self._ensure_inbox(user)

    # -- folders -------------------------------------------------------------------------------

    def folders(self, user: str) -> list[str]:
        """Folder names of a user, INBOX first then the others sorted, hierarchy separator '/'."""
        return [INBOX, *sorted(self._folder_names(self._ensure_inbox(user)))]

    def create_folder(self, user: str, name: str) -> None:
        """Create a folder and any missing superiors (RFC 3501 §6.3.3 SHOULD)."""
        folder = normalize_folder(name)
        if folder == INBOX:
            raise FolderExists("INBOX always exists (RFC 3501 §6.3.3)")
        maildir = self._ensure_inbox(user)
        with exclusive_lock(maildir / FOLDERS_LOCK_FILE_NAME):
            existing = self._folder_names(maildir)
            if folder in existing:
                raise FolderExists(f"folder {folder!r} already exists")
            self._create_superiors(maildir, folder, existing)
            self._make_folder(maildir, folder)
            fsync_directory(maildir)

    def delete_folder(self, user: str, name: str) -> None:
        """Remove a folder and its messages, leaving its inferiors in place (RFC 3501 §6.3.4)."""
        folder = normalize_folder(name)
        if folder == INBOX:
            raise StorageError("INBOX cannot be deleted (RFC 3501 §6.3.4)")
        maildir = self._ensure_inbox(user)
        folder_dir = self._layout.folder_dir(maildir, folder)
        with exclusive_lock(maildir / FOLDERS_LOCK_FILE_NAME):
            if not folder_dir.is_dir():
                raise FolderNotFound(f"folder {folder!r} does not exist")
            doomed = maildir / "tmp" / f".deleted-{unique_name()}"
            os.rename(folder_dir, doomed)  # the folder disappears at once; removal can take its time
            fsync_directory(maildir)
        self._forget(folder_dir)
        shutil.rmtree(doomed, ignore_errors=True)

    def rename_folder(self, user: str, old: str, new: str) -> None:
        """Rename a folder with all its inferiors (RFC 3501 §6.3.5); INBOX moves its messages out.

        UIDs and UIDVALIDITY travel with a renamed folder: the per-user UIDVALIDITY counter
        guarantees a folder later created under the old name gets a value never seen before.
        """
        source, target = normalize_folder(old), normalize_folder(new)
        if target == INBOX:
            raise FolderExists("INBOX always exists (RFC 3501 §6.3.5)")
        if source == target:
            raise FolderExists(f"folder {target!r} already exists")
        if is_inferior(target, source):
            raise StorageError(f"cannot rename {source!r} into its own hierarchy ({target!r})")
        maildir = self._ensure_inbox(user)
        with exclusive_lock(maildir / FOLDERS_LOCK_FILE_NAME):
            existing = self._folder_names(maildir)
            if target in existing:
                raise FolderExists(f"folder {target!r} already exists")
            if source == INBOX:
                self._create_superiors(maildir, target, existing)
                self._move_inbox_messages(maildir, self._make_folder(maildir, target))
                fsync_directory(maildir)
                return
            moving = sorted(name for name in existing if name == source or is_inferior(name, source))
            if not moving:
                raise FolderNotFound(f"folder {source!r} does not exist")
            moves = [(name, normalize_folder(target + name[len(source) :])) for name in moving]
            clashes = [renamed for _, renamed in moves if renamed in existing]
            if clashes:
                raise FolderExists(f"folder {clashes[0]!r} already exists")
            self._create_superiors(maildir, target, existing)
            for name, renamed in moves:
                old_dir = self._layout.folder_dir(maildir, name)
                os.rename(old_dir, self._layout.folder_dir(maildir, renamed))
                self._forget(old_dir)
            fsync_directory(maildir)

    # -- messages ------------------------------------------------------------------------------

    def snapshot(self, user: str, folder: str = INBOX) -> FolderSnapshot:
        """Scan the folder, give new arrivals UIDs, drop vanished files, return the current view.

        A folder whose new/ and cur/ directories and index are unchanged since the last scan,
        and were already settled then, gets that scan's snapshot back without listing the
        directories again (see `_SnapshotValidator` for why that is safe).
        """
        name, folder_dir, maildir = self._resolve(user, folder)
        cached = self._snapshots.get(folder_dir)
        if cached is not None and cached.validator == self._validator(folder_dir):
            return cached.snapshot
        with self._folder_lock(folder_dir, name):
            index = self._index_locked(folder_dir, maildir)
            scan_started_ns = time.time_ns()
            directories = self._directory_stamps(folder_dir)
            files = self._scan(folder_dir)
            updated = self._reconciled(index, files)
            if updated is not index:
                index = self._indexes.write(folder_dir, updated)
        messages = []
        for uid, entry in index.entries.items():
            _, letters = split_filename(files[entry.key].name)
            flags = system_flags_from_letters(letters) | entry.keywords
            messages.append(MessageInfo(uid, entry.key, entry.size, flags, entry.internal_date))
        snapshot = FolderSnapshot(name, index.uidvalidity, index.uidnext, tuple(messages))
        settled_before_ns = scan_started_ns - TIMESTAMP_SETTLE_NS
        if directories is not None and all(stamp.modified_ns < settled_before_ns for stamp in directories):
            validator = _SnapshotValidator(directories, index.uidvalidity, index.generation)
            self._snapshots[folder_dir] = _CachedSnapshot(validator, snapshot)
        else:
            self._snapshots.pop(folder_dir, None)
        return snapshot

    def open_message(self, user: str, folder: str, uid: int) -> BinaryIO:
        """The stored bytes of one message, opened for reading (the caller closes it)."""
        name, folder_dir, _ = self._resolve(user, folder)
        index = self._indexes.read(folder_dir)
        entry = index.entries.get(uid) if index is not None else None
        if entry is None:
            raise MessageNotFound(f"no message with UID {uid} in {name!r}")
        for path in self._candidate_paths(folder_dir, entry.key):
            try:
                return open(path, "rb")
            except FileNotFoundError:
                continue
        raise MessageNotFound(f"message with UID {uid} in {name!r} was removed")

    def set_flags(self, user: str, folder: str, uid: int, flags: frozenset[str]) -> None:
        """Replace a message's flags: system flags go into the file name, keywords into the index."""
        system, keywords = split_flags(flags)
        name, folder_dir, maildir = self._resolve(user, folder)
        with self._folder_lock(folder_dir, name):
            index = self._index_locked(folder_dir, maildir)
            entry = index.entries.get(uid)
            if entry is None:
                raise MessageNotFound(f"no message with UID {uid} in {name!r}")
            path = self._find_locked(folder_dir, entry.key)
            if path is None:
                raise MessageNotFound(f"message with UID {uid} in {name!r} was removed")
            _, letters = split_filename(path.name)
            wanted = letters_for(system, letters)
            in_new = path.parent.name == "new"
            if wanted != letters or (in_new and wanted):
                moved = folder_dir / "cur" / filename_in_cur(entry.key, wanted)
                os.rename(path, moved)
                self._locations.setdefault(folder_dir, {})[entry.key] = moved
            if keywords != entry.keywords:
                self._indexes.write(folder_dir, index.with_keywords(uid, keywords))

    def append(self, user: str, folder: str, data: bytes, flags: frozenset[str], internal_date: datetime | None) -> int:
        """IMAP APPEND: store durably in cur/ and return the new UID (RFC 3501 §6.3.11).

        The internal date is kept with its UTC offset and also set as the file's modification
        time, so a rebuilt index recovers it; a naive datetime is taken as UTC.
        """
        system, keywords = split_flags(flags)
        name, folder_dir, maildir = self._resolve(user, folder)
        when = datetime.now(UTC).replace(microsecond=0) if internal_date is None else internal_date
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        wire_octets = wire_size(data)
        key = new_key(len(data), wire_octets)
        temporary = folder_dir / "tmp" / key
        fd = create_exclusive(temporary)
        try:
            write_all(fd, data)
            stamp = when.timestamp()
            os.utime(fd, (stamp, stamp))
            os.fsync(fd)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)
        target = folder_dir / "cur" / filename_in_cur(key, letters_for(system))
        try:
            with self._folder_lock(folder_dir, name):
                # Earlier deliveries not yet indexed get their (lower) UIDs first.
                index = self._reconciled(self._index_locked(folder_dir, maildir), self._scan(folder_dir))
                os.rename(temporary, target)
                fsync_directory(target.parent)
                index = self._indexes.write(folder_dir, index.with_added([(key, wire_octets, when, keywords)]))
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        self._locations.setdefault(folder_dir, {})[key] = target
        return index.uidnext - 1

    def expunge(self, user: str, folder: str, uids: Sequence[int]) -> None:
        """Remove messages for good (POP3 UPDATE state, IMAP EXPUNGE); unknown UIDs are ignored."""
        name, folder_dir, maildir = self._resolve(user, folder)
        with self._folder_lock(folder_dir, name):
            index = self._index_locked(folder_dir, maildir)
            doomed = [index.entries[uid] for uid in dict.fromkeys(uids) if uid in index.entries]
            if not doomed:
                return
            files = self._scan(folder_dir)
            for entry in doomed:
                path = files.get(entry.key)
                if path is not None:
                    path.unlink(missing_ok=True)
            for subdirectory in _SCANNED_SUBDIRECTORIES:
                fsync_directory(folder_dir / subdirectory)
            self._indexes.write(folder_dir, index.without(entry.uid for entry in doomed))

    # -- internals -----------------------------------------------------------------------------

    def _ensure_inbox(self, user: str) -> Path:
        maildir = self._layout.maildir(user)
        if (maildir / INDEX_FILE_NAME).exists():
            return maildir
        make_message_directories(maildir, folder_marker=False)
        with exclusive_lock(maildir / LOCK_FILE_NAME):
            self._index_locked(maildir, maildir)
        fsync_directory(maildir.parent)
        fsync_directory(self._layout.users_dir)
        return maildir

    def _resolve(self, user: str, folder: str) -> tuple[str, Path, Path]:
        """(canonical name, folder directory, user's Maildir) of an existing folder."""
        name = normalize_folder(folder)
        if name == INBOX:
            maildir = self._ensure_inbox(user)
            return name, maildir, maildir
        maildir = self._layout.maildir(user)
        folder_dir = self._layout.folder_dir(maildir, name)
        if not (folder_dir / "cur").is_dir():
            raise FolderNotFound(f"folder {name!r} does not exist")
        return name, folder_dir, maildir

    @contextmanager
    def _folder_lock(self, folder_dir: Path, name: str) -> Iterator[None]:
        with ExitStack() as stack:
            try:
                stack.enter_context(exclusive_lock(folder_dir / LOCK_FILE_NAME))
            except FileNotFoundError:
                raise FolderNotFound(f"folder {name!r} does not exist") from None
            yield

    def _index_locked(self, folder_dir: Path, maildir: Path) -> FolderIndex:
        """The folder's index, created (or rebuilt when unreadable) with a fresh UIDVALIDITY."""
        try:
            index = self._indexes.read(folder_dir)
        except IndexCorrupt as error:
            logger.warning("rebuilding the index of %s under a new UIDVALIDITY: %s", folder_dir, error)
            index = None
        if index is None:
            index = self._indexes.write(folder_dir, FolderIndex(allocate_uidvalidity(maildir), 1))
        return index

    def _directory_stamps(self, folder_dir: Path) -> tuple[_DirectoryStamp, ...] | None:
        """Identity and modification time of new/ and cur/; None if one cannot be read."""
        stamps = []
        for subdirectory in _SCANNED_SUBDIRECTORIES:
            try:
                status = os.stat(folder_dir / subdirectory)
            except OSError:
                return None
            stamps.append(_DirectoryStamp(status.st_dev, status.st_ino, status.st_mtime_ns))
        return tuple(stamps)

    def _validator(self, folder_dir: Path) -> _SnapshotValidator | None:
        """What the folder looks like now, in the terms a cached snapshot was recorded in."""
        directories = self._directory_stamps(folder_dir)
        if directories is None:
            return None
        try:
            index = self._indexes.read(folder_dir)
        except IndexCorrupt:
            return None
        if index is None:
            return None
        return _SnapshotValidator(directories, index.uidvalidity, index.generation)

    def _scan(self, folder_dir: Path) -> dict[str, Path]:
        """Message files by key, from new/ then cur/; remembered for open_message()."""
        files: dict[str, Path] = {}
        for subdirectory in _SCANNED_SUBDIRECTORIES:
            with os.scandir(folder_dir / subdirectory) as entries:
                for entry in entries:
                    if entry.name.startswith(".") or entry.is_dir():
                        continue  # Maildir spec: names starting with "." are not messages
                    key, _ = split_filename(entry.name)
                    files[key] = Path(entry.path)
        self._locations[folder_dir] = files
        return files

    @staticmethod
    def _reconciled(index: FolderIndex, files: dict[str, Path]) -> FolderIndex:
        """The index with new arrivals added and vanished files dropped (`index` itself if neither).

        Files that disappear while being looked at are removed from `files` as well.
        """
        known = index.uid_by_key()
        vanished = [uid for key, uid in known.items() if key not in files]
        arrivals = []
        for key, path in list(files.items()):
            if key in known:
                continue
            try:
                arrivals.append(_Arrival(key, path, path.stat().st_mtime_ns))
            except FileNotFoundError:
                del files[key]  # moved or removed by another tool while we looked
        if not vanished and not arrivals:
            return index
        arrivals.sort(key=lambda arrival: (arrival.modified_ns, arrival.key))
        additions = []
        for arrival in arrivals:
            size = _wire_size_of(arrival.key, arrival.path)
            if size is None:
                del files[arrival.key]
                continue
            date = datetime.fromtimestamp(arrival.modified_ns // 1_000_000_000, UTC)
            additions.append((arrival.key, size, date, frozenset[str]()))
        return index.without(vanished).with_added(additions)

    def _find_locked(self, folder_dir: Path, key: str) -> Path | None:
        remembered = self._locations.get(folder_dir, {}).get(key)
        if remembered is not None and os.path.lexists(remembered):
            return remembered
        return self._scan(folder_dir).get(key)

    def _candidate_paths(self, folder_dir: Path, key: str) -> Iterator[Path]:
        remembered = self._locations.get(folder_dir, {}).get(key)
        if remembered is not None:
            yield remembered
        found = self._scan(folder_dir).get(key)
        if found is not None and found != remembered:
            yield found

    def _folder_names(self, maildir: Path) -> set[str]:
        names = set()
        with os.scandir(maildir) as entries:
            for entry in entries:
                if entry.is_dir():
                    folder = folder_from_directory_name(entry.name)
                    if folder is not None:
                        names.add(folder)
        return names

    def _make_folder(self, maildir: Path, folder: str) -> Path:
        """Build a complete folder in tmp/ and rename it into place, so it appears all at once."""
        staging = maildir / "tmp" / f".creating-{unique_name()}"
        make_message_directories(staging, folder_marker=True)
        try:
            self._indexes.write(staging, FolderIndex(allocate_uidvalidity(maildir), 1))
            self._indexes.forget(staging)
            folder_dir = self._layout.folder_dir(maildir, folder)
            os.rename(staging, folder_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._forget(folder_dir)
        return folder_dir

    def _create_superiors(self, maildir: Path, folder: str, existing: set[str]) -> None:
        """Create the missing names above a folder (RFC 3501 §6.3.3 and §6.3.5 SHOULD)."""
        for superior in superiors(folder):
            if superior != INBOX and superior not in existing:
                self._make_folder(maildir, superior)

    def _move_inbox_messages(self, maildir: Path, target_dir: Path) -> None:
        """RENAME INBOX: every message moves to the new folder, INBOX stays, empty (RFC 3501 §6.3.5)."""
        with self._folder_lock(maildir, INBOX):
            inbox = self._index_locked(maildir, maildir)
            files = self._scan(maildir)
            inbox = self._reconciled(inbox, files)
            with self._folder_lock(target_dir, "renamed INBOX"):
                target = self._index_locked(target_dir, maildir)
                additions = []
                for entry in inbox.entries.values():
                    path = files[entry.key]
                    os.rename(path, target_dir / path.parent.name / path.name)
                    additions.append((entry.key, entry.size, entry.internal_date, entry.keywords))
                for subdirectory in _SCANNED_SUBDIRECTORIES:
                    fsync_directory(target_dir / subdirectory)
                    fsync_directory(maildir / subdirectory)
                self._indexes.write(target_dir, target.with_added(additions))
            self._indexes.write(maildir, inbox.without(list(inbox.entries)))
        self._forget(maildir)

    def _prepare_for_delivery(self, folder_dir: Path) -> None:
        """A recipient folder lacks tmp/ or new/: re-create an INBOX, refuse any other folder."""
        user = self._layout.user_of_maildir(folder_dir)
        if user is None:
            raise FolderNotFound(f"folder directory {folder_dir} does not exist")
        make_message_directories(folder_dir, folder_marker=False)
        self._ensure_inbox(user)

    def _forget(self, folder_dir: Path) -> None:
        self._locations.pop(folder_dir, None)
        self._snapshots.pop(folder_dir, None)
        self._indexes.forget(folder_dir)

    def _sweep_spool(self) -> None:
        """Remove spool files a crashed process left behind (old enough that no session owns them)."""
        cutoff = time.time() - STALE_SPOOL_SECONDS
        with os.scandir(self._layout.spool_dir) as entries:
            for entry in entries:
                try:
                    if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                        os.unlink(entry.path)
                except FileNotFoundError:
                    continue


def _wire_size_of(key: str, path: Path) -> int | None:
    """Wire octets of a file: from its ",W=" field if present, else by reading it in 1 MiB chunks."""
    _, recorded = sizes_from_key(key)
    if recorded is not None:
        return recorded
    counter = WireSizeCounter()
    try:
        with open(path, "rb") as stream:
            while chunk := stream.read(COPY_CHUNK_OCTETS):
                counter.feed(chunk)
    except FileNotFoundError:
        return None
    return counter.wire_octets


__all__ = ["MaildirStore"]
