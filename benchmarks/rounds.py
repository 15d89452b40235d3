"""The bookkeeping of side-by-side rounds and their results file, shared by run_smtp and run_pop3.

Both runners measure two servers in alternating rounds, case by case (a message size, a load
shape), and then do the same things with what they measured: keep each server's median round,
compare the two medians against a target, say on what machine and file system it ran, write the
JSON results file and print a table of the medians. That logic lives here once, so the two
results files cannot drift apart in how they pick a round or state a ratio. What differs (the
servers, the load, the table's columns and footer, the command-line options) stays in each runner.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Generic, Protocol, TypeVar

RESULTS_DIR: Final = Path(__file__).resolve().parent / "results"  # results files; work directories by default
DEFAULT_REPEAT: Final = 3  # measured rounds per server and case: the median of three is one real run
DEFAULT_WARMUP_SECONDS: Final = 3.0  # per server and case before the rounds; a fresh server is slow at first
# ext4 without a journal does not reuse an inode freed in the last minutes ("up to 5 minutes", in
# the ext4 maintainers' words), and while many such inodes sit free, creating a file means scanning
# past them: up to a millisecond of kernel time per file here, for both servers alike. A run that
# starts within this many seconds of the last one's cleanup waits for the rest first.
SETTLE_SECONDS: Final = 360.0
CLEANUP_MARKER: Final = ".last-cleanup"  # in work_dir: touched whenever a run has removed its scratch directory
PROBE_FILES: Final = 200  # files created (and left for the cleanup) to time file creation before a run

Case = TypeVar("Case")


def progress(text: str) -> None:
    """One indented line, flushed at once: a run takes minutes and should be seen to move."""
    print(f"  {text}", flush=True)


def filesystem_type(path: Path) -> str:
    """The type of the file system holding ``path`` (the longest matching mount point wins)."""
    target = str(path.resolve())
    best, kind = "", "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mounts").read_text().splitlines():
            fields = line.split()
            if len(fields) < 3:
                continue
            mount_point = fields[1].replace("\\040", " ")
            inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
            if inside and len(mount_point) >= len(best):
                best, kind = mount_point, fields[2]
    return kind


def file_creation_micros(directory: Path, count: int = PROBE_FILES) -> float:
    """Median microseconds to create an empty file in ``directory`` (the files stay there).

    Reported with every run: both servers create a file per message, so a file system that is
    slow at it right now (see SETTLE_SECONDS) slows both, and the numbers should say so.
    """
    timings = []
    for index in range(count):
        started = time.perf_counter()
        os.close(os.open(directory / f"probe-{index}", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        timings.append(time.perf_counter() - started)
    return round(statistics.median(timings) * 1e6, 1)


def size_label(octets: int) -> str:
    """A size as people write it (``100 KiB``) where it is a whole number of KiB or MiB."""
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if octets >= scale and octets % scale == 0:
            return f"{octets // scale} {unit}"
    return f"{octets} B"


def machine_info(work_dir: Path) -> dict[str, object]:
    """What the results depend on besides the servers: CPUs, kernel, Python and, for fsync, the
    file system under ``work_dir``."""
    return {
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "filesystem": filesystem_type(work_dir),
    }


class Round(Protocol):
    """One measured round as the bookkeeping sees it: whose it was, how fast it went, and how the
    results file lists it."""

    @property
    def server(self) -> str: ...

    @property
    def rate(self) -> float: ...

    def as_dict(self) -> dict[str, object]: ...


Measured = TypeVar("Measured", bound=Round)


def _rate(measured: Round) -> float:
    return measured.rate


def median_round(runs: Iterable[Measured]) -> Measured | None:
    """The run with the median rate (the upper one of an even count): a real run, not a blend."""
    ordered = sorted(runs, key=_rate)
    return ordered[len(ordered) // 2] if ordered else None


def ratio_entry(measured: Round | None, baseline: Round | None, target: float) -> dict[str, object] | None:
    """``measured``'s rate over ``baseline``'s against ``target``, as the results file states it.

    None when either side has no run or the baseline's rate is zero: no ratio then, rather than
    a division error or an infinite one.
    """
    if measured is None or baseline is None or baseline.rate == 0:
        return None
    ratio = measured.rate / baseline.rate
    return {"ratio": round(ratio, 2), "target": target, "met": ratio >= target}


@dataclass
class Rounds(ABC, Generic[Measured]):
    """Every round a runner measured, what it was run with and on, and what it noted on the way;
    a runner's report adds what only it measures."""

    settings: dict[str, object]
    machine: dict[str, object]
    measurements: list[Measured] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @abstractmethod
    def median(self, server: str, case: Any) -> Measured | None:
        """``server``'s median round of ``case``: what a case is (a message size, a load shape), and
        so which rounds belong to it, each runner's report says (with median_where)."""

    def median_where(self, belongs: Callable[[Measured], bool]) -> Measured | None:
        """The median round, by rate, of those that ``belongs`` accepts."""
        return median_round(filter(belongs, self.measurements))

    def medians(self, cases: Iterable[object], servers: Sequence[str]) -> list[Measured]:
        """The median rounds in table order: case by case, each server in the order given, where it ran."""
        return [m for case in cases for server in servers if (m := self.median(server, case)) is not None]

    def compare(
        self, cases: Iterable[Case], measured: str, baseline: str, target: Callable[[Case], float]
    ) -> dict[str, dict[str, object]]:
        """Per case (as text) where both servers ran: ``measured``'s median rate over ``baseline``'s,
        against that case's target."""
        ratios: dict[str, dict[str, object]] = {}
        for case in cases:
            entry = ratio_entry(self.median(measured, case), self.median(baseline, case), target(case))
            if entry is not None:
                ratios[str(case)] = entry
        return ratios

    def document(
        self,
        cases: Iterable[object],
        servers: Sequence[str],
        ratios: Mapping[str, object],
        extra: Mapping[str, object] | None = None,
    ) -> dict[str, object]:
        """The results file: the medians in table order, every round, the notes; see results_document."""
        return results_document(
            machine=self.machine,
            settings=self.settings,
            medians=[m.as_dict() for m in self.medians(cases, servers)],
            ratios=ratios,
            runs=[m.as_dict() for m in self.measurements],
            notes=self.notes,
            extra=extra,
        )

    def table_text(self, title: str, heading: str, rows: Iterable[str], footer: Iterable[str]) -> str:
        """The table as both runners print it: the title with the machine it ran on, the column
        heading, a row per median round, the runner's footer (ratios and such), one line per note."""
        machine = f"({self.machine['cpus']} CPUs, {self.machine['filesystem']})"
        notes = (f"note: {note}" for note in self.notes)
        return "\n".join([f"{title} {machine}", heading, *rows, *footer, *notes])


def results_document(
    *,
    machine: Mapping[str, object],
    settings: Mapping[str, object],
    medians: Iterable[Mapping[str, object]],
    ratios: Mapping[str, object],
    runs: Iterable[Mapping[str, object]],
    notes: Iterable[str],
    extra: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The results file's top level, stamped now, in the key order both runners have always
    written; ``extra`` (a runner's own sections) goes between the ratios and the runs."""
    return {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "settings": settings,
        "medians": list(medians),
        "ratios": ratios,
        **(extra or {}),
        "runs": list(runs),
        "notes": list(notes),
    }


def write_results(path: Path, data: Mapping[str, object]) -> None:
    """The results file as JSON (indent 2, trailing newline), its directory made if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


@dataclass(frozen=True, kw_only=True)
class Destination:
    """Where a runner works and what it writes (``--work-dir``, ``--output``): the part of both
    runners' plans that the bookkeeping uses."""

    work_dir: Path
    output: Path
    settle_seconds: float = 0.0

    @contextlib.contextmanager
    def scratch_dir(self, prefix: str) -> Iterator[Path]:
        """A fresh directory under ``work_dir`` for one run's servers and mail, removed at the end
        whatever happens (a large-message run leaves gigabytes behind otherwise), and the time of
        that removal noted in CLEANUP_MARKER for the next run's `settle`."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=self.work_dir))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)
            (self.work_dir / CLEANUP_MARKER).touch()

    def settle(self, sleep: Callable[[float], None] = time.sleep) -> float:
        """Wait until ``settle_seconds`` have passed since the last run removed its files (see
        SETTLE_SECONDS); the seconds waited."""
        try:
            age = time.time() - (self.work_dir / CLEANUP_MARKER).stat().st_mtime
        except FileNotFoundError:
            return 0.0
        wait = self.settle_seconds - max(age, 0.0)
        if wait <= 0:
            return 0.0
        progress(f"the last run removed its files {age:.0f} s ago: waiting {wait:.0f} s for the file system")
        sleep(wait)
        return wait

    def publish(self, data: Mapping[str, object], table: str) -> None:
        """The end of a run: the results file written, then the table and where the file is printed."""
        write_results(self.output, data)
        print(table)
        print(f"results: {self.output}")
