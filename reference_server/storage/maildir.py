"""Maildir file names: unique keys, the ":2,FLAGS" info part, and IMAP system flags as letters.

A message file is named `<key>` in new/ and `<key>:2,<letters>` in cur/. The key follows the
Maildir specification's unique-name form `time.MusecPpidQcountRrandom.host`, followed by
",S=<file octets>,W=<wire octets>" (the Maildir++ size field and Dovecot's "virtual size",
the size with every line ending as CRLF) so a rescan never has to read a message to size it.
The key never changes once delivered; only the letters after ":2," do.

The five permanent IMAP system flags map to the Maildir letters (RFC 3501 §2.3.2):
\\Seen=S \\Answered=R \\Flagged=F \\Deleted=T \\Draft=D. Letters the store does not map (such as
"P", passed) are kept as found. Keywords live in the folder index, not in the file name.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import socket
import time
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from reference_server.storage.api import InvalidName

INFO_SEPARATOR: Final = ":"
INFO_VERSION_2: Final = "2,"  # Maildir spec: "2," then the flag letters in ASCII order
RECENT: Final = "\\Recent"  # RFC 3501 §2.3.2: session-only, "can not be altered by the client"
SYSTEM_FLAG_LETTERS: Final[Mapping[str, str]] = MappingProxyType(
    {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S", "\\Deleted": "T"}
)
FILE_SIZE_FIELD: Final = "S"  # Maildir++: octets of the file as stored
WIRE_SIZE_FIELD: Final = "W"  # octets with CRLF line ends (RFC 1939 §11, RFC 3501 §2.3.4)

_SYSTEM_FLAG_BY_FOLDED: Final = {flag.lower(): flag for flag in SYSTEM_FLAG_LETTERS}
_FLAG_BY_LETTER: Final = {letter: flag for flag, letter in SYSTEM_FLAG_LETTERS.items()}
# RFC 3501 §9: flag-keyword = atom; ATOM-CHAR is any CHAR except atom-specials
# ("(" / ")" / "{" / SP / CTL / "%" / "*" / DQUOTE / "\" / "]").
_ATOM_RE: Final = re.compile(r'[^\x00-\x20\x7f-\U0010ffff(){%*"\\\]]+')
_SIZE_FIELD_RE: Final = re.compile(r",([SW])=(\d+)")

_deliveries_by_this_process = itertools.count(1)  # the "Q" part: unique within one process


def _host_for_names() -> str:
    # Maildir spec: write "/" as "\057" and ":" as "\072" so the host cannot break the name.
    return socket.gethostname().replace("/", "\\057").replace(":", "\\072") or "localhost"


_HOST: Final = _host_for_names()


def unique_name(now: float | None = None) -> str:
    """A file name no other delivery on any host can produce (Maildir spec, "unique names")."""
    moment = time.time() if now is None else now
    seconds = int(moment)
    micros = int((moment - seconds) * 1_000_000)
    uniq = f"M{micros}P{os.getpid()}Q{next(_deliveries_by_this_process)}R{random.getrandbits(32):08x}"
    return f"{seconds}.{uniq}.{_HOST}"


def new_key(file_size: int, wire_size: int, now: float | None = None) -> str:
    """A unique name carrying the message's file and wire sizes (",S=" and ",W=")."""
    return f"{unique_name(now)},{FILE_SIZE_FIELD}={file_size},{WIRE_SIZE_FIELD}={wire_size}"


def split_filename(filename: str) -> tuple[str, str]:
    """(key, flag letters) of a file in new/ or cur/; letters are "" when there is no info part."""
    key, separator, info = filename.partition(INFO_SEPARATOR)
    if not separator or not info.startswith(INFO_VERSION_2):
        return key, ""
    return key, info[len(INFO_VERSION_2) :]


def filename_in_cur(key: str, letters: str) -> str:
    """The name a message has in cur/: the key, then ":2," and the letters (possibly none)."""
    return f"{key}{INFO_SEPARATOR}{INFO_VERSION_2}{letters}"


def sizes_from_key(key: str) -> tuple[int | None, int | None]:
    """(file octets, wire octets) recorded in a key by ",S=" and ",W=", None where absent."""
    fields = dict(_SIZE_FIELD_RE.findall(key))
    file_size = fields.get(FILE_SIZE_FIELD)
    wire_size = fields.get(WIRE_SIZE_FIELD)
    return (
        int(file_size) if file_size is not None else None,
        int(wire_size) if wire_size is not None else None,
    )


def split_flags(flags: Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
    """(system flags, keywords) of an IMAP flag set, system flags in their canonical spelling.

    System flag names match without regard to case, as every ABNF literal does (RFC 3501 §9,
    note 1). \\Recent and unknown backslash names cannot be stored; keywords must be atoms.
    """
    system: set[str] = set()
    keywords: set[str] = set()
    for flag in flags:
        if flag.startswith("\\"):
            canonical = _SYSTEM_FLAG_BY_FOLDED.get(flag.lower())
            if canonical is None:
                if flag.lower() == RECENT.lower():
                    raise InvalidName("\\Recent cannot be stored: it is session-only (RFC 3501 §2.3.2)")
                raise InvalidName(f"unknown system flag {flag!r} (RFC 3501 §2.3.2)")
            system.add(canonical)
        elif _ATOM_RE.fullmatch(flag):
            keywords.add(flag)
        else:
            raise InvalidName(f"keyword {flag!r} is not an IMAP atom (RFC 3501 §9 flag-keyword)")
    return frozenset(system), frozenset(keywords)


def letters_for(system_flags: Iterable[str], current_letters: str = "") -> str:
    """Info letters for these system flags, keeping letters the store does not map, ASCII order."""
    kept = {letter for letter in current_letters if letter not in _FLAG_BY_LETTER}
    mapped = {SYSTEM_FLAG_LETTERS[flag] for flag in system_flags}
    return "".join(sorted(kept | mapped))


def system_flags_from_letters(letters: str) -> frozenset[str]:
    """The IMAP system flags that info letters stand for; letters without a mapping are ignored."""
    return frozenset(_FLAG_BY_LETTER[letter] for letter in letters if letter in _FLAG_BY_LETTER)
