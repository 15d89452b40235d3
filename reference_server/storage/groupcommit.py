"""Group commit: concurrent deliveries share disk flushes, each flush serving two batches.

Making a message durable takes two ordered flushes: its file must be on stable storage before
its name is (otherwise a crash could leave a truncated message visible under its final name),
and its name must be on stable storage before the 250 (RFC 5321 §6.1: a 250 is a promise to
deliver).

One commit thread per store works in *passes*. A pass takes every job that queued up since the
last pass, then:

1. stages them: creates and writes each job's file, then stages the jobs that arrived meanwhile
   too (a few rounds at most), so a delivery that comes in while files are being written
   rides on this pass's flush instead of waiting a whole pass for the next one;
2. flushes once (flush.py): this makes durable both the files just written and the names the
   *previous* pass published;
3. settles the previous pass's jobs, whose names are now durable: one wake-up per event loop;
4. publishes this pass's jobs whose files are durable (rename/link into new/), closes them, and
   carries them into the next pass.

So on a busy server every flush does double duty, data for the new batch and names for the
last one, and the disk sees about one flush per batch rather than two (or, with a flush per
file, two per message). When nothing new comes in, the thread still makes one more pass with
nothing to stage, to make the carried names durable, and then stops; nothing waits for a batch
to fill. Why one thread: files are created in the same tmp/ directory, which the kernel
serialises anyway, and each extra hand-off between threads costs context switches; running
flushes side by side measured slower than sharing them.

Durability argument. A job's future resolves successfully only after (a) a flush that started
after its file was written returned without error for that file, before the file was renamed or
linked under its final name, and (b) a flush that started after the rename/link returned without
error for every directory the job was published into. After a crash at any point the message is
either absent from new/ (and the client was never told 250) or present in full. Jobs of one pass
never lower each other's guarantee: a flush covers everything written before it started.

A job that fails at any step gets its own exception; the others are unaffected. A job that fails
after publishing (a flush error for its directory) is visible but not known to be durable: the
sender is told to retry and may deliver it twice, which RFC 5321 §6.1 prefers to losing it. A
caller that stops waiting does not stop its job: once queued, a job runs to the end and is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from reference_server.storage.flush import Flush, make_flush
from reference_server.storage.pools import shared_pool

logger = logging.getLogger(__name__)

COMMIT_THREADS: Final = 4  # process-wide; each store uses one at a time, so stores do not queue behind each other
# Rounds of late arrivals one pass stages after its own batch. Each round holds what came in while
# the last one was written, so they shrink fast; the cap matters only under a flood, where it keeps
# the flush that the previous pass's names wait for from being put off again and again.
LATE_ROUNDS: Final = 3


class CommitJob(Protocol):
    """One unit of durable work, split so that concurrent jobs can share the flushes."""

    def stage(self) -> Sequence[int]:
        """Write the data; return file descriptors that must be durable before publishing."""

    def publish(self) -> Iterable[Path]:
        """Make the data visible (rename/link); return directories whose entries must be made durable.

        Must undo its own partial work before raising.
        """

    def close(self) -> None:
        """Release descriptors and scratch files; called exactly once, whatever happened."""


@dataclass
class InFlight:
    """A job between its pass and the flush after it; `outcome` is set once it has failed."""

    job: CommitJob
    outcome: BaseException | None = None
    directories: Sequence[Path] = ()


@dataclass
class _Pending:
    job: CommitJob
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]


class GroupCommitter:
    """Commits jobs from any number of event loops and threads; one per store."""

    def __init__(self, flush: Flush | None = None) -> None:
        self.flush = flush if flush is not None else make_flush()
        self._lock = threading.Lock()
        self._queued: list[_Pending] = []
        self._running = False  # the commit thread is taking passes

    async def commit(self, job: CommitJob) -> None:
        """Return once the job is durable; raise its error otherwise. The job is always closed."""
        loop = asyncio.get_running_loop()
        pending = _Pending(job, loop, loop.create_future())
        with self._lock:
            self._queued.append(pending)
            start, self._running = not self._running, True
        if start:
            _submit(self._run_passes)
        await pending.future

    def _run_passes(self) -> None:
        """In the commit thread: passes until nothing is queued and nothing is left unflushed."""
        carried: list[_Pending] = []
        published: list[InFlight] = []
        while True:
            with self._lock:
                batch, self._queued = self._queued, []
                if not batch and not carried:
                    self._running = False
                    return
            try:
                now_published, outcomes = commit_pass(
                    self.flush, [pending.job for pending in batch], published, functools.partial(self._take_late, batch)
                )
            except BaseException as error:  # a bug, not a disk error: fail both batches, keep going
                logger.exception("commit pass failed")  # commit_pass has closed the batch's jobs
                now_published, outcomes = [InFlight(p.job, error) for p in batch], [error] * len(carried)
            _settle(carried, outcomes)
            carried, published = batch, now_published

    def _take_late(self, batch: list[_Pending]) -> list[CommitJob]:
        """The jobs queued since `batch` was taken, added to it: the pass stages them with it."""
        with self._lock:
            late, self._queued = self._queued, []
        batch.extend(late)
        return [pending.job for pending in late]


def commit_pass(
    flush: Flush,
    arriving: Sequence[CommitJob],
    published: Sequence[InFlight],
    late_arrivals: Callable[[], Sequence[CommitJob]] = list,  # by default, none
) -> tuple[list[InFlight], list[BaseException | None]]:
    """Stage `arriving` and then up to LATE_ROUNDS rounds of `late_arrivals()`, flush once, then
    publish them all; close each of them once, whatever happens.

    Returns the staged jobs as now published (their names await the next flush) and one outcome
    per job of `published`, whose names this flush made durable: None when the job is durable.
    """
    fresh: list[InFlight] = []
    try:
        files: list[tuple[InFlight, int]] = []
        jobs, rounds_left = arriving, LATE_ROUNDS
        while jobs:
            entries = [InFlight(job) for job in jobs]
            fresh.extend(entries)
            for entry in entries:
                try:
                    files.extend((entry, fd) for fd in entry.job.stage())
                except Exception as error:
                    entry.outcome = error
            if not rounds_left:
                break  # never take jobs this pass would not stage: they stay queued for the next
            rounds_left -= 1
            jobs = late_arrivals()
        directories = list(dict.fromkeys(d for entry in published if entry.outcome is None for d in entry.directories))
        errors = flush([fd for _, fd in files], directories)
        for (entry, _), file_error in zip(files, errors.files, strict=True):
            entry.outcome = entry.outcome or file_error
        directory_errors = dict(zip(directories, errors.directories, strict=True))
        outcomes = [
            entry.outcome or next((directory_errors[d] for d in entry.directories if directory_errors[d]), None)
            for entry in published
        ]
        for entry in fresh:
            if entry.outcome is None:
                try:
                    entry.directories = list(entry.job.publish())
                except Exception as error:
                    entry.outcome = error
    finally:
        for entry in fresh:
            _close(entry.job)
    return fresh, outcomes


def _close(job: CommitJob) -> None:
    try:
        job.close()
    except Exception:
        logger.exception("closing a commit job failed")


def _settle(batch: Sequence[_Pending], outcomes: Sequence[BaseException | None]) -> None:
    """Resolve futures on their own loops: one wake-up per loop per pass."""
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


def _submit(work: Callable[[], None]) -> None:
    """Run `work` on the process-wide commit pool; in this thread if no pool can start."""
    try:
        shared_pool("commit", COMMIT_THREADS).submit(work)
    except RuntimeError:  # the interpreter is shutting down: no new threads, do it here
        work()
