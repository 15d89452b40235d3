"""Small building blocks for data that must survive a crash: fsync'd files and directory entries.

A file's own fsync does not make its name durable: the directory holding the name has to be
fsync'd as well (POSIX leaves it to the file system, and ext4 with delayed allocation shows
why it matters). Everything here works on raw file descriptors so each step is one system call
the caller can count.
"""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path
from typing import Final

COPY_CHUNK_OCTETS: Final = 1 << 20  # 1 MiB per copy_file_range/sendfile/read call
FILE_MODE: Final = 0o600  # mail is private to the mail system's user
DIRECTORY_MODE: Final = 0o700

_CREATE_FLAGS: Final = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
# copy_file_range refuses some pairs of files (other file system, old kernel): copy by hand then.
_NO_KERNEL_COPY: Final = frozenset({errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM})


def create_exclusive(path: Path | str) -> int:
    """Open a new file; fails if the name exists (Maildir names are never reused).

    Opened for reading too: spool files and delivered files are read back when copied.
    """
    return os.open(path, _CREATE_FLAGS, FILE_MODE)


def write_all(fd: int, *pieces: bytes | bytearray) -> None:
    """Write every octet of `pieces`, in one writev call when the kernel takes it all at once."""
    views = [memoryview(piece) for piece in pieces if piece]
    while views:
        written = os.writev(fd, views)
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if views and written:
            views[0] = views[0][written:]


def copy_file(source_fd: int, target_fd: int, octets: int) -> None:
    """Append `octets` from the start of `source_fd` to `target_fd`, inside the kernel if it can.

    copy_file_range (and sendfile as a fallback) move the data without bringing it into this
    process, so a 50 MB message costs no Python memory; a plain read/write loop in 1 MiB
    chunks is the last resort.
    """
    offset = 0
    try:
        while offset < octets:
            copied = os.copy_file_range(source_fd, target_fd, min(COPY_CHUNK_OCTETS, octets - offset), offset)
            if copied == 0:
                raise _truncated(offset, octets)
            offset += copied
        return
    except OSError as error:
        if offset or error.errno not in _NO_KERNEL_COPY:
            raise
    while offset < octets:
        chunk = os.pread(source_fd, min(COPY_CHUNK_OCTETS, octets - offset), offset)
        if not chunk:
            raise _truncated(offset, octets)
        write_all(target_fd, chunk)
        offset += len(chunk)


def _truncated(offset: int, octets: int) -> OSError:
    return OSError(errno.EIO, f"spool file ended after {offset} of {octets} octets")


def fsync_directory(path: Path | str) -> None:
    """Make the entries of a directory (files created, renamed or removed in it) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a crash leaves either the old or the new content.

    Write a temporary file beside it, fsync it, rename it over the old name, fsync the
    directory: readers never see a half-written file and the rename survives a power cut.
    """
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE)
    try:
        write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        temporary.unlink(missing_ok=True)
        raise
    os.close(fd)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)
