"""User and folder names, and the Maildir++ directory name each folder is stored under.

Folder names use "/" between hierarchy levels (RFC 3501 §5.1.1). On disk every folder other
than INBOX is one directory directly under the user's Maildir, named "." followed by its
levels joined with "." — the Maildir++ convention, so Dovecot, Courier, mutt and Python's
`mailbox.Maildir` all see the same folders. A level may itself contain ".", so inside a level
"%" is written "%25" and "." is written "%2E"; decoding undoes exactly those two escapes and
keeps every other character as it is, which makes the mapping reversible.

INBOX is matched without regard to case, also as the first level of a hierarchy; every other
name is case-sensitive (RFC 3501 §5.1 leaves that to the server; RFC 9051 §9 `mailbox`).
"""

from __future__ import annotations

import functools
import re
from typing import Final

from reference_server.storage.api import InvalidName

INBOX: Final = "INBOX"
HIERARCHY_SEPARATOR: Final = "/"  # RFC 3501 §5.1.1: one separator character for all levels
FOLDER_DIRECTORY_PREFIX: Final = "."  # Maildir++: folders are ".name" directories in the Maildir
MAX_DIRECTORY_NAME_OCTETS: Final = 255  # NAME_MAX of Linux file systems: one folder is one directory
MAX_USER_NAME_OCTETS: Final = 255  # the user's directory name is bound by NAME_MAX as well

_LEVEL_SEPARATOR_ON_DISK: Final = "."
_ESCAPES: Final = (("%", "%25"), (".", "%2E"))  # order matters: "%" first when encoding
_UNESCAPE_RE: Final = re.compile(r"%(25|2[Ee])")
_CONTROL_RE: Final = re.compile(r"[\x00-\x1f\x7f]")


@functools.lru_cache(maxsize=1024)
def normalize_folder(name: str) -> str:
    """Check a folder name and return its canonical spelling (any case of INBOX becomes "INBOX").

    Cached: every delivery and every folder command asks, mostly about the same few names.

    Rejected: empty names and empty levels ("a//b", "a/"), "." and ".." as a level, NUL and
    other control characters (RFC 3501 §5.1 advises against CTL; §9 forbids NUL at any time),
    text that is not valid Unicode, and names whose directory would exceed NAME_MAX.
    """
    if not name:
        raise InvalidName("folder name is empty")
    _reject_control_characters(name, "folder name")
    _reject_unencodable(name, "folder name")
    levels = name.split(HIERARCHY_SEPARATOR)
    for level in levels:
        if not level:
            raise InvalidName(f"folder name {name!r} has an empty hierarchy level")
        if level in (".", ".."):
            raise InvalidName(f"folder name {name!r} has {level!r} as a hierarchy level")
    if levels[0].upper() == INBOX:
        levels[0] = INBOX
    canonical = HIERARCHY_SEPARATOR.join(levels)
    if canonical != INBOX:
        octets = len(folder_directory_name(canonical).encode("utf-8"))
        if octets > MAX_DIRECTORY_NAME_OCTETS:
            raise InvalidName(
                f"folder name {name!r} is too long ({octets} octets on disk, at most {MAX_DIRECTORY_NAME_OCTETS})"
            )
    return canonical


def validate_user(user: str) -> str:
    """Check that a user name can be one directory under the mail root, and return it unchanged."""
    if not user:
        raise InvalidName("user name is empty")
    _reject_control_characters(user, "user name")
    _reject_unencodable(user, "user name")
    if "/" in user:
        raise InvalidName(f"user name {user!r} contains '/'")
    if user in (".", ".."):
        raise InvalidName(f"user name {user!r} is not allowed")
    if len(user.encode("utf-8")) > MAX_USER_NAME_OCTETS:
        raise InvalidName(f"user name {user!r} is longer than {MAX_USER_NAME_OCTETS} octets")
    return user


def folder_directory_name(folder: str) -> str:
    """The Maildir++ directory name of a canonical, non-INBOX folder name ("a/b.c" -> ".a.b%2Ec")."""
    return FOLDER_DIRECTORY_PREFIX + _LEVEL_SEPARATOR_ON_DISK.join(
        _escape_level(level) for level in folder.split(HIERARCHY_SEPARATOR)
    )


def folder_from_directory_name(directory: str) -> str | None:
    """The folder stored in a Maildir entry, or None when the entry is not a folder directory.

    Entries that cannot be a folder — "." and "..", names without the leading ".", empty levels,
    a top-level ".INBOX" that would shadow the real INBOX and case variants such as ".inbox.x"
    that no canonical name maps to — are not folders.
    """
    if not directory.startswith(FOLDER_DIRECTORY_PREFIX) or directory in (".", ".."):
        return None
    levels = directory[len(FOLDER_DIRECTORY_PREFIX) :].split(_LEVEL_SEPARATOR_ON_DISK)
    if any(not level for level in levels):
        return None
    decoded = [_unescape_level(level) for level in levels]
    if any(level in (".", "..") for level in decoded):
        return None
    if decoded[0].upper() == INBOX and (len(decoded) == 1 or decoded[0] != INBOX):
        return None  # only ".INBOX.x" is written by this store; other spellings are unreachable
    return HIERARCHY_SEPARATOR.join(decoded)


def superiors(folder: str) -> list[str]:
    """The names above a folder in its hierarchy, outermost first ("a/b/c" -> ["a", "a/b"])."""
    levels = folder.split(HIERARCHY_SEPARATOR)
    return [HIERARCHY_SEPARATOR.join(levels[:depth]) for depth in range(1, len(levels))]


def is_inferior(folder: str, ancestor: str) -> bool:
    """Whether `folder` lies somewhere below `ancestor` in the hierarchy."""
    return folder.startswith(ancestor + HIERARCHY_SEPARATOR)


def _escape_level(level: str) -> str:
    for plain, escaped in _ESCAPES:
        level = level.replace(plain, escaped)
    return level


def _unescape_level(level: str) -> str:
    return _UNESCAPE_RE.sub(lambda match: "%" if match.group(1) == "25" else ".", level)


def _reject_control_characters(text: str, what: str) -> None:
    found = _CONTROL_RE.search(text)
    if found is not None:
        raise InvalidName(f"{what} {text!r} contains the control character {found.group()!r}")


def _reject_unencodable(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidName(f"{what} {text!r} is not valid Unicode text") from None
