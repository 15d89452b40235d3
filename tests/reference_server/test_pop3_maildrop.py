"""Listing a maildrop (RFC 1939 §4, §5, §7): numbering, unique-ids, deletion marks, the listing cache."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from reference_server.faults import Faults
from reference_server.pop3.maildrop import DropMessage, ListingCache, Maildrop, open_maildrop
from reference_server.storage.api import FolderSnapshot, MessageInfo
from reference_server.storage.store import MaildirStore

WHEN = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


class _FixedStore:
    """Hands out whichever snapshot the test put in, as a store whose folder did not change would."""

    def __init__(self, snapshot: FolderSnapshot) -> None:
        self.current = snapshot

    def snapshot(self, user: str, folder: str = "INBOX") -> FolderSnapshot:
        return self.current

    def open_message(self, user: str, folder: str, uid: int) -> BinaryIO:
        return io.BytesIO(b"A: b\n\nbody\n")


def _snapshot(uids: Sequence[int], uidvalidity: int = 77) -> FolderSnapshot:
    messages = tuple(MessageInfo(uid, f"key{uid}", 100 + uid, frozenset(), WHEN) for uid in uids)
    return FolderSnapshot("INBOX", uidvalidity, max(uids, default=0) + 1, messages)


def test_messages_are_numbered_from_one_in_uid_order_with_persistent_ids() -> None:
    store = _FixedStore(_snapshot([9, 4, 12]))
    drop = open_maildrop(store, "bob")  # type: ignore[arg-type]  # only snapshot() is needed
    assert [(m.number, m.uid, m.size, m.unique_id) for m in drop.all] == [
        (1, 4, 104, "77.4"),
        (2, 9, 109, "77.9"),
        (3, 12, 112, "77.12"),
    ]


def test_unchanged_snapshot_reuses_the_listing_and_a_new_one_is_listed_afresh() -> None:
    store = _FixedStore(_snapshot([1, 2]))
    listings = ListingCache()
    first = open_maildrop(store, "bob", listings=listings)  # type: ignore[arg-type]
    second = open_maildrop(store, "bob", listings=listings)  # type: ignore[arg-type]
    assert second.all is first.all
    store.current = _snapshot([1, 2, 3])  # a delivery: the store hands out a new snapshot
    third = open_maildrop(store, "bob", listings=listings)  # type: ignore[arg-type]
    assert [m.unique_id for m in third.all] == ["77.1", "77.2", "77.3"]


def test_deletion_marks_stay_with_the_session_not_the_shared_listing() -> None:
    store = _FixedStore(_snapshot([1, 2]))
    listings = ListingCache()
    first = open_maildrop(store, "bob", listings=listings)  # type: ignore[arg-type]
    first.mark_deleted(1)
    assert [m.number for m in first.live] == [2] and first.octets == 102
    second = open_maildrop(store, "bob", listings=listings)  # type: ignore[arg-type]
    assert [m.number for m in second.live] == [1, 2] and second.octets == 203
    first.unmark_all()
    assert [m.number for m in first.live] == [1, 2]


def test_listing_faults_are_never_served_from_the_cache() -> None:
    store = _FixedStore(_snapshot([5]))
    listings = ListingCache()
    open_maildrop(store, "bob", listings=listings)  # type: ignore[arg-type]
    faulty = open_maildrop(store, "bob", Faults.of(["pop3.uidl-per-session"]), "P1", listings)  # type: ignore[arg-type]
    assert faulty.all[0].unique_id == "P1.1"
    lf = open_maildrop(store, "bob", Faults.of(["pop3.octets-lf-counted"]), listings=listings)  # type: ignore[arg-type]
    assert lf.all[0].size == 105 - 3  # three LF line ends counted once instead of twice
    assert open_maildrop(store, "bob", listings=listings).all[0].unique_id == "77.5"  # type: ignore[arg-type]


def test_maildrop_from_a_real_store_sees_mail_delivered_between_logins(tmp_path: Path) -> None:
    store = MaildirStore(tmp_path)
    listings = ListingCache()

    def deliver(body: bytes) -> None:
        message = store.open_incoming()
        message.write(body)
        asyncio.run(store.deliver(message, ["bob"], b""))

    deliver(b"Subject: one\r\n\r\n1\r\n")
    assert len(open_maildrop(store, "bob", listings=listings).all) == 1
    deliver(b"Subject: two\r\n\r\n22\r\n")
    drop = open_maildrop(store, "bob", listings=listings)
    assert [m.size for m in drop.all] == [len(b"Subject: one\r\n\r\n1\r\n"), len(b"Subject: two\r\n\r\n22\r\n")]


def test_live_view_of_a_plain_maildrop() -> None:
    messages = [DropMessage(n, n, 10, f"1.{n}") for n in (1, 2, 3)]
    drop = Maildrop(messages)
    drop.mark_deleted(2)
    assert [m.number for m in drop.live] == [1, 3]
    assert drop.message(2) is None and drop.deleted_uids == (2,)
