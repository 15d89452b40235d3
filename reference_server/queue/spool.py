"""The durable spool of the outgoing queue: one message file and one state file per entry.

Layout under the mail root::

    queue/<id>.msg          the message exactly as it will be sent (our Received: on top, CRLF)
    queue/<id>.json         the envelope and each recipient's status (pending|delivered|failed)
    queue/corrupt/          state files that could not be read, moved aside with their message
    queue/server.pid        the pid of the running `serve` (for `mailconform queue --flush`)

Durability (RFC 5321 §6.1: after the 250 the message must not be lost). `enqueue` writes and
fsyncs the message file, then writes the state under a temporary name, fsyncs it, renames it
into place and fsyncs the directory -- all before it returns, so the SMTP session answers 250
only for an entry that a crash cannot take away. Every later state change is an atomic replace
(temporary file, fsync, rename, directory fsync): a crash leaves the old state or the new one.

What a restart finds and does:

- a state file with its message: the entry, as it was last recorded;
- a message file without a state file: an enqueue that never finished, so never acknowledged
  with a 250 -- removed;
- a state file that cannot be parsed (or whose message is missing): one log line naming it,
  and both files moved to corrupt/ for a person to look at; the server goes on.

The crash window: a recipient the next hop has accepted is recorded as delivered right after
the attempt; if the process dies between the next hop's 250 and that state update reaching the
disk, the recipient is still pending after the restart and is delivered again. Delivery is
therefore *at least once*; duplicates happen only in that window, never a loss.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from reference_server.storage.durable import DIRECTORY_MODE, create_exclusive, fsync_directory, write_all

log = logging.getLogger(__name__)

QUEUE_DIRECTORY: Final = "queue"
CORRUPT_DIRECTORY: Final = "corrupt"
PID_FILE_NAME: Final = "server.pid"
MESSAGE_SUFFIX: Final = ".msg"
STATE_SUFFIX: Final = ".json"
TEMPORARY_SUFFIX: Final = ".tmp"
STATE_VERSION: Final = 1
HEADER_READ_MAX: Final = 256 * 1024  # octets of a queued message read to find its header section

PENDING: Final = "pending"
DELIVERED: Final = "delivered"
FAILED: Final = "failed"
STATUSES: Final = (PENDING, DELIVERED, FAILED)

_ENTRY_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")

BodyWriter = Callable[[int], None]
"""Writes the message body to the open file descriptor it is given (appending)."""


class CorruptState(ValueError):
    """A state file that does not describe a queue entry; str() says what is wrong."""


@dataclass(frozen=True)
class RecipientState:
    """One recipient of an entry and the outcome of its last attempt."""

    address: str
    status: str = PENDING
    code: int | None = None
    enhanced: str | None = None
    text: str = ""
    remote: str | None = None  # "host:port" that gave the reply
    last_attempt: float | None = None  # epoch seconds

    @property
    def pending(self) -> bool:
        return self.status == PENDING


@dataclass(frozen=True)
class QueueEntry:
    """One queued message: the envelope, per-recipient state and the retry schedule."""

    id: str
    reverse_path: str  # "" for the null reverse-path
    recipients: tuple[RecipientState, ...]
    created: float  # epoch seconds: when the message was accepted (DSN Arrival-Date)
    next_try: float  # epoch seconds
    size: int  # octets of the message file
    eight_bit: bool  # an octet > 127 somewhere in the message
    smtputf8: bool  # accepted with the SMTPUTF8 MAIL parameter (RFC 6531)
    attempts: int = 0
    is_notification: bool = False  # a delivery status notification made here
    last_attempt: float | None = None

    @property
    def pending(self) -> tuple[str, ...]:
        return tuple(r.address for r in self.recipients if r.pending)

    @property
    def finished(self) -> bool:
        """Every recipient is final: the entry can leave the queue (after any notification)."""
        return not any(r.pending for r in self.recipients)

    @property
    def failed(self) -> tuple[RecipientState, ...]:
        return tuple(r for r in self.recipients if r.status == FAILED)

    def with_recipients(self, recipients: Iterable[RecipientState]) -> QueueEntry:
        return replace(self, recipients=tuple(recipients))

    def to_json(self) -> dict[str, object]:
        return {
            "version": STATE_VERSION,
            "id": self.id,
            "reverse_path": self.reverse_path,
            "created": self.created,
            "next_try": self.next_try,
            "attempts": self.attempts,
            "last_attempt": self.last_attempt,
            "size": self.size,
            "eight_bit": self.eight_bit,
            "smtputf8": self.smtputf8,
            "is_notification": self.is_notification,
            "recipients": [
                {
                    "address": r.address,
                    "status": r.status,
                    "code": r.code,
                    "enhanced": r.enhanced,
                    "text": r.text,
                    "remote": r.remote,
                    "last_attempt": r.last_attempt,
                }
                for r in self.recipients
            ],
        }

    @classmethod
    def from_json(cls, data: object) -> QueueEntry:
        """Check every field; a state file written by someone else gets a CorruptState naming the field."""
        record = _Record(data, "state")
        if record.integer("version") != STATE_VERSION:
            raise CorruptState(f"unsupported version (expected {STATE_VERSION})")
        entry_id = record.string("id")
        if not _ENTRY_ID.fullmatch(entry_id):
            raise CorruptState(f"id: {entry_id!r} is not a queue id")
        raw_recipients = record.get("recipients")
        if not isinstance(raw_recipients, list) or not raw_recipients:
            raise CorruptState("recipients: must be a non-empty list")
        recipients = []
        for index, raw in enumerate(raw_recipients, 1):
            item = _Record(raw, f"recipients[{index}]")
            status = item.string("status")
            if status not in STATUSES:
                raise CorruptState(f"recipients[{index}].status: {status!r} is not one of {', '.join(STATUSES)}")
            recipients.append(
                RecipientState(
                    address=item.string("address", empty=False),
                    status=status,
                    code=item.optional_integer("code"),
                    enhanced=item.optional_string("enhanced"),
                    text=item.string("text"),
                    remote=item.optional_string("remote"),
                    last_attempt=item.optional_number("last_attempt"),
                )
            )
        return cls(
            id=entry_id,
            reverse_path=record.string("reverse_path"),
            recipients=tuple(recipients),
            created=record.number("created"),
            next_try=record.number("next_try"),
            size=record.integer("size"),
            eight_bit=record.boolean("eight_bit"),
            smtputf8=record.boolean("smtputf8"),
            attempts=record.integer("attempts"),
            is_notification=record.boolean("is_notification"),
            last_attempt=record.optional_number("last_attempt"),
        )


class _Record:
    """Typed reads from one JSON object, each failure a CorruptState naming the field."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, dict):
            raise CorruptState(f"{where}: must be a JSON object")
        self._data: dict[str, object] = data
        self._where = where

    def get(self, key: str) -> object:
        return self._data.get(key)

    def _bad(self, key: str, expected: str) -> CorruptState:
        return CorruptState(f"{self._where}.{key}: must be {expected}")

    def string(self, key: str, *, empty: bool = True) -> str:
        value = self._data.get(key)
        if not isinstance(value, str) or (not empty and not value):
            raise self._bad(key, "a string" if empty else "a non-empty string")
        return value

    def optional_string(self, key: str) -> str | None:
        value = self._data.get(key)
        if value is not None and not isinstance(value, str):
            raise self._bad(key, "a string or null")
        return value

    def integer(self, key: str) -> int:
        value = self._data.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self._bad(key, "an integer >= 0")
        return value

    def optional_integer(self, key: str) -> int | None:
        return None if self._data.get(key) is None else self.integer(key)

    def number(self, key: str) -> float:
        value = self._data.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._bad(key, "a number")
        return float(value)

    def optional_number(self, key: str) -> float | None:
        return None if self._data.get(key) is None else self.number(key)

    def boolean(self, key: str) -> bool:
        value = self._data.get(key)
        if not isinstance(value, bool):
            raise self._bad(key, "true or false")
        return value


@dataclass(frozen=True)
class LoadResult:
    """What `Spool.load` found."""

    entries: tuple[QueueEntry, ...]
    incomplete: tuple[str, ...] = ()  # ids of message files without state (removed when repairing)
    corrupt: tuple[str, ...] = ()  # "<file>: <reason>" for each unreadable state file


def new_entry_id() -> str:
    """Unique without coordination: time, process and randomness (names are never reused)."""
    return f"{time.time_ns():X}{os.getpid():X}{secrets.token_hex(3)}"


class Spool:
    """The files of the outgoing queue under `<mail_root>/queue/` (all methods block on disk I/O)."""

    def __init__(self, mail_root: Path, *, create: bool = True) -> None:
        self.directory = Path(mail_root) / QUEUE_DIRECTORY
        if create:
            self.directory.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)

    @property
    def pid_file(self) -> Path:
        return self.directory / PID_FILE_NAME

    def message_path(self, entry_id: str) -> Path:
        return self.directory / f"{entry_id}{MESSAGE_SUFFIX}"

    def state_path(self, entry_id: str) -> Path:
        return self.directory / f"{entry_id}{STATE_SUFFIX}"

    def enqueue(
        self,
        *,
        reverse_path: str,
        recipients: Iterable[str],
        body: bytes | BodyWriter,
        eight_bit: bool,
        smtputf8: bool,
        prefix: bytes = b"",
        is_notification: bool = False,
        entry_id: str | None = None,
        now: float | None = None,
    ) -> QueueEntry:
        """Write a new entry durably (see the module docstring for the order); return it.

        `prefix` (trace fields) is written first, then `body`: bytes, or a function that
        writes the body to the file descriptor it is given. Nothing is left behind on failure.
        """
        addresses = tuple(dict.fromkeys(recipients))
        if not addresses:
            raise ValueError("an entry needs at least one recipient")
        entry_id = entry_id or new_entry_id()
        if not _ENTRY_ID.fullmatch(entry_id):
            raise ValueError(f"{entry_id!r} is not a queue id")
        message_path = self.message_path(entry_id)
        try:
            fd = create_exclusive(message_path)
        except FileExistsError:
            entry_id = f"{entry_id}-{secrets.token_hex(3)}"
            message_path = self.message_path(entry_id)
            fd = create_exclusive(message_path)
        try:
            try:
                write_all(fd, prefix)
                if isinstance(body, bytes | bytearray):
                    write_all(fd, body)
                else:
                    body(fd)
                os.fsync(fd)
                size = os.fstat(fd).st_size
            finally:
                os.close(fd)
            created = time.time() if now is None else now
            entry = QueueEntry(
                id=entry_id,
                reverse_path=reverse_path,
                recipients=tuple(RecipientState(address) for address in addresses),
                created=created,
                next_try=created,
                size=size,
                eight_bit=eight_bit,
                smtputf8=smtputf8,
                is_notification=is_notification,
            )
            self._write_state(entry)
        except BaseException:
            with contextlib.suppress(OSError):
                message_path.unlink(missing_ok=True)
            raise
        return entry

    def update(self, entry: QueueEntry) -> None:
        """Record a new state for an existing entry: an atomic, fsync'd replace."""
        self._write_state(entry)

    def remove(self, entry_id: str) -> None:
        """Forget an entry: state first (so a crash leaves a message file the restart removes)."""
        self.state_path(entry_id).unlink(missing_ok=True)
        self.message_path(entry_id).unlink(missing_ok=True)
        fsync_directory(self.directory)

    def read_header(self, entry_id: str, limit: int = HEADER_READ_MAX) -> bytes:
        """The header section of a queued message, up to and including the empty line (for a DSN)."""
        with self.message_path(entry_id).open("rb") as handle:
            start = handle.read(limit)
        end = start.find(b"\r\n\r\n")
        if end >= 0:
            return start[: end + 4]
        if start.startswith(b"\r\n"):
            return b"\r\n"
        return start

    def load(self, *, repair: bool = True) -> LoadResult:
        """Every entry on disk, oldest first.

        With `repair` (the server at start), leftovers are dealt with as the module docstring
        says; without it (`mailconform queue`, which may run beside the server) nothing is
        touched and an unfinished enqueue is simply not listed.
        """
        if not self.directory.is_dir():
            return LoadResult(())
        names = {path.name for path in self.directory.iterdir() if path.is_file()}
        entries: list[QueueEntry] = []
        corrupt: list[str] = []
        changed = False
        for name in sorted(names):
            if name.endswith(TEMPORARY_SUFFIX) and repair:
                (self.directory / name).unlink(missing_ok=True)  # a state update that never got renamed
                changed = True
            if not name.endswith(STATE_SUFFIX):
                continue
            entry_id = name[: -len(STATE_SUFFIX)]
            problem: str | None = None
            try:
                entry = QueueEntry.from_json(json.loads((self.directory / name).read_bytes()))
                if entry.id != entry_id:
                    raise CorruptState(f"id {entry.id!r} does not match the file name")
                if f"{entry_id}{MESSAGE_SUFFIX}" not in names:
                    raise CorruptState("its message file is missing")
            except (OSError, UnicodeDecodeError, json.JSONDecodeError, CorruptState) as exc:
                problem = str(exc)
            if problem is None:
                entries.append(entry)
                continue
            corrupt.append(f"{self.directory / name}: {problem}")
            if repair:
                self._move_aside(entry_id)
                changed = True
                log.error("queue: corrupt state file %s (%s): moved to %s/", name, problem, CORRUPT_DIRECTORY)
        incomplete = sorted(
            name[: -len(MESSAGE_SUFFIX)]
            for name in names
            if name.endswith(MESSAGE_SUFFIX) and f"{name[: -len(MESSAGE_SUFFIX)]}{STATE_SUFFIX}" not in names
        )
        if repair:
            for entry_id in incomplete:
                self.message_path(entry_id).unlink(missing_ok=True)
                log.info("queue: removed %s%s, an enqueue that never finished", entry_id, MESSAGE_SUFFIX)
                changed = True
            if changed:
                fsync_directory(self.directory)
        entries.sort(key=lambda e: (e.created, e.id))
        return LoadResult(tuple(entries), tuple(incomplete), tuple(corrupt))

    def _move_aside(self, entry_id: str) -> None:
        corrupt_dir = self.directory / CORRUPT_DIRECTORY
        corrupt_dir.mkdir(mode=DIRECTORY_MODE, exist_ok=True)
        for path in (self.state_path(entry_id), self.message_path(entry_id)):
            with contextlib.suppress(FileNotFoundError):
                os.replace(path, corrupt_dir / path.name)
        fsync_directory(corrupt_dir)

    def _write_state(self, entry: QueueEntry) -> None:
        """Temporary file, fsync, rename over the state file, fsync the directory."""
        path = self.state_path(entry.id)
        temporary = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(3)}{TEMPORARY_SUFFIX}")
        data = json.dumps(entry.to_json(), indent=1, sort_keys=True).encode("utf-8") + b"\n"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            try:
                write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        fsync_directory(self.directory)
