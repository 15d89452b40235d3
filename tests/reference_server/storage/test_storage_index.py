"""The folder index: format, UID rules of RFC 3501 §2.3.1.1, locking and UIDVALIDITY allocation."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from reference_server.storage.api import StorageError
from reference_server.storage.index import (
    INDEX_FILE_NAME,
    MAX_UID,
    FolderIndex,
    IndexCorrupt,
    IndexFiles,
    allocate_uidvalidity,
    exclusive_lock,
    format_index,
    parse_index,
)

_WHEN = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def _sample() -> FolderIndex:
    plus_one = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=1)))
    return FolderIndex(1_700_000_000, 1).with_added(
        [
            ("1.M1P1Q1R1.host,S=10,W=12", 12, _WHEN, frozenset()),
            ("2.M2P2Q2R2.host,S=20,W=20", 20, plus_one, frozenset({"$Forwarded", "Junk"})),
            ("odd key with spaces and %", 5, _WHEN, frozenset()),
        ]
    )


def test_round_trip_keeps_everything() -> None:
    index = _sample()
    assert parse_index(format_index(index)) == index


def test_uids_ascend_and_uidnext_moves_past_each() -> None:
    index = _sample()
    assert list(index.entries) == [1, 2, 3]
    assert index.uidnext == 4


def test_expunged_uids_are_never_handed_out_again() -> None:
    # RFC 3501 §2.3.1.1: UIDNEXT "MUST change whenever new messages are added ... even if those
    # new messages are subsequently expunged".
    index = _sample().without([3])
    assert index.uidnext == 4
    assert index.with_added([("k", 1, _WHEN, frozenset())]).uidnext == 5
    assert 3 not in index.with_added([("k", 1, _WHEN, frozenset())]).entries


def test_keywords_change_without_touching_other_fields() -> None:
    index = _sample().with_keywords(1, frozenset({"Junk"}))
    assert index.entries[1].keywords == {"Junk"}
    assert index.entries[1].key == "1.M1P1Q1R1.host,S=10,W=12"


def test_uid_space_is_32_bits() -> None:
    full = FolderIndex(1, MAX_UID)
    full = full.with_added([("last", 1, _WHEN, frozenset())])
    with pytest.raises(StorageError, match="32-bit"):
        full.with_added([("one too many", 1, _WHEN, frozenset())])


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage\n",
        "mailconform-uidlist 2 uidvalidity=1 uidnext=1\n",
        "mailconform-uidlist 1 uidvalidity=0 uidnext=1 generation=1\n",
        "mailconform-uidlist 1 uidvalidity=1\n",
        "mailconform-uidlist 1 uidvalidity=1 uidnext=3 generation=1\n"
        "2 1 2023-01-01T00:00:00+00:00 a\n1 1 2023-01-01T00:00:00+00:00 b\n",
        "mailconform-uidlist 1 uidvalidity=1 uidnext=2 generation=1\n2 1 2023-01-01T00:00:00+00:00 a\n",
        "mailconform-uidlist 1 uidvalidity=1 uidnext=3 generation=1\n1 1 yesterday a\n",
        "mailconform-uidlist 1 uidvalidity=1 uidnext=3 generation=1\n1 1 2023-01-01T00:00:00 a\n",
        "mailconform-uidlist 1 uidvalidity=1 uidnext=3 generation=1\n1 x 2023-01-01T00:00:00+00:00 a\n",
    ],
)
def test_inconsistent_files_are_reported_as_corrupt(text: str) -> None:
    with pytest.raises(IndexCorrupt):
        parse_index(text)


def test_files_are_replaced_atomically_and_cached(tmp_path: Path) -> None:
    files = IndexFiles()
    assert files.read(tmp_path) is None
    written = files.write(tmp_path, _sample())
    assert written.generation == _sample().generation + 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [INDEX_FILE_NAME]  # no temporary left
    assert IndexFiles().read(tmp_path) == written
    first = files.read(tmp_path)
    assert files.read(tmp_path) is first  # unchanged file: no re-parse


def test_a_replaced_file_of_the_same_size_is_read_again(tmp_path: Path) -> None:
    # Same length, same second, possibly the same inode: only the generation tells them apart.
    files = IndexFiles()
    ours = files.write(tmp_path, _sample().with_keywords(1, frozenset({"AAAA"})))
    assert files.read(tmp_path) is ours
    other = IndexFiles()
    theirs = other.write(tmp_path, ours.with_keywords(1, frozenset({"BBBB"})))
    reread = files.read(tmp_path)
    assert reread == theirs
    assert reread is not None and reread.entries[1].keywords == {"BBBB"}


def test_lock_excludes_other_threads(tmp_path: Path) -> None:
    inside = threading.Event()
    release = threading.Event()
    entered_second = threading.Event()

    def holder() -> None:
        with exclusive_lock(tmp_path / "lock"):
            inside.set()
            release.wait(5)

    def contender() -> None:
        with exclusive_lock(tmp_path / "lock"):
            entered_second.set()

    first = threading.Thread(target=holder)
    first.start()
    assert inside.wait(5)
    second = threading.Thread(target=contender)
    second.start()
    assert not entered_second.wait(0.2)
    release.set()
    assert entered_second.wait(5)
    first.join(5)
    second.join(5)


def test_uidvalidity_is_creation_time_and_never_repeats(tmp_path: Path) -> None:
    now = 1_700_000_000.9
    first = allocate_uidvalidity(tmp_path, now=now)
    assert first == 1_700_000_000
    # Same second again (a folder deleted and re-created at once): must still differ
    # (RFC 3501 §2.3.1.1 item 3, §6.3.4).
    assert allocate_uidvalidity(tmp_path, now=now) == first + 1
    assert allocate_uidvalidity(tmp_path, now=now - 3600) == first + 2  # clock went back
    assert allocate_uidvalidity(tmp_path) >= int(time.time())
