"""The outgoing queue's spool: durable enqueue, atomic updates, and what a restart finds."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import replace
from pathlib import Path

import pytest

from reference_server.queue.spool import (
    DELIVERED,
    FAILED,
    PENDING,
    CorruptState,
    QueueEntry,
    RecipientState,
    Spool,
)

PREFIX = b"Received: from a.example by crepes.fr; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
BODY = b"Subject: hello\r\nMessage-ID: <1@crepes.fr>\r\n\r\nBody line\r\n.leading dot\r\n"


def enqueue(spool: Spool, **overrides: object) -> QueueEntry:
    values: dict[str, object] = {
        "reverse_path": "alice@crepes.fr",
        "recipients": ["bob@hamburger.edu", "carol@hamburger.edu"],
        "body": BODY,
        "prefix": PREFIX,
        "eight_bit": False,
        "smtputf8": False,
        "now": 1_700_000_000.0,
    }
    values.update(overrides)
    return spool.enqueue(**values)  # type: ignore[arg-type]


def test_enqueue_writes_message_and_state_before_returning(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    entry = enqueue(spool)
    assert spool.message_path(entry.id).read_bytes() == PREFIX + BODY
    state = json.loads(spool.state_path(entry.id).read_bytes())
    assert QueueEntry.from_json(state) == entry
    assert entry.size == len(PREFIX) + len(BODY)
    assert [r.address for r in entry.recipients] == ["bob@hamburger.edu", "carol@hamburger.edu"]
    assert all(r.status == PENDING for r in entry.recipients)
    assert entry.next_try == entry.created == 1_700_000_000.0
    assert sorted(p.name for p in spool.directory.iterdir()) == sorted([f"{entry.id}.msg", f"{entry.id}.json"])


def test_enqueue_order_is_message_fsync_then_state_rename_then_directory_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RFC 5321 §6.1: the entry must survive a crash once enqueue returns (and the 250 goes out)."""
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace_(source: str | Path, target: str | Path) -> None:
        events.append(("rename", f"{Path(source).name} -> {Path(target).name}"))
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)  # spy only: the real call still happens
    monkeypatch.setattr(os, "replace", replace_)
    spool = Spool(tmp_path)
    entry = enqueue(spool)
    kinds = [(kind, Path(what).name if kind == "fsync" else what) for kind, what in events]
    assert kinds[0] == ("fsync", f"{entry.id}.msg")
    assert kinds[1][0] == "fsync" and kinds[1][1].startswith(f"{entry.id}.json.") and kinds[1][1].endswith(".tmp")
    assert kinds[2][0] == "rename" and kinds[2][1].endswith(f"-> {entry.id}.json")
    assert kinds[3] == ("fsync", "queue")  # the directory: both names are durable now
    assert len(kinds) == 4


def test_body_writer_runs_before_any_state_exists(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    seen: list[list[str]] = []

    def write(fd: int) -> None:
        seen.append(sorted(p.name for p in spool.directory.iterdir()))
        os.write(fd, BODY)

    entry = enqueue(spool, body=write)
    assert seen == [[f"{entry.id}.msg"]]  # the message first, no state yet
    assert spool.message_path(entry.id).read_bytes() == PREFIX + BODY


def test_failed_enqueue_leaves_nothing(tmp_path: Path) -> None:
    spool = Spool(tmp_path)

    def broken(fd: int) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        enqueue(spool, body=broken)
    assert list(spool.directory.iterdir()) == []


def test_update_is_atomic_and_failed_update_keeps_the_old_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = Spool(tmp_path)
    entry = enqueue(spool)
    delivered = entry.with_recipients([replace(entry.recipients[0], status=DELIVERED, code=250), entry.recipients[1]])
    spool.update(delivered)
    assert QueueEntry.from_json(json.loads(spool.state_path(entry.id).read_bytes())) == delivered

    def failing_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        spool.update(replace(delivered, attempts=7))
    monkeypatch.undo()
    assert QueueEntry.from_json(json.loads(spool.state_path(entry.id).read_bytes())) == delivered
    assert not [p for p in spool.directory.iterdir() if p.name.endswith(".tmp")]


def test_restart_loads_every_entry_oldest_first(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    newer = enqueue(spool, now=2_000.0, recipients=["x@y.example"])
    older = enqueue(spool, now=1_000.0, reverse_path="", eight_bit=True, smtputf8=True)
    failed = older.with_recipients([replace(r, status=FAILED, code=550, enhanced="5.1.1") for r in older.recipients])
    spool.update(failed)
    loaded = Spool(tmp_path).load()
    assert loaded.entries == (failed, newer)
    assert loaded.incomplete == () and loaded.corrupt == ()


def test_message_without_state_is_an_unfinished_enqueue_and_is_removed(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    kept = enqueue(spool)
    orphan = spool.directory / "ABC123.msg"
    orphan.write_bytes(BODY)
    leftover_tmp = spool.directory / f"{kept.id}.json.1.abc.tmp"
    leftover_tmp.write_bytes(b"{")
    looked = spool.load(repair=False)
    assert looked.incomplete == ("ABC123",)
    assert orphan.exists() and leftover_tmp.exists()  # listing never changes anything
    loaded = spool.load()
    assert loaded.entries == (kept,)
    assert loaded.incomplete == ("ABC123",)
    assert not orphan.exists() and not leftover_tmp.exists()


def test_corrupt_state_is_moved_aside_with_one_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool = Spool(tmp_path)
    good = enqueue(spool)
    (spool.directory / "BAD1.json").write_bytes(b"{not json")
    (spool.directory / "BAD1.msg").write_bytes(BODY)
    (spool.directory / "BAD2.json").write_text(json.dumps({**good.to_json(), "id": "BAD2"}))  # message missing
    with caplog.at_level(logging.ERROR, logger="reference_server.queue.spool"):
        loaded = spool.load()
    assert loaded.entries == (good,)
    assert len(loaded.corrupt) == 2
    assert sorted(p.name for p in (spool.directory / "corrupt").iterdir()) == ["BAD1.json", "BAD1.msg", "BAD2.json"]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert any("BAD1.json" in line for line in errors) and any("message file is missing" in line for line in errors)
    assert all("\n" not in line for line in errors)


def test_remove_deletes_both_files(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    entry = enqueue(spool)
    spool.remove(entry.id)
    assert list(spool.directory.iterdir()) == []


def test_read_header_stops_at_the_empty_line(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    entry = enqueue(spool)
    assert spool.read_header(entry.id) == PREFIX + b"Subject: hello\r\nMessage-ID: <1@crepes.fr>\r\n\r\n"


def test_entry_id_collision_gets_a_fresh_name(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    first = enqueue(spool, entry_id="SAME1")
    second = enqueue(spool, entry_id="SAME1")
    assert first.id == "SAME1" and second.id != "SAME1" and second.id.startswith("SAME1-")
    assert len(spool.load().entries) == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": 99}, "unsupported version"),
        ({"recipients": []}, "recipients: must be a non-empty list"),
        ({"size": -1}, "state.size: must be an integer >= 0"),
        ({"eight_bit": "yes"}, "state.eight_bit: must be true or false"),
        ({"id": "../etc"}, "is not a queue id"),
    ],
)
def test_state_validation_names_the_field(change: dict[str, object], message: str) -> None:
    entry = QueueEntry("ID1", "", (RecipientState("a@b.example"),), 1.0, 1.0, 10, False, False)
    data = {**entry.to_json(), **change}
    with pytest.raises(CorruptState, match=message.replace("[", r"\[").replace(".", r"\.")):
        QueueEntry.from_json(data)


def test_recipient_status_must_be_known() -> None:
    entry = QueueEntry("ID1", "", (RecipientState("a@b.example"),), 1.0, 1.0, 10, False, False)
    data = entry.to_json()
    data["recipients"] = [{**data["recipients"][0], "status": "lost"}]  # type: ignore[index]
    with pytest.raises(CorruptState, match=r"recipients\[1\]\.status"):
        QueueEntry.from_json(data)
