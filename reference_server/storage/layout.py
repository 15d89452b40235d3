"""Where things live under the mail root, and how a Maildir directory tree is made.

    <root>/users/<user>/Maildir/{tmp,new,cur}          INBOX
    <root>/users/<user>/Maildir/.Sent/{tmp,new,cur}    folder "Sent" (Maildir++)
    <root>/users/<user>/Maildir/.a.b/{tmp,new,cur}     folder "a/b"
    <root>/spool/tmp/                                  messages still being received

Every Maildir directory also holds the folder index (see index.py); folder directories carry
the Maildir++ `maildirfolder` marker file that tells delivery agents they are not a top Maildir.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from reference_server.storage.durable import DIRECTORY_MODE, FILE_MODE
from reference_server.storage.names import INBOX, folder_directory_name, validate_user

USERS_DIRECTORY: Final = "users"
MAILDIR_DIRECTORY: Final = "Maildir"
SPOOL_DIRECTORY: Final = "spool"
MESSAGE_SUBDIRECTORIES: Final = ("cur", "new", "tmp")  # Maildir spec; tmp/ last, see below
FOLDER_MARKER_FILE: Final = "maildirfolder"  # Maildir++


class MailLayout:
    """Paths of the mail root; validates user names on the way, never touches the disk itself."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.users_dir = root / USERS_DIRECTORY
        self.spool_dir = root / SPOOL_DIRECTORY / "tmp"
        self._maildirs: dict[str, Path] = {}  # every delivery asks: validate and join once per user

    def maildir(self, user: str) -> Path:
        maildir = self._maildirs.get(user)
        if maildir is None:
            maildir = self._maildirs[user] = self.users_dir / validate_user(user) / MAILDIR_DIRECTORY
        return maildir

    def folder_dir(self, maildir: Path, folder: str) -> Path:
        """The directory of a canonical folder name (see names.normalize_folder)."""
        return maildir if folder == INBOX else maildir / folder_directory_name(folder)

    def user_of_maildir(self, directory: Path) -> str | None:
        """The user whose INBOX `directory` is, or None when it is not a user's Maildir."""
        if directory.name == MAILDIR_DIRECTORY and directory.parent.parent == self.users_dir:
            return directory.parent.name
        return None


def make_message_directories(folder_dir: Path, *, folder_marker: bool) -> None:
    """Create cur/, new/ and tmp/ (and the folder marker) where missing; parents too.

    tmp/ comes last: a delivery that finds tmp/ can count on new/ being there.
    """
    for name in MESSAGE_SUBDIRECTORIES:
        (folder_dir / name).mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    if folder_marker:
        fd = os.open(folder_dir / FOLDER_MARKER_FILE, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        os.close(fd)
