"""Keeping downloaded mail on this machine: a Maildir, and attachment files in a folder.

Download-and-delete must never lose a message, so a message is on disk and fsync'd
(file, then directory entry) before the caller may DELE it. Download-and-keep must not
fetch the same message twice, so the unique-ids already fetched are remembered next to
the Maildir, per account, the way POP3 clients that leave mail on the server do (RFC 1939
§7, UIDL).
"""

from __future__ import annotations

import mailbox
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from reference_server.useragent.display import AttachmentPart, safe_filename
from reference_server.useragent.errors import UserAgentError

SEEN_FILE: Final = "mailconform-uidl"  # beside cur/ new/ tmp/; Maildir readers ignore plain files there
MAX_NAME_TRIES: Final = 1000


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class MaildirSink:
    """Durable delivery into a local Maildir through the stdlib's mailbox.Maildir."""

    def __init__(self, root: Path, account: str) -> None:
        self.root = root
        self.account = account
        try:
            self._box = mailbox.Maildir(root, factory=None, create=True)
        except OSError as exc:
            raise UserAgentError(f"--maildir {root}: cannot use it as a Maildir: {exc.strerror or exc}") from None
        self._seen_path = root / SEEN_FILE
        self._seen = self._read_seen()

    def _read_seen(self) -> set[str]:
        try:
            text = self._seen_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return set()
        except (OSError, UnicodeDecodeError) as exc:
            raise UserAgentError(f"{self._seen_path}: cannot read: {exc}") from None
        seen = set()
        for line in text.splitlines():
            account, _, uid = line.rpartition(" ")
            if account == self.account:
                seen.add(uid)
        return seen

    def already_fetched(self, uid: str | None) -> bool:
        return uid is not None and uid in self._seen

    def add(self, data: bytes, uid: str | None) -> str:
        """Store one message durably and remember its unique-id; return its Maildir key."""
        try:
            key = self._box.add(data)
            new = self.root / "new"
            _fsync_path(new / key)
            _fsync_path(new)
            if uid is not None:
                with self._seen_path.open("a", encoding="utf-8") as seen:
                    seen.write(f"{self.account} {uid}\n")
                    seen.flush()
                    os.fsync(seen.fileno())
                self._seen.add(uid)
        except OSError as exc:
            raise UserAgentError(f"--maildir {self.root}: cannot store a message: {exc.strerror or exc}") from None
        return str(key)


def save_attachments(found: Iterable[AttachmentPart], directory: Path) -> list[Path]:
    """Write each attachment under a safe, new name in `directory`; never overwrite a file."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserAgentError(f"--save {directory}: {exc.strerror or exc}") from None
    saved: list[Path] = []
    for index, attachment in enumerate(found, 1):
        name = safe_filename(attachment.filename, index)
        stem, dot, suffix = name.rpartition(".")
        if not stem:
            stem, dot, suffix = name, "", ""
        for attempt in range(MAX_NAME_TRIES):
            candidate = name if attempt == 0 else f"{stem}-{attempt}{dot}{suffix}"
            path = directory / candidate
            try:
                with path.open("xb") as file:  # O_EXCL: an existing file or symlink is never followed
                    file.write(attachment.data)
                break
            except FileExistsError:
                continue
            except OSError as exc:
                raise UserAgentError(f"--save {directory}: cannot write {candidate}: {exc.strerror or exc}") from None
        else:
            raise UserAgentError(f"--save {directory}: no free file name for {name}")
        saved.append(path)
    return saved
