"""Group commit: concurrent deliveries share their directory fsyncs and the journal commits behind them.

Making a message durable takes two ordered steps: its file must be on disk before its name is
(otherwise a crash could leave a truncated message visible), and only then may the name be made
durable by an fsync of the directory. Each step waits for the file system's journal.

1. Each job is written and its file fsync'd at once, in its own worker thread: nothing waits
   for a batch to fill, and concurrent fsyncs share journal commits in the kernel.
2. A written job joins the publish queue. If no publish round is running, its thread leads
   one; otherwise the running round picks it up next. A round takes every queued job,
   publishes each (rename/link into new/), fsyncs each distinct directory once, closes the
   jobs and resolves their futures, then repeats while jobs are queued. So the jobs written
   while one round runs share the next round's directory fsyncs: the busier the server, the
   bigger the rounds.

A job's future resolves only after both steps succeeded for it, which is what lets an SMTP server
answer 250 after `deliver()` returns (RFC 5321 §6.1). A job that fails at any step gets its own
exception; the others are unaffected. A job that fails after publishing (a directory fsync error)
is visible but not known to be durable: the sender is told to retry and may deliver it twice,
which RFC 5321 §6.1 prefers to losing it. A caller that stops waiting does not stop its job: once
submitted, a job runs to the end and is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from reference_server.storage.durable import fsync_directory

logger = logging.getLogger(__name__)

WORKER_THREADS: Final = 16  # jobs written and fsync'd at once; threads mostly wait for the disk
DIRECTORY_THREADS: Final = 8  # directory fsyncs of one publish round in flight at once


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
    error: BaseException | None = None  # from writing


class GroupCommitter:
    """Commits jobs from any number of event loops and threads; one per store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Pending] = []  # written, waiting for the next publish round
        self._publishing = False
        self.rounds = 0  # publish rounds so far (for tests and benchmarks)

    async def commit(self, job: CommitJob) -> None:
        """Return once the job is durable; raise its error otherwise. The job is always closed."""
        loop = asyncio.get_running_loop()
        pending = _Pending(job, loop, loop.create_future())
        try:
            _pool("writers", WORKER_THREADS).submit(self._write, pending)
        except BaseException:
            job.close()
            raise
        await pending.future

    def _write(self, pending: _Pending) -> None:
        """Step 1, in a worker thread: write and fsync, then queue for publishing (and maybe lead)."""
        try:
            for fd in pending.job.stage():
                os.fsync(fd)
        except Exception as error:
            pending.error = error
        with self._lock:
            self._queue.append(pending)
            if self._publishing:
                return
            self._publishing = True
        self._lead_rounds()

    def _lead_rounds(self) -> None:
        """Step 2: publish rounds until the queue is empty; only one thread leads at a time."""
        while True:
            with self._lock:
                batch, self._queue = self._queue, []
                if not batch:
                    self._publishing = False
                    return
            try:
                outcomes = _publish_round([pending.job for pending in batch], [pending.error for pending in batch])
            except BaseException as error:  # a bug, not a disk error: fail the round, keep the pipeline alive
                logger.exception("publish round failed")
                outcomes = [error] * len(batch)
            self.rounds += 1
            _settle(batch, outcomes)


def _publish_round(jobs: Sequence[CommitJob], errors: Sequence[BaseException | None]) -> list[BaseException | None]:
    """Publish the jobs written without error, fsync each directory once, close every job.

    Directories are fsync'd concurrently: even when the journal commit that carries all the
    renames is already done, each fsync asks the disk to flush its cache, and concurrent flushes
    are merged by the block layer while consecutive ones each take their turn.
    """
    outcomes = list(errors)
    try:
        owners: dict[Path, list[int]] = {}
        for position, job in enumerate(jobs):
            if outcomes[position] is not None:
                continue
            try:
                for directory in job.publish():
                    owners.setdefault(directory, []).append(position)
            except Exception as error:
                outcomes[position] = error
        for positions, sync_error in zip(owners.values(), _fsync_directories(list(owners)), strict=True):
            for position in positions:
                outcomes[position] = outcomes[position] or sync_error
    finally:
        for job in jobs:
            try:
                job.close()
            except Exception:
                logger.exception("closing a commit job failed")
    return outcomes


def _fsync_directories(directories: Sequence[Path]) -> list[OSError | None]:
    if len(directories) > 1:
        try:
            return list(_pool("directories", DIRECTORY_THREADS).map(_fsync_directory, directories))
        except RuntimeError:  # the interpreter is shutting down: no new threads, do it here
            pass
    return [_fsync_directory(directory) for directory in directories]


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
    """A process-wide pool, made on first use (separate pools: a round never waits behind writes)."""
    with _pools_lock:
        pool = _pools.get(name)
        if pool is None:
            pool = _pools[name] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"mail-{name}")
        return pool
