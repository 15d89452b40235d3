"""MaildirStore end to end: delivery read back by Python's own Maildir reader, UIDs, flags, folders."""

from __future__ import annotations

import asyncio
import errno
import mailbox
import os
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from reference_server.storage.api import (
    FolderExists,
    FolderNotFound,
    InvalidName,
    MessageNotFound,
    StorageError,
)
from reference_server.storage.store import MaildirStore

PREFIX = b"Return-Path: <alice@example.org>\r\nReceived: from client by mx; Tue, 14 Nov 2023 22:13:20 +0000\r\n"
BODY = b"From: alice@example.org\r\nSubject: hello\r\n\r\nHi there.\r\n.leading dot kept\r\n"


def _deliver(
    store: MaildirStore,
    users: Sequence[str],
    body: bytes = BODY,
    prefix: bytes = PREFIX,
    chunk: int = 7,
    folder: str = "INBOX",
) -> None:
    message = store.open_incoming()
    for start in range(0, len(body), chunk):
        message.write(body[start : start + chunk])
    asyncio.run(store.deliver(message, users, prefix, folder))


def _maildir(root: Path, user: str) -> mailbox.Maildir:
    return mailbox.Maildir(root / "users" / user / "Maildir", factory=None, create=False)


def _read(store: MaildirStore, user: str, uid: int, folder: str = "INBOX") -> bytes:
    with store.open_message(user, folder, uid) as stream:
        return stream.read()


@pytest.fixture
def store(tmp_path: Path) -> MaildirStore:
    return MaildirStore(tmp_path)


# -- delivery ----------------------------------------------------------------------------------


def test_delivery_to_several_users_reads_back_byte_exact_with_mailbox_maildir(
    store: MaildirStore, tmp_path: Path
) -> None:
    for user in ("alice", "bob", "carol"):
        store.ensure_user(user)
    _deliver(store, ["alice", "bob", "carol"])
    for user in ("alice", "bob", "carol"):
        box = _maildir(tmp_path, user)
        assert [box.get_bytes(key) for key in box.iterkeys()] == [PREFIX + BODY]
    assert list((tmp_path / "spool" / "tmp").iterdir()) == []
    for user in ("alice", "bob", "carol"):
        assert list((tmp_path / "users" / user / "Maildir" / "tmp").iterdir()) == []


def test_several_recipients_share_one_file_on_disk(store: MaildirStore, tmp_path: Path) -> None:
    _deliver(store, ["alice", "bob"])
    (alice,) = (tmp_path / "users/alice/Maildir/new").iterdir()
    (bob,) = (tmp_path / "users/bob/Maildir/new").iterdir()
    assert alice.stat().st_ino == bob.stat().st_ino
    assert alice.stat().st_nlink == 2


def test_a_recipient_a_hard_link_cannot_reach_gets_its_own_copy(
    store: MaildirStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_link = os.link

    def link(source: str | Path, target: str | Path) -> None:
        if "/bob/" in str(target):
            raise OSError(errno.EMLINK, "Too many links")
        real_link(source, target)

    monkeypatch.setattr(os, "link", link)
    _deliver(store, ["alice", "bob", "carol"])
    (alice,) = (tmp_path / "users/alice/Maildir/new").iterdir()
    (bob,) = (tmp_path / "users/bob/Maildir/new").iterdir()
    (carol,) = (tmp_path / "users/carol/Maildir/new").iterdir()
    assert bob.read_bytes() == alice.read_bytes() == PREFIX + BODY
    assert bob.stat().st_ino != alice.stat().st_ino
    assert carol.stat().st_ino == alice.stat().st_ino
    assert list((tmp_path / "users/bob/Maildir/tmp").iterdir()) == []


def test_a_failing_recipient_undoes_the_others(
    store: MaildirStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for user in ("alice", "bob", "carol"):
        store.ensure_user(user)
    real_link = os.link

    def link(source: str | Path, target: str | Path) -> None:
        if "/carol/" in str(target):
            raise OSError(errno.EIO, "I/O error")
        real_link(source, target)

    monkeypatch.setattr(os, "link", link)
    with pytest.raises(OSError, match="I/O error"):
        _deliver(store, ["alice", "bob", "carol"])
    for user in ("alice", "bob", "carol"):
        for subdirectory in ("tmp", "new", "cur"):
            assert list((tmp_path / "users" / user / "Maildir" / subdirectory).iterdir()) == []


def test_delivery_creates_a_missing_inbox(store: MaildirStore, tmp_path: Path) -> None:
    _deliver(store, ["newcomer"])
    assert len(_maildir(tmp_path, "newcomer")) == 1


def test_delivery_repairs_a_missing_new_directory(store: MaildirStore, tmp_path: Path) -> None:
    store.ensure_user("alice")
    (tmp_path / "users/alice/Maildir/new").rmdir()
    _deliver(store, ["alice"])
    assert len(_maildir(tmp_path, "alice")) == 1


def test_first_deliveries_to_a_new_user_race_safely(tmp_path: Path) -> None:
    for attempt in range(5):
        store = MaildirStore(tmp_path / str(attempt))

        async def deliver_all(store: MaildirStore = store) -> None:
            async def one(number: int) -> None:
                message = store.open_incoming()
                message.write(b"Subject: %d\r\n\r\n" % number)
                await store.deliver(message, ["fresh"], b"")

            await asyncio.gather(*(one(number) for number in range(20)))

        asyncio.run(deliver_all())
        assert len(store.snapshot("fresh").messages) == 20


def test_duplicate_recipients_get_one_copy(store: MaildirStore, tmp_path: Path) -> None:
    _deliver(store, ["alice", "alice"])
    assert len(_maildir(tmp_path, "alice")) == 1


def test_delivery_into_a_missing_folder_fails_for_everyone(store: MaildirStore, tmp_path: Path) -> None:
    store.create_folder("alice", "Lists")
    store.ensure_user("bob")
    with pytest.raises(FolderNotFound):
        _deliver(store, ["alice", "bob"], folder="Lists")
    assert store.snapshot("alice", "Lists").messages == ()
    assert list((tmp_path / "spool" / "tmp").iterdir()) == []


def test_delivery_into_a_folder(store: MaildirStore) -> None:
    store.create_folder("alice", "Lists")
    _deliver(store, ["alice"], folder="Lists")
    (info,) = store.snapshot("alice", "Lists").messages
    assert _read(store, "alice", info.uid, "Lists") == PREFIX + BODY
    assert store.snapshot("alice").messages == ()


def test_large_message_goes_through_the_spool(tmp_path: Path) -> None:
    store = MaildirStore(tmp_path, spool_memory_limit=64)
    body = b"".join(b"line %05d of a long message\r\n" % n for n in range(5000))
    _deliver(store, ["alice", "bob"], body=body, chunk=1000)
    for user in ("alice", "bob"):
        box = _maildir(tmp_path, user)
        assert [box.get_bytes(key) for key in box.iterkeys()] == [PREFIX + body]
    assert list((tmp_path / "spool" / "tmp").iterdir()) == []


def test_discarded_message_leaves_nothing(tmp_path: Path) -> None:
    store = MaildirStore(tmp_path, spool_memory_limit=8)
    message = store.open_incoming()
    message.write(b"more than eight octets\r\n")
    message.discard()
    assert list((tmp_path / "spool" / "tmp").iterdir()) == []


def test_stale_spool_files_are_swept_at_start(tmp_path: Path) -> None:
    spool = tmp_path / "spool" / "tmp"
    spool.mkdir(parents=True)
    (spool / "left-by-a-crash").write_bytes(b"partial")
    os.utime(spool / "left-by-a-crash", (1_000_000, 1_000_000))
    (spool / "in-use-by-another-process").write_bytes(b"partial")
    MaildirStore(tmp_path)
    assert [p.name for p in spool.iterdir()] == ["in-use-by-another-process"]


def test_a_hundred_concurrent_deliveries_are_all_there_exactly_once(store: MaildirStore, tmp_path: Path) -> None:
    async def deliver_all() -> None:
        async def one(number: int) -> None:
            message = store.open_incoming()
            message.write(b"Subject: %d\r\n\r\nmessage %d\r\n" % (number, number))
            await store.deliver(message, ["alice", "bob"] if number % 2 else ["alice"], PREFIX)

        await asyncio.gather(*(one(number) for number in range(100)))

    asyncio.run(deliver_all())
    box = _maildir(tmp_path, "alice")
    alice = [box.get_bytes(key) for key in box.iterkeys()]
    assert sorted(alice) == sorted(PREFIX + b"Subject: %d\r\n\r\nmessage %d\r\n" % (n, n) for n in range(100))
    assert len(_maildir(tmp_path, "bob")) == 50
    snapshot = store.snapshot("alice")
    assert len({info.uid for info in snapshot.messages}) == 100


# -- sizes and snapshots -----------------------------------------------------------------------


def test_sizes_count_crlf_line_ends(store: MaildirStore, tmp_path: Path) -> None:
    _deliver(store, ["alice"], body=b"Subject: crlf\r\n\r\nok\r\n")
    _deliver(store, ["alice"], body=b"Subject: bare\n\nlf\n", prefix=b"X-Prefix: 1\r\n")
    crlf, bare = store.snapshot("alice").messages
    assert crlf.size == len(PREFIX) + len(b"Subject: crlf\r\n\r\nok\r\n")
    # RFC 1939 §11: a single-character line end counts as two octets.
    assert bare.size == len(b"X-Prefix: 1\r\nSubject: bare\r\n\r\nlf\r\n")


def test_files_dropped_in_by_another_tool_get_uids_and_sizes(store: MaildirStore, tmp_path: Path) -> None:
    store.ensure_user("alice")
    new = tmp_path / "users/alice/Maildir/new"
    (new / "1000.foreign.host").write_bytes(b"Subject: a\n\nx\n")
    os.utime(new / "1000.foreign.host", (1000, 1000))
    (new / "2000.foreign.host").write_bytes(b"Subject: b\r\n\r\ny\r\n")
    os.utime(new / "2000.foreign.host", (2000, 2000))
    first, second = store.snapshot("alice").messages
    assert (first.key, first.size) == ("1000.foreign.host", len(b"Subject: a\r\n\r\nx\r\n"))
    assert first.internal_date == datetime.fromtimestamp(1000, UTC)
    assert second.key == "2000.foreign.host"
    assert first.uid < second.uid


def test_uids_ascend_in_arrival_order_and_survive_a_new_store(store: MaildirStore, tmp_path: Path) -> None:
    for number in range(3):
        _deliver(store, ["alice"], body=b"Subject: %d\r\n\r\n" % number)
    before = store.snapshot("alice")
    assert [info.uid for info in before.messages] == [1, 2, 3]
    assert before.uidnext == 4
    again = MaildirStore(tmp_path).snapshot("alice")
    assert again == before
    _deliver(store, ["alice"], body=b"Subject: later\r\n\r\n")
    later = MaildirStore(tmp_path).snapshot("alice")
    assert [info.uid for info in later.messages] == [1, 2, 3, 4]
    assert later.uidvalidity == before.uidvalidity
    assert _read(store, "alice", 4).endswith(b"Subject: later\r\n\r\n")


def test_vanished_files_are_dropped_and_their_uids_not_reused(store: MaildirStore, tmp_path: Path) -> None:
    _deliver(store, ["alice"], body=b"Subject: 1\r\n\r\n")
    _deliver(store, ["alice"], body=b"Subject: 2\r\n\r\n")
    first, _ = store.snapshot("alice").messages
    for path in (tmp_path / "users/alice/Maildir/new").iterdir():
        if path.name.startswith(first.key):
            path.unlink()
    _deliver(store, ["alice"], body=b"Subject: 3\r\n\r\n")
    assert [info.uid for info in store.snapshot("alice").messages] == [2, 3]


def test_open_message_of_unknown_uid(store: MaildirStore) -> None:
    store.ensure_user("alice")
    with pytest.raises(MessageNotFound):
        store.open_message("alice", "INBOX", 1)


def test_a_corrupt_index_is_rebuilt_under_a_new_uidvalidity(store: MaildirStore, tmp_path: Path) -> None:
    _deliver(store, ["alice"])
    before = store.snapshot("alice")
    (tmp_path / "users/alice/Maildir/mailconform-uidlist").write_text("garbage\n")
    after = MaildirStore(tmp_path).snapshot("alice")
    # RFC 3501 §2.3.1.1: UIDs that fail to persist need a greater UIDVALIDITY.
    assert after.uidvalidity > before.uidvalidity
    assert [info.key for info in after.messages] == [info.key for info in before.messages]


# -- flags -------------------------------------------------------------------------------------


def test_flags_round_trip_through_the_file_name(store: MaildirStore, tmp_path: Path) -> None:
    _deliver(store, ["alice"])
    (info,) = store.snapshot("alice").messages
    assert info.flags == frozenset()
    store.set_flags("alice", "INBOX", info.uid, frozenset({"\\Seen", "\\Answered", "$Forwarded"}))
    (name,) = [p.name for p in (tmp_path / "users/alice/Maildir/cur").iterdir()]
    assert name == f"{info.key}:2,RS"
    message = _maildir(tmp_path, "alice").get_message(info.key)
    assert isinstance(message, mailbox.MaildirMessage)
    assert message.get_flags() == "RS"
    (info,) = MaildirStore(tmp_path).snapshot("alice").messages
    assert info.flags == {"\\Seen", "\\Answered", "$Forwarded"}
    store.set_flags("alice", "INBOX", info.uid, frozenset({"\\Flagged", "\\Deleted", "\\Draft"}))
    (info,) = MaildirStore(tmp_path).snapshot("alice").messages
    assert info.flags == {"\\Flagged", "\\Deleted", "\\Draft"}
    assert _read(store, "alice", info.uid) == PREFIX + BODY


def test_flags_set_by_another_maildir_tool_are_seen(store: MaildirStore, tmp_path: Path) -> None:
    _deliver(store, ["alice"])
    (info,) = store.snapshot("alice").messages
    message = _maildir(tmp_path, "alice")
    stored = message.get_message(info.key)
    assert isinstance(stored, mailbox.MaildirMessage)
    stored.set_flags("FS")
    stored.set_subdir("cur")
    message[info.key] = stored
    (info,) = store.snapshot("alice").messages
    assert info.flags == {"\\Flagged", "\\Seen"}


def test_unknown_maildir_letters_survive_a_flag_change(store: MaildirStore, tmp_path: Path) -> None:
    _deliver(store, ["alice"])
    (info,) = store.snapshot("alice").messages
    new = tmp_path / "users/alice/Maildir/new"
    (path,) = new.iterdir()
    path.rename(tmp_path / "users/alice/Maildir/cur" / f"{info.key}:2,P")
    store.set_flags("alice", "INBOX", info.uid, frozenset({"\\Seen"}))
    assert [p.name for p in (tmp_path / "users/alice/Maildir/cur").iterdir()] == [f"{info.key}:2,PS"]


def test_invalid_flags_are_refused(store: MaildirStore) -> None:
    _deliver(store, ["alice"])
    (info,) = store.snapshot("alice").messages
    with pytest.raises(InvalidName):
        store.set_flags("alice", "INBOX", info.uid, frozenset({"\\Recent"}))
    with pytest.raises(MessageNotFound):
        store.set_flags("alice", "INBOX", info.uid + 1, frozenset())


# -- append and expunge ------------------------------------------------------------------------


def test_append_returns_the_next_uid_with_flags_and_date(store: MaildirStore, tmp_path: Path) -> None:
    _deliver(store, ["alice"])
    when = datetime(2020, 2, 29, 12, 0, 0, tzinfo=timezone(timedelta(hours=-5)))
    uid = store.append("alice", "INBOX", b"Subject: draft\r\n\r\n", frozenset({"\\Draft", "Work"}), when)
    snapshot = MaildirStore(tmp_path).snapshot("alice")
    assert uid == 2
    assert snapshot.uidnext == 3
    appended = snapshot.messages[-1]
    assert appended.flags == {"\\Draft", "Work"}
    assert appended.internal_date == when
    assert appended.internal_date.utcoffset() == timedelta(hours=-5)
    assert appended.size == len(b"Subject: draft\r\n\r\n")
    assert _read(store, "alice", uid) == b"Subject: draft\r\n\r\n"


def test_append_to_a_missing_folder(store: MaildirStore) -> None:
    with pytest.raises(FolderNotFound):
        store.append("alice", "Nowhere", b"x\r\n", frozenset(), None)


def test_expunge_removes_files_and_index_entries(store: MaildirStore, tmp_path: Path) -> None:
    for number in range(3):
        _deliver(store, ["alice", "bob"], body=b"Subject: %d\r\n\r\n" % number)
    uids = [info.uid for info in store.snapshot("alice").messages]
    store.expunge("alice", "INBOX", [uids[0], uids[2], 999])
    snapshot = MaildirStore(tmp_path).snapshot("alice")
    assert [info.uid for info in snapshot.messages] == [uids[1]]
    assert len(_maildir(tmp_path, "alice")) == 1
    assert len(_maildir(tmp_path, "bob")) == 3  # hard-linked copies of other users stay
    with pytest.raises(MessageNotFound):
        store.open_message("alice", "INBOX", uids[0])
    _deliver(store, ["alice"])
    assert store.snapshot("alice").messages[-1].uid == 4


# -- folders -----------------------------------------------------------------------------------


def test_folders_create_list_and_hierarchy(store: MaildirStore, tmp_path: Path) -> None:
    store.create_folder("alice", "Sent")
    store.create_folder("alice", "Work/Projects/2024.q1")
    assert store.folders("alice") == ["INBOX", "Sent", "Work", "Work/Projects", "Work/Projects/2024.q1"]
    assert sorted(_maildir(tmp_path, "alice").list_folders()) == [
        "Sent",
        "Work",
        "Work.Projects",
        "Work.Projects.2024%2Eq1",
    ]
    assert (tmp_path / "users/alice/Maildir/.Sent/maildirfolder").exists()
    with pytest.raises(FolderExists):
        store.create_folder("alice", "Sent")
    with pytest.raises(FolderExists):
        store.create_folder("alice", "inbox")
    with pytest.raises(InvalidName):
        store.create_folder("alice", "a/../b")


def test_folder_names_are_case_sensitive_except_inbox(store: MaildirStore) -> None:
    store.create_folder("alice", "Sent")
    store.create_folder("alice", "sent")
    assert store.folders("alice") == ["INBOX", "Sent", "sent"]
    assert store.snapshot("alice", "inbox").name == "INBOX"


def test_folders_are_independent_mailboxes(store: MaildirStore) -> None:
    store.create_folder("alice", "Archive")
    uid = store.append("alice", "Archive", b"Subject: old\r\n\r\n", frozenset({"\\Seen"}), None)
    archive = store.snapshot("alice", "Archive")
    inbox = store.snapshot("alice")
    assert [info.uid for info in archive.messages] == [uid]
    assert inbox.messages == ()
    assert archive.uidvalidity != inbox.uidvalidity


def test_delete_folder_keeps_inferiors_and_recreation_gets_a_new_uidvalidity(store: MaildirStore) -> None:
    store.create_folder("alice", "a/b")
    store.append("alice", "a", b"x\r\n", frozenset(), None)
    old = store.snapshot("alice", "a")
    store.delete_folder("alice", "a")
    # RFC 3501 §6.3.4: "The DELETE command MUST NOT remove inferior hierarchical names."
    assert store.folders("alice") == ["INBOX", "a/b"]
    with pytest.raises(FolderNotFound):
        store.snapshot("alice", "a")
    store.create_folder("alice", "a")
    new = store.snapshot("alice", "a")
    assert new.messages == ()
    assert new.uidvalidity != old.uidvalidity
    with pytest.raises(StorageError):
        store.delete_folder("alice", "INBOX")
    with pytest.raises(FolderNotFound):
        store.delete_folder("alice", "never")


def test_rename_moves_inferiors_and_keeps_uids(store: MaildirStore) -> None:
    store.create_folder("alice", "foo/bar")
    uid = store.append("alice", "foo/bar", b"Subject: kept\r\n\r\n", frozenset({"\\Seen"}), None)
    before = store.snapshot("alice", "foo/bar")
    store.rename_folder("alice", "foo", "zap/zip")
    # RFC 3501 §6.3.5: inferiors "MUST also be renamed"; superiors SHOULD be created.
    assert store.folders("alice") == ["INBOX", "zap", "zap/zip", "zap/zip/bar"]
    after = store.snapshot("alice", "zap/zip/bar")
    assert (after.uidvalidity, [m.uid for m in after.messages]) == (before.uidvalidity, [uid])
    assert _read(store, "alice", uid, "zap/zip/bar") == b"Subject: kept\r\n\r\n"
    store.create_folder("alice", "foo/bar")
    assert store.snapshot("alice", "foo/bar").uidvalidity != before.uidvalidity


def test_rename_errors(store: MaildirStore) -> None:
    store.create_folder("alice", "a")
    store.create_folder("alice", "b")
    with pytest.raises(FolderExists):
        store.rename_folder("alice", "a", "b")
    with pytest.raises(FolderExists):
        store.rename_folder("alice", "a", "INBOX")
    with pytest.raises(FolderNotFound):
        store.rename_folder("alice", "missing", "c")
    with pytest.raises(StorageError):
        store.rename_folder("alice", "a", "a/inner")
    assert store.folders("alice") == ["INBOX", "a", "b"]


def test_rename_inbox_moves_its_messages_and_leaves_it_empty(store: MaildirStore) -> None:
    _deliver(store, ["alice"], body=b"Subject: 1\r\n\r\n")
    _deliver(store, ["alice"], body=b"Subject: 2\r\n\r\n")
    old = store.snapshot("alice")
    store.set_flags("alice", "INBOX", old.messages[0].uid, frozenset({"\\Seen", "Work"}))
    store.create_folder("alice", "INBOX/child")
    store.rename_folder("alice", "INBOX", "Old")
    # RFC 3501 §6.3.5: renaming INBOX moves all its messages, leaving INBOX empty;
    # inferior names of INBOX are unaffected.
    assert store.folders("alice") == ["INBOX", "INBOX/child", "Old"]
    inbox = store.snapshot("alice")
    assert inbox.messages == ()
    assert inbox.uidnext == old.uidnext
    moved = store.snapshot("alice", "Old")
    assert [m.key for m in moved.messages] == [m.key for m in old.messages]
    assert moved.messages[0].flags == {"\\Seen", "Work"}
    assert _read(store, "alice", moved.messages[1].uid, "Old") == PREFIX + b"Subject: 2\r\n\r\n"
    _deliver(store, ["alice"])
    assert store.snapshot("alice").messages[0].uid == old.uidnext


def test_operations_on_a_missing_folder(store: MaildirStore) -> None:
    for operation in (
        lambda: store.snapshot("alice", "Nope"),
        lambda: store.open_message("alice", "Nope", 1),
        lambda: store.set_flags("alice", "Nope", 1, frozenset()),
        lambda: store.expunge("alice", "Nope", [1]),
    ):
        with pytest.raises(FolderNotFound):
            operation()


@pytest.mark.parametrize("user", ["", "..", "a/b"])
def test_invalid_user_names_are_refused(store: MaildirStore, user: str) -> None:
    with pytest.raises(InvalidName):
        store.ensure_user(user)


# -- sharing a mail root -----------------------------------------------------------------------


def test_two_stores_in_threads_assign_each_message_one_uid(tmp_path: Path) -> None:
    stores = [MaildirStore(tmp_path), MaildirStore(tmp_path)]
    stores[0].ensure_user("alice")
    errors: list[BaseException] = []
    seen: list[dict[str, int]] = []

    def work(store: MaildirStore, tag: int) -> None:
        try:

            async def deliveries() -> None:
                for number in range(25):
                    message = store.open_incoming()
                    message.write(b"Subject: %d-%d\r\n\r\n" % (tag, number))
                    await store.deliver(message, ["alice"], b"")
                    if number % 5 == 0:
                        seen.append({m.key: m.uid for m in store.snapshot("alice").messages})

            asyncio.run(deliveries())
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(store, tag)) for tag, store in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    final = {m.key: m.uid for m in MaildirStore(tmp_path).snapshot("alice").messages}
    assert len(final) == 50
    assert len(set(final.values())) == 50
    for view in seen:  # every session saw the same UID for the same message
        assert all(final[key] == uid for key, uid in view.items())
