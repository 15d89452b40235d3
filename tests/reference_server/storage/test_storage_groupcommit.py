"""Group commit: data flushed before it is published, names flushed before the caller hears, jobs isolated."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from reference_server.storage import groupcommit
from reference_server.storage.api import FLUSH_METHODS
from reference_server.storage.flush import Flush, FlushErrors, FsyncFlush, make_flush
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


class _RecordingFlush:
    """Logs what each flush covers ("flush files a.tmp b.tmp dirs x"), then lets the real one do it."""

    def __init__(self, inner: Flush, log: list[str], failing_files: frozenset[str] = frozenset()) -> None:
        self.inner = inner
        self.name = inner.name
        self.log = log
        self.failing_files = failing_files  # file names whose flush reports an error
        self.flushes = 0

    def __call__(self, files: Sequence[int], directories: Sequence[Path]) -> FlushErrors:
        names = [Path(os.readlink(f"/proc/self/fd/{fd}")).name for fd in files]
        self.log.append(f"flush files {' '.join(names)} dirs {' '.join(d.name for d in directories)}")
        self.flushes += 1
        errors = self.inner(files, directories)
        for position, name in enumerate(names):
            if name in self.failing_files:
                errors.files[position] = OSError(f"EIO writing {name}")
        return errors


@pytest.fixture(params=FLUSH_METHODS)
def flush_method(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _commit_all(committer: GroupCommitter, jobs: Sequence[_RecordingJob]) -> list[BaseException | None]:
    async def scenario() -> list[BaseException | None]:
        results = await asyncio.gather(*(committer.commit(job) for job in jobs), return_exceptions=True)
        return [result if isinstance(result, BaseException) else None for result in results]

    return asyncio.run(scenario())


def _flush_covering(log: Sequence[str], word: str, name: str, after: int = 0) -> int:
    """Position of the first flush at or after `after` whose files (or dirs) include `name`."""
    for position in range(after, len(log)):
        entry = log[position].split()
        if entry[:1] != ["flush"]:
            continue
        files, directories = entry[2 : entry.index("dirs")], entry[entry.index("dirs") + 1 :]
        if name in (files if word == "files" else directories):
            return position
    raise AssertionError(f"no flush with {word} {name} from entry {after} on: {log}")


def test_each_file_is_flushed_before_it_is_published_and_its_name_before_it_is_settled(
    tmp_path: Path, flush_method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RFC 5321 §6.1: data durable, then the name, and only then does the caller hear."""
    log: list[str] = []
    real_settle = groupcommit._settle

    def settle(batch: Sequence[groupcommit._Pending], outcomes: Sequence[BaseException | None]) -> None:
        if batch:
            log.append("settle " + " ".join(str(getattr(p.job, "name", "?")) for p in batch))
        real_settle(batch, outcomes)

    monkeypatch.setattr(groupcommit, "_settle", settle)
    jobs = [_RecordingJob(tmp_path, f"m{i}", log) for i in range(30)]
    committer = GroupCommitter(_RecordingFlush(make_flush(flush_method), log))
    assert _commit_all(committer, jobs) == [None] * 30
    for job in jobs:
        data = _flush_covering(log, "files", f"{job.name}.tmp")
        published = log.index(f"publish {job.name}")
        name = _flush_covering(log, "dirs", tmp_path.name, after=published)
        settled = next(p for p, entry in enumerate(log) if entry.startswith("settle ") and job.name in entry.split())
        assert data < published < name < settled, log
    assert all(job.closed == 1 for job in jobs)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(job.name for job in jobs)


def test_concurrent_jobs_share_flushes(tmp_path: Path, flush_method: str) -> None:
    log: list[str] = []
    flush = _RecordingFlush(make_flush(flush_method), log)
    committer = GroupCommitter(flush)
    assert _commit_all(committer, [_RecordingJob(tmp_path, f"m{i}", log) for i in range(40)]) == [None] * 40
    assert flush.flushes < 40  # two flushes a job without sharing: 80


def test_a_lone_job_takes_two_flushes_data_then_name(tmp_path: Path) -> None:
    log: list[str] = []
    flush = _RecordingFlush(FsyncFlush(), log)
    assert _commit_all(GroupCommitter(flush), [_RecordingJob(tmp_path, "m", log)]) == [None]
    assert log == ["flush files m.tmp dirs ", "publish m", f"flush files  dirs {tmp_path.name}"]


def test_one_flush_covers_the_names_of_the_last_pass_and_the_files_of_this_one(tmp_path: Path) -> None:
    log: list[str] = []
    flush = _RecordingFlush(FsyncFlush(), log)
    first, second = _RecordingJob(tmp_path, "a", log), _RecordingJob(tmp_path, "b", log)
    published, outcomes = groupcommit.commit_pass(flush, [first], [])
    assert outcomes == [] and [entry.outcome for entry in published] == [None]
    published, outcomes = groupcommit.commit_pass(flush, [second], published)
    assert outcomes == [None]  # a's name is durable now
    assert log == ["flush files a.tmp dirs ", "publish a", f"flush files b.tmp dirs {tmp_path.name}", "publish b"]
    assert first.closed == 1 and second.closed == 1


def test_a_failing_job_does_not_affect_the_others(tmp_path: Path, flush_method: str) -> None:
    log: list[str] = []
    jobs = [
        _RecordingJob(tmp_path, "ok1", log),
        _RecordingJob(tmp_path, "bad-stage", log, fail_at="stage"),
        _RecordingJob(tmp_path, "bad-publish", log, fail_at="publish"),
        _RecordingJob(tmp_path, "bad-flush", log),
        _RecordingJob(tmp_path, "ok2", log),
    ]
    flush = _RecordingFlush(make_flush(flush_method), log, failing_files=frozenset({"bad-flush.tmp"}))
    outcomes = _commit_all(GroupCommitter(flush), jobs)
    assert outcomes[0] is None and outcomes[4] is None
    assert isinstance(outcomes[1], OSError) and "cannot stage" in str(outcomes[1])
    assert isinstance(outcomes[2], OSError) and "cannot publish" in str(outcomes[2])
    assert isinstance(outcomes[3], OSError) and "EIO writing bad-flush.tmp" in str(outcomes[3])
    assert "publish bad-stage" not in log
    assert "publish bad-flush" not in log  # data in doubt: never published
    assert all(job.closed == 1 for job in jobs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad-flush.tmp", "bad-publish.tmp", "ok1", "ok2"]


def test_a_failed_name_flush_fails_the_jobs_in_that_directory(tmp_path: Path) -> None:
    class _NamesFail(FsyncFlush):
        def __call__(self, files: Sequence[int], directories: Sequence[Path]) -> FlushErrors:
            errors = super().__call__(files, directories)
            return FlushErrors(errors.files, [OSError("EIO") for _ in directories])

    (outcome,) = _commit_all(GroupCommitter(_NamesFail()), [_RecordingJob(tmp_path, "m", [])])
    assert isinstance(outcome, OSError) and str(outcome) == "EIO"


def test_a_broken_flush_fails_its_jobs_and_the_committer_goes_on(tmp_path: Path) -> None:
    calls = []

    class _BrokenOnce(FsyncFlush):
        def __call__(self, files: Sequence[int], directories: Sequence[Path]) -> FlushErrors:
            calls.append(len(files))
            if len(calls) == 1:
                raise ZeroDivisionError("a bug")
            return super().__call__(files, directories)

    committer = GroupCommitter(_BrokenOnce())
    jobs = [_RecordingJob(tmp_path, "first", []), _RecordingJob(tmp_path, "second", [])]
    (first,) = _commit_all(committer, jobs[:1])
    (second,) = _commit_all(committer, jobs[1:])
    assert isinstance(first, ZeroDivisionError)
    assert second is None and (tmp_path / "second").exists()
    assert [job.closed for job in jobs] == [1, 1]  # the broken pass still closed its job, once


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


def test_a_job_that_arrives_while_a_pass_stages_shares_that_pass_flush(tmp_path: Path) -> None:
    """It is staged after the pass's own batch, so one flush makes both files durable."""
    log: list[str] = []
    flush = _RecordingFlush(FsyncFlush(), log)
    committer = GroupCommitter(flush)
    latecomer = _RecordingJob(tmp_path, "late", log)

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        arrived: list[concurrent.futures.Future[None]] = []

        class _StagedWhileOneArrives(_RecordingJob):
            def stage(self) -> Sequence[int]:
                arrived.append(asyncio.run_coroutine_threadsafe(committer.commit(latecomer), loop))
                deadline = time.monotonic() + 5
                while not committer._queued:  # until the event loop has queued it
                    assert time.monotonic() < deadline, "the second commit never queued"
                    time.sleep(0.001)
                return super().stage()

        await committer.commit(_StagedWhileOneArrives(tmp_path, "first", log))
        await asyncio.wrap_future(arrived[0])

    asyncio.run(scenario())
    names_flush = f"flush files  dirs {tmp_path.name}"
    assert log == ["flush files first.tmp late.tmp dirs ", "publish first", "publish late", names_flush]
    assert latecomer.closed == 1


def test_a_pass_stages_late_arrivals_a_bounded_number_of_rounds(tmp_path: Path) -> None:
    log: list[str] = []
    flush = _RecordingFlush(FsyncFlush(), log)
    jobs = [_RecordingJob(tmp_path, "m0", log)]

    def always_one_more() -> list[_RecordingJob]:
        jobs.append(_RecordingJob(tmp_path, f"m{len(jobs)}", log))
        return jobs[-1:]

    published, _ = groupcommit.commit_pass(flush, jobs[:1], [], always_one_more)
    staged = [f"m{i}" for i in range(1 + groupcommit.LATE_ROUNDS)]
    assert log[0] == "flush files " + " ".join(f"{name}.tmp" for name in staged) + " dirs "
    assert [entry.job for entry in published] == jobs[: len(staged)]
    assert [job.closed for job in jobs[: len(staged)]] == [1] * len(staged)
    assert len(jobs) == len(staged)  # nothing taken from the queue that the pass would not stage
