"""One disk flush for a whole batch: files written and directory entries changed, made durable.

Group commit needs a primitive that makes many files and directories durable at once, because
on a small disk every flush costs a round trip to stable storage (tens to hundreds of
microseconds on a virtual disk, milliseconds on real ones) however little data it carries.

Two ways, same guarantee (both return only once everything asked for is on stable storage):

- **syncfs(2)**, on Linux: one call per file system involved. Linux's sync(2) page: "sync() or
  syncfs() provide the same guarantees as fsync() called on every file in the system or
  filesystem respectively", and since Linux 5.8 syncfs reports write-back errors of the file
  system. The disk sees one cache flush for the whole batch instead of one per file and per
  directory. Its cost: it also writes whatever else is dirty on that file system, which is
  nothing much on a mail root of its own, and real work on one shared with a busy database.
  Hence the second way is kept selectable (``[server] flush = "fsync"``).
- **fsync(2)** of every file (a few at once, so the disk can merge their flushes) and of every
  distinct directory: portable, and touches nothing else.

A flush never raises for a disk error: it returns one error slot per file and per directory, so
a batch can fail only the jobs whose data is in doubt.
"""

from __future__ import annotations

import ctypes
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

from reference_server.storage.api import DEFAULT_FLUSH_METHOD, FLUSH_METHODS
from reference_server.storage.durable import fsync_directory
from reference_server.storage.pools import shared_pool

logger = logging.getLogger(__name__)

FSYNC_THREADS: Final = 4  # file fsyncs in flight at once: the disk merges their flushes


@dataclass(frozen=True)
class FlushErrors:
    """What a flush could not make durable: one slot per file and per directory, None when durable."""

    files: list[OSError | None]
    directories: list[OSError | None]


class Flush(Protocol):
    """Makes `files` (open descriptors) and the entries of `directories` durable."""

    name: str

    def __call__(self, files: Sequence[int], directories: Sequence[Path]) -> FlushErrors: ...


SyncfsCall = Callable[[int], int]  # syncfs(2): 0, or -1 with errno set


def _libc_syncfs() -> SyncfsCall | None:
    """syncfs(2) from the C library, or None where there is none (not Linux, or an old libc)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syncfs: SyncfsCall = libc.syncfs  # ctypes releases the GIL for the call
    except (OSError, AttributeError):
        return None
    return syncfs


@dataclass
class SyncfsFlush:
    """One syncfs(2) per file system a batch touches."""

    syncfs: SyncfsCall
    name: str = "syncfs"

    def __call__(self, files: Sequence[int], directories: Sequence[Path]) -> FlushErrors:
        errors = FlushErrors([None] * len(files), [None] * len(directories))
        by_device: dict[int, _DeviceWork] = {}
        for position, device in enumerate(_devices(files, os.fstat)):
            if isinstance(device, OSError):
                errors.files[position] = device
            else:
                by_device.setdefault(device, _DeviceWork(handle=files[position])).files.append(position)
        for position, device in enumerate(_devices(directories, os.stat)):
            if isinstance(device, OSError):
                errors.directories[position] = device
            else:
                by_device.setdefault(device, _DeviceWork()).directories.append(position)
        for work in by_device.values():
            outcome = self._sync(work, directories)
            for position in work.files:
                errors.files[position] = outcome
            for position in work.directories:
                errors.directories[position] = outcome
        return errors

    def _sync(self, work: _DeviceWork, directories: Sequence[Path]) -> OSError | None:
        """syncfs through a file of the batch, or through a directory opened for the call."""
        opened: int | None = None
        try:
            handle = work.handle
            if handle is None:
                handle = opened = os.open(directories[work.directories[0]], os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            if self.syncfs(handle) != 0:
                number = ctypes.get_errno()
                return OSError(number, f"syncfs: {os.strerror(number)}")
        except OSError as error:
            return error
        finally:
            if opened is not None:
                os.close(opened)
        return None


def _devices(items: Sequence[int] | Sequence[Path], stat: Callable[[Any], os.stat_result]) -> list[int | OSError]:
    """The file system (st_dev) of each descriptor or path, or why it could not be looked at."""
    devices: list[int | OSError] = []
    for item in items:
        try:
            devices.append(stat(item).st_dev)
        except OSError as error:
            devices.append(error)
    return devices


@dataclass
class _DeviceWork:
    handle: int | None = None  # a descriptor on this file system, from the batch's own files
    files: list[int] = field(default_factory=list)  # positions in the batch's file list
    directories: list[int] = field(default_factory=list)


class FsyncFlush:
    """fsync(2) of every file, then of every directory."""

    name = "fsync"

    def __call__(self, files: Sequence[int], directories: Sequence[Path]) -> FlushErrors:
        return FlushErrors(_fsync_files(files), [_fsync_directory(directory) for directory in directories])


def _fsync_files(files: Sequence[int]) -> list[OSError | None]:
    """A few at once on one process-wide pool, however many stores there are."""
    if len(files) < 2:
        return [_fsync(fd) for fd in files]
    try:
        return list(shared_pool("fsync", FSYNC_THREADS).map(_fsync, files))
    except RuntimeError:  # the interpreter is shutting down: no new threads
        return [_fsync(fd) for fd in files]


def _fsync(fd: int) -> OSError | None:
    try:
        os.fsync(fd)
    except OSError as error:
        return error
    return None


def _fsync_directory(path: Path) -> OSError | None:
    try:
        fsync_directory(path)
    except OSError as error:
        return error
    return None


def make_flush(method: str = DEFAULT_FLUSH_METHOD) -> Flush:
    """The flush for a configured method; "syncfs" falls back to fsync where there is no syncfs."""
    if method not in FLUSH_METHODS:
        raise ValueError(f"unknown flush method {method!r}: one of {', '.join(FLUSH_METHODS)}")
    if method == "syncfs":
        syncfs = _libc_syncfs()
        if syncfs is not None:
            return SyncfsFlush(syncfs)
        logger.info("syncfs(2) is not available here: flushing with fsync(2) per file and directory")
    return FsyncFlush()
