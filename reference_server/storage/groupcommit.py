"""Group commit: concurrent deliveries share worker passes, directory fsyncs and disk flushes.

Making a message durable takes two ordered steps: its file must be on stable storage before its
name is (otherwise a crash could leave a truncated message visible), and only then may the name
be made durable by an fsync of the directory holding it.

Jobs go through two worker threads, each taking whatever has queued up as one *batch*:

1. the staging thread creates and writes the file of every job in its batch, then hands the
   batch on;
2. the syncing thread fsyncs every file of its batch (a few at once, so the disk merges their
   flushes), publishes every job whose file is durable (rename/link into new/), fsyncs each
   distinct directory once, closes the jobs and resolves their futures -- one wake-up per event
   loop per batch.

Jobs that arrive while a thread is busy form its next batch, so the busier the server, the
bigger the batches and the fewer directory fsyncs, thread hand-offs and loop wake-ups per
message. Nothing waits for a batch to fill: an idle thread starts at once with a batch of one.
The two stages overlap: while the syncing thread waits for the disk, the staging thread creates
the next files.

Why one thread per stage rather than one per job: files are created in the same tmp/ directory,
which the kernel serialises on the directory's lock anyway (concurrent creators only spin or sleep
on it), and every hand-off between threads costs context switches. Each fsync returns only once
its file's data and inode are on stable storage, which is what publishing needs.

Durability argument (RFC 5321 §6.1: a 250 is a promise to deliver). A job's future resolves
successfully only after (a) fsync(2) returned for its file, before the file was renamed or linked
under its final name, and (b) fsync(2) returned for every directory it was published into, after
the rename/link. fsync(2) of a directory makes its entries durable; so after a crash at any point
the message is either absent from new/ (and the client was never told 250) or present in full.
Jobs of one batch never lower each other's guarantee: each job's own file and directories are
fsync'd, the batch only shares the directory fsyncs among jobs in the same directory, and a
directory fsync issued after all the batch's renames covers all of them.

A job that fails at any step gets its own exception; the others are unaffected. A job that fails
after publishing (a directory fsync error) is visible but not known to be durable: the sender is
told to retry and may deliver it twice, which RFC 5321 §6.1 prefers to losing it. A caller that
stops waiting does not stop its job: once queued, a job runs to the end and is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from reference_server.storage.durable import fsync_directory

logger = logging.getLogger(__name__)

STAGE_THREADS: Final = 1  # creating files in one directory is serialised by the kernel anyway
FSYNC_THREADS: Final = 4  # file fsyncs of one batch in flight at once: the disk merges their flushes
SYNC_THREADS: Final = 1  # one batch being made durable at a time; the next one queues behind it


class CommitJob(Protocol):
    """One unit of durable work, split so that concurrent jobs can share the expensive fsyncs."""

    def stage(self) -> Sequence[int]:
        """Write the data; return file descriptors that must be fsync'd before publishing."""

    def publish(self) -> Iterable[Path]:
        """Make the data visible (rename/link); return directories whose entries must be fsync'd.

        Must undo its own partial work before raising.
        """

    def close(self) -> None:
        """Release descriptors and scratch files; called exactly once, whatever happened."""


@dataclass
class _Pending:
    job: CommitJob
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]
    staged: Sequence[int] | BaseException = ()  # descriptors to fsync, or the staging error


class GroupCommitter:
    """Commits jobs from any number of event loops and threads; one per store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._to_stage: list[_Pending] = []
        self._to_sync: list[_Pending] = []
        self._staging = False  # the staging thread is taking batches
        self._syncing = False  # the syncing thread is taking batches
        self.rounds = 0  # batches made durable so far (for tests and benchmarks)

    async def commit(self, job: CommitJob) -> None:
        """Return once the job is durable; raise its error otherwise. The job is always closed."""
        loop = asyncio.get_running_loop()
        pending = _Pending(job, loop, loop.create_future())
        with self._lock:
            self._to_stage.append(pending)
            start, self._staging = not self._staging, True
        if start:
            _submit("stage", STAGE_THREADS, self._stage_batches)
        await pending.future

    def _stage_batches(self) -> None:
        """In the staging thread: write batches and pass them on until nothing is queued."""
        while True:
            with self._lock:
                batch, self._to_stage = self._to_stage, []
                if not batch:
                    self._staging = False
                    return
            for pending in batch:
                pending.staged = stage_job(pending.job)
            with self._lock:
                self._to_sync.extend(batch)
                start, self._syncing = not self._syncing, True
            if start:
                _submit("sync", SYNC_THREADS, self._sync_batches)

    def _sync_batches(self) -> None:
        """In the syncing thread: make batches durable and settle them until nothing is queued."""
        while True:
            with self._lock:
                batch, self._to_sync = self._to_sync, []
                if not batch:
                    self._syncing = False
                    return
            try:
                outcomes = sync_and_publish([pending.job for pending in batch], [p.staged for p in batch])
            except BaseException as error:  # a bug, not a disk error: fail the batch, keep going
                logger.exception("commit batch failed")
                outcomes = [error] * len(batch)
            self.rounds += 1
            _settle(batch, outcomes)


def stage_job(job: CommitJob) -> Sequence[int] | BaseException:
    """Write one job's file; its descriptors to fsync, or the error (the job is closed later)."""
    try:
        return job.stage()
    except Exception as error:
        return error


def sync_and_publish(
    jobs: Sequence[CommitJob], staged: Sequence[Sequence[int] | BaseException]
) -> list[BaseException | None]:
    """Fsync every staged file, publish the durable jobs, fsync each directory once, close all.

    Returns one outcome per job: None when the job is durable under its final name.
    """
    outcomes: list[BaseException | None] = [result if isinstance(result, BaseException) else None for result in staged]
    try:
        for position, error in _fsync_files(staged):
            outcomes[position] = error
        owners: dict[Path, list[int]] = {}
        for position, job in enumerate(jobs):
            if outcomes[position] is not None:
                continue
            try:
                for directory in job.publish():
                    owners.setdefault(directory, []).append(position)
            except Exception as error:
                outcomes[position] = error
        for directory, positions in owners.items():
            sync_error = _fsync_directory(directory)
            for position in positions:
                outcomes[position] = outcomes[position] or sync_error
    finally:
        for job in jobs:
            try:
                job.close()
            except Exception:
                logger.exception("closing a commit job failed")
    return outcomes


def _fsync_files(staged: Sequence[Sequence[int] | BaseException]) -> list[tuple[int, BaseException]]:
    """Fsync the staged files, a few at a time; the (position, error) of each that failed."""
    work = [
        (position, fd)
        for position, result in enumerate(staged)
        if not isinstance(result, BaseException)
        for fd in result
    ]
    if len(work) > 1:
        try:
            errors = list(_pool("fsync", FSYNC_THREADS).map(_fsync_file, [fd for _, fd in work]))
        except RuntimeError:
            errors = [_fsync_file(fd) for _, fd in work]
    else:
        errors = [_fsync_file(fd) for _, fd in work]
    return [(position, error) for (position, _), error in zip(work, errors, strict=True) if error is not None]


def _fsync_file(fd: int) -> OSError | None:
    try:
        os.fsync(fd)
    except OSError as error:
        return error
    return None


def commit_batch(jobs: Sequence[CommitJob]) -> list[BaseException | None]:
    """Both stages for `jobs` in the calling thread (what the two threads do, in one go)."""
    return sync_and_publish(jobs, [stage_job(job) for job in jobs])


def _fsync_directory(directory: Path) -> OSError | None:
    try:
        fsync_directory(directory)
    except OSError as error:
        return error
    return None


def _settle(batch: Sequence[_Pending], outcomes: Sequence[BaseException | None]) -> None:
    """Resolve futures on their own loops: one wake-up per loop per round."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[None], BaseException | None]]] = {}
    for pending, outcome in zip(batch, outcomes, strict=True):
        by_loop.setdefault(pending.loop, []).append((pending.future, outcome))
    for loop, results in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody is waiting any more
            loop.call_soon_threadsafe(_set_results, results)


def _set_results(results: Sequence[tuple[asyncio.Future[None], BaseException | None]]) -> None:
    for future, outcome in results:
        if future.done():  # the caller stopped waiting
            continue
        if outcome is None:
            future.set_result(None)
        else:
            future.set_exception(outcome)


_pools_lock = threading.Lock()
_pools: dict[str, ThreadPoolExecutor] = {}


def _pool(name: str, threads: int) -> ThreadPoolExecutor:
    """A process-wide pool, made on first use."""
    with _pools_lock:
        pool = _pools.get(name)
        if pool is None:
            pool = _pools[name] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"mail-{name}")
        return pool


def _submit(name: str, threads: int, work: Callable[[], None]) -> None:
    """Run `work` on a process-wide pool; in this thread if no pool can start."""
    try:
        _pool(name, threads).submit(work)
    except RuntimeError:  # the interpreter is shutting down: no new threads, do it here
        work()
