"""One delivery as a commit job: a single file, hard-linked into every recipient's new/.

Following the Maildir specification the file is created in the first recipient folder's tmp/
under a unique name, written (header prefix first, then the received body), made durable (by
the flush its batch shares: flush.py), and only then renamed into that folder's new/ and
hard-linked into each other recipient's new/. Hard links keep one copy on disk however many
local recipients a message has; a recipient whose folder sits on another file system (or whose
link count is exhausted) gets a copy of its own, fsync'd the same way. tmp/ is not fsync'd:
after a crash a leftover tmp/ file is garbage that Maildir readers ignore.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from reference_server.storage.durable import copy_file, create_exclusive, write_all
from reference_server.storage.incoming import SpooledBody
from reference_server.storage.maildir import new_key

_LINK_NEEDS_COPY: Final = frozenset({errno.EXDEV, errno.EMLINK, errno.EPERM})

PrepareFolder = Callable[[Path], None]
"""Called with a folder directory whose tmp/ or new/ is missing: create it, or raise FolderNotFound."""


class DeliveryJob:
    """Stores `prefix` + body once and publishes it into each of `folder_dirs` (a CommitJob)."""

    def __init__(
        self, body: SpooledBody, prefix: bytes, folder_dirs: Sequence[Path], prepare_folder: PrepareFolder
    ) -> None:
        if not folder_dirs:
            raise ValueError("a delivery needs at least one folder")
        self._body = body
        self._prefix = prefix
        self._folder_dirs = list(folder_dirs)
        self._prepare_folder = prepare_folder
        self.key = new_key(len(prefix) + body.octets, body.counter.wire_octets_after(prefix))
        # Plain strings: these two names are made for every message, and Path joins cost more.
        self._temporary = os.path.join(self._folder_dirs[0], "tmp", self.key)
        self._fd: int | None = None
        self._published = False

    def stage(self) -> Sequence[int]:
        """Create and fill the tmp/ file; its descriptor must be durable before publishing."""
        self._fd = self._create(self._folder_dirs[0], self._temporary)
        self._fill(self._fd)
        return (self._fd,)

    def publish(self) -> list[Path]:
        first = os.path.join(self._folder_dirs[0], "new", self.key)
        try:
            os.rename(self._temporary, first)
        except FileNotFoundError:  # new/ missing: a Maildir made meanwhile, or removed by hand
            self._prepare_folder(self._folder_dirs[0])
            os.rename(self._temporary, first)
        linked: list[Path] = []
        try:
            for folder_dir in self._folder_dirs[1:]:
                linked.append(self._link_into(folder_dir, first))
        except BaseException:
            for path in linked:
                path.unlink(missing_ok=True)
            os.rename(first, self._temporary)
            raise
        self._published = True
        return [folder_dir / "new" for folder_dir in self._folder_dirs]

    def close(self) -> None:
        try:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if not self._published:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._temporary)
        finally:
            self._body.release()

    def _create(self, folder_dir: Path, path: Path | str) -> int:
        try:
            return create_exclusive(path)
        except FileNotFoundError:
            self._prepare_folder(folder_dir)
            return create_exclusive(path)

    def _fill(self, fd: int) -> None:
        if self._body.fd is None:
            write_all(fd, self._prefix, self._body.data)
        else:
            write_all(fd, self._prefix)
            copy_file(self._body.fd, fd, self._body.octets)

    def _link_into(self, folder_dir: Path, source: str) -> Path:
        target = folder_dir / "new" / self.key
        try:
            try:
                os.link(source, target)
            except FileNotFoundError:
                self._prepare_folder(folder_dir)
                os.link(source, target)
        except OSError as error:
            if error.errno not in _LINK_NEEDS_COPY:
                raise
            self._copy_into(folder_dir, target)
        return target

    def _copy_into(self, folder_dir: Path, target: Path) -> None:
        """A separate durable copy for a folder a hard link cannot reach."""
        assert self._fd is not None
        temporary = folder_dir / "tmp" / self.key
        fd = self._create(folder_dir, temporary)
        try:
            copy_file(self._fd, fd, len(self._prefix) + self._body.octets)
            os.fsync(fd)
            os.rename(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)
