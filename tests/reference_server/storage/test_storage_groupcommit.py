"""Group commit: data fsync'd before it is published, directories fsync'd per round, jobs isolated."""

from __future__ import annotations

import asyncio
import os
import stat
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from reference_server.storage import groupcommit
from reference_server.storage.groupcommit import GroupCommitter


class _RecordingJob:
    """Writes one file in `directory` and records its steps in a shared, thread-safe log."""

    def __init__(self, directory: Path, name: str, log: list[str], fail_at: str | None = None) -> None:
        self.directory = directory
        self.name = name
        self.log = log
        self.fail_at = fail_at
        self.fd: int | None = None
        self.closed = 0

    def stage(self) -> Sequence[int]:
        if self.fail_at == "stage":
            raise OSError(f"{self.name} cannot stage")
        self.fd = os.open(self.directory / f"{self.name}.tmp", os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(self.fd, b"data")
        return (self.fd,)

    def publish(self) -> list[Path]:
        self.log.append(f"publish {self.name}")
        if self.fail_at == "publish":
            raise OSError(f"{self.name} cannot publish")
        os.rename(self.directory / f"{self.name}.tmp", self.directory / self.name)
        return [self.directory]

    def close(self) -> None:
        self.closed += 1
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


@pytest.fixture
def sync_log(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every fsync: "fsync NAME" for a file, "fsync dir NAME" for a directory."""
    log: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        name = Path(os.readlink(f"/proc/self/fd/{fd}")).name
        log.append(f"fsync dir {name}" if stat.S_ISDIR(os.fstat(fd).st_mode) else f"fsync {name}")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return log


def _commit_all(committer: GroupCommitter, jobs: Sequence[_RecordingJob]) -> list[BaseException | None]:
    async def scenario() -> list[BaseException | None]:
        results = await asyncio.gather(*(committer.commit(job) for job in jobs), return_exceptions=True)
        return [result if isinstance(result, BaseException) else None for result in results]

    return asyncio.run(scenario())


def test_each_file_is_synced_before_it_is_published(tmp_path: Path, sync_log: list[str]) -> None:
    jobs = [_RecordingJob(tmp_path, f"m{i}", sync_log) for i in range(20)]
    assert _commit_all(GroupCommitter(), jobs) == [None] * 20
    for job in jobs:
        assert sync_log.index(f"fsync {job.name}.tmp") < sync_log.index(f"publish {job.name}")
        later = sync_log[sync_log.index(f"publish {job.name}") :]
        assert f"fsync dir {tmp_path.name}" in later  # its directory entry was made durable after
    assert all(job.closed == 1 for job in jobs)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(job.name for job in jobs)


def test_concurrent_jobs_share_directory_fsyncs(tmp_path: Path, sync_log: list[str]) -> None:
    committer = GroupCommitter()
    _commit_all(committer, [_RecordingJob(tmp_path, f"m{i}", sync_log) for i in range(40)])
    directory_syncs = sync_log.count(f"fsync dir {tmp_path.name}")
    assert directory_syncs == committer.rounds
    assert committer.rounds < 40


def test_a_failing_job_does_not_affect_the_others(tmp_path: Path) -> None:
    log: list[str] = []
    jobs = [
        _RecordingJob(tmp_path, "ok1", log),
        _RecordingJob(tmp_path, "bad-stage", log, fail_at="stage"),
        _RecordingJob(tmp_path, "bad-publish", log, fail_at="publish"),
        _RecordingJob(tmp_path, "ok2", log),
    ]
    outcomes = _commit_all(GroupCommitter(), jobs)
    assert outcomes[0] is None and outcomes[3] is None
    assert isinstance(outcomes[1], OSError) and "cannot stage" in str(outcomes[1])
    assert isinstance(outcomes[2], OSError) and "cannot publish" in str(outcomes[2])
    assert "publish bad-stage" not in log
    assert all(job.closed == 1 for job in jobs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad-publish.tmp", "ok1", "ok2"]


def test_a_directory_sync_failure_fails_the_jobs_in_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(path: Path | str) -> None:
        raise OSError("EIO")

    monkeypatch.setattr(groupcommit, "fsync_directory", broken)
    (outcome,) = _commit_all(GroupCommitter(), [_RecordingJob(tmp_path, "m", [])])
    assert isinstance(outcome, OSError)


def test_a_caller_that_stops_waiting_leaves_a_closed_job_behind(tmp_path: Path) -> None:
    release = threading.Event()

    class _SlowJob(_RecordingJob):
        def stage(self) -> Sequence[int]:
            release.wait(5)
            return super().stage()

    slow = _SlowJob(tmp_path, "slow", [])
    other = _RecordingJob(tmp_path, "other", [])

    async def scenario() -> None:
        committer = GroupCommitter()
        waiting = asyncio.ensure_future(committer.commit(slow))
        await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        release.set()
        await committer.commit(other)
        for _ in range(500):  # the abandoned job finishes in its worker thread
            if slow.closed:
                break
            await asyncio.sleep(0.01)

    asyncio.run(scenario())
    assert slow.closed == 1
    assert other.closed == 1
    assert (tmp_path / "other").exists()


def test_a_batch_is_settled_only_after_all_its_files_and_directories_are_synced(
    tmp_path: Path, sync_log: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """RFC 5321 §6.1: no job of a batch is reported durable before every sync of that batch."""
    real_settle = groupcommit._settle

    def settle(batch: Sequence[groupcommit._Pending], outcomes: Sequence[BaseException | None]) -> None:
        sync_log.append("settle " + " ".join(sorted(str(getattr(p.job, "name", "?")) for p in batch)))
        real_settle(batch, outcomes)

    monkeypatch.setattr(groupcommit, "_settle", settle)
    jobs = [_RecordingJob(tmp_path, f"m{i}", sync_log) for i in range(30)]
    assert _commit_all(GroupCommitter(), jobs) == [None] * 30
    settles = [position for position, entry in enumerate(sync_log) if entry.startswith("settle ")]
    assert settles
    for position in settles:
        names = sync_log[position].split()[1:]
        before = sync_log[:position]
        for name in names:
            file_sync = before.index(f"fsync {name}.tmp")
            published = before.index(f"publish {name}")
            assert file_sync < published
            assert f"fsync dir {tmp_path.name}" in before[published:]


def test_commit_batch_runs_both_stages_in_the_calling_thread(tmp_path: Path, sync_log: list[str]) -> None:
    jobs = [_RecordingJob(tmp_path, f"m{i}", sync_log) for i in range(3)]
    jobs.append(_RecordingJob(tmp_path, "bad", sync_log, fail_at="stage"))
    outcomes = groupcommit.commit_batch(jobs)
    assert outcomes[:3] == [None, None, None]
    assert isinstance(outcomes[3], OSError)
    assert sync_log.count(f"fsync dir {tmp_path.name}") == 1  # one directory, one fsync for the batch
    assert all(job.closed == 1 for job in jobs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m0", "m1", "m2"]
