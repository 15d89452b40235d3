"""The snapshot fast path: a settled, unchanged folder is not listed again, and every change is seen.

Directory stamps are moved by hand (os.utime) to stand for "settled long ago" or for a file
system whose clock did not tick between two changes; what a snapshot must contain is derived
from what was delivered, flagged or removed, never from an earlier snapshot.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reference_server.storage.store import TIMESTAMP_SETTLE_NS, MaildirStore

BODY = b"From: alice@example.org\r\nSubject: hello\r\n\r\nHi there.\r\n"
USER = "bob"


def _deliver(store: MaildirStore, body: bytes = BODY) -> None:
    message = store.open_incoming()
    message.write(body)
    asyncio.run(store.deliver(message, [USER], b""))


def _maildir(root: Path) -> Path:
    return root / "users" / USER / "Maildir"


def _stamp(root: Path, modified_ns: int) -> None:
    """Give new/ and cur/ this modification time, as a change at that moment would have."""
    for subdirectory in ("new", "cur"):
        os.utime(_maildir(root) / subdirectory, ns=(modified_ns, modified_ns))


def _settle(root: Path) -> None:
    _stamp(root, time.time_ns() - 5 * TIMESTAMP_SETTLE_NS)


class _ScanCounter:
    def __init__(self) -> None:
        self.listings = 0


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> Iterator[_ScanCounter]:
    """Counts directory listings the store makes."""
    counter = _ScanCounter()
    real = os.scandir

    def counting(path: os.PathLike[str]) -> os._ScandirIterator[str]:
        counter.listings += 1
        return real(path)

    monkeypatch.setattr(os, "scandir", counting)
    yield counter


@pytest.fixture
def store(tmp_path: Path) -> MaildirStore:
    return MaildirStore(tmp_path)


def test_settled_unchanged_folder_is_not_listed_again(store: MaildirStore, tmp_path: Path, scans: _ScanCounter) -> None:
    _deliver(store)
    _deliver(store)
    _settle(tmp_path)
    first = store.snapshot(USER)
    listed = scans.listings
    assert listed > 0
    again = store.snapshot(USER)
    assert scans.listings == listed
    assert again == first and len(again.messages) == 2


def test_recently_changed_folder_is_always_listed(store: MaildirStore, scans: _ScanCounter) -> None:
    """Stamps younger than the settle time cannot prove that nothing changed since."""
    _deliver(store)
    store.snapshot(USER)
    listed = scans.listings
    store.snapshot(USER)
    assert scans.listings > listed


def test_delivery_between_two_snapshots_is_seen(store: MaildirStore, tmp_path: Path) -> None:
    _deliver(store)
    _settle(tmp_path)
    store.snapshot(USER)
    assert len(store.snapshot(USER).messages) == 1  # the cached one
    _deliver(store, BODY + b"second\r\n")
    after = store.snapshot(USER)
    assert len(after.messages) == 2
    assert after.messages[1].uid > after.messages[0].uid
    assert after.messages[1].size == len(BODY + b"second\r\n")


def test_change_within_the_same_timestamp_tick_is_seen(store: MaildirStore, tmp_path: Path) -> None:
    """A coarse clock can give a later change the very stamp the snapshot saw; it must still show."""
    _deliver(store)
    coarse_now = time.time_ns()
    _stamp(tmp_path, coarse_now)
    assert len(store.snapshot(USER).messages) == 1
    _deliver(store, BODY + b"same tick\r\n")
    _stamp(tmp_path, coarse_now)  # the clock did not tick: new/ looks exactly as before
    assert len(store.snapshot(USER).messages) == 2


def test_file_dropped_in_by_another_tool_is_seen(store: MaildirStore, tmp_path: Path) -> None:
    _deliver(store)
    _settle(tmp_path)
    store.snapshot(USER)
    store.snapshot(USER)
    (_maildir(tmp_path) / "new" / "1700000000.M1P1.othertool").write_bytes(b"Subject: x\n\nbody\n")
    messages = store.snapshot(USER).messages
    assert [m.key for m in messages][-1] == "1700000000.M1P1.othertool"
    assert messages[-1].size == len(b"Subject: x\r\n\r\nbody\r\n")  # RFC 1939 §11: CRLF counted


def test_system_flag_change_is_seen(store: MaildirStore, tmp_path: Path) -> None:
    _deliver(store)
    _settle(tmp_path)
    (info,) = store.snapshot(USER).messages
    store.snapshot(USER)
    store.set_flags(USER, "INBOX", info.uid, frozenset({"\\Seen"}))
    (info,) = store.snapshot(USER).messages
    assert info.flags == {"\\Seen"}


def test_keyword_change_that_renames_nothing_is_seen(store: MaildirStore, tmp_path: Path) -> None:
    """Keywords live in the index only: the generation, not a directory stamp, reveals them."""
    _deliver(store)
    (info,) = store.snapshot(USER).messages
    store.set_flags(USER, "INBOX", info.uid, frozenset({"\\Seen"}))  # into cur/ first
    _settle(tmp_path)
    store.snapshot(USER)
    store.snapshot(USER)
    store.set_flags(USER, "INBOX", info.uid, frozenset({"\\Seen", "$Forwarded"}))
    (info,) = store.snapshot(USER).messages
    assert info.flags == {"\\Seen", "$Forwarded"}


def test_keyword_change_by_another_store_is_seen(store: MaildirStore, tmp_path: Path) -> None:
    """Another process sharing the folder writes the index; this store's cache must not hide it."""
    _deliver(store)
    (info,) = store.snapshot(USER).messages
    store.set_flags(USER, "INBOX", info.uid, frozenset({"\\Seen"}))
    _settle(tmp_path)
    store.snapshot(USER)
    store.snapshot(USER)
    MaildirStore(tmp_path).set_flags(USER, "INBOX", info.uid, frozenset({"\\Seen", "Junk"}))
    (info,) = store.snapshot(USER).messages
    assert info.flags == {"\\Seen", "Junk"}


def test_expunge_is_seen(store: MaildirStore, tmp_path: Path) -> None:
    _deliver(store)
    _deliver(store, BODY + b"keep\r\n")
    _settle(tmp_path)
    first, kept = store.snapshot(USER).messages
    store.snapshot(USER)
    store.expunge(USER, "INBOX", [first.uid])
    assert [m.uid for m in store.snapshot(USER).messages] == [kept.uid]


def test_removal_by_another_tool_is_seen(store: MaildirStore, tmp_path: Path) -> None:
    _deliver(store)
    _deliver(store, BODY + b"keep\r\n")
    _settle(tmp_path)
    gone, kept = store.snapshot(USER).messages
    store.snapshot(USER)
    (path,) = [p for p in (_maildir(tmp_path) / "new").iterdir() if p.name.startswith(gone.key)]
    path.unlink()
    assert [m.uid for m in store.snapshot(USER).messages] == [kept.uid]
